"""Two builds of wangge side by side on the same city: the tiles, coverage,
edits and partition figures of `scripts/bench versus`.

Both binaries get the same generated city (same seed, each written by its
own binary so each reads a store it made), the same tile paths, the same
requests over one kept-alive HTTP connection, on the same machine, one
server at a time. Runs alternate (A B, B A, A B, ...) so that drift of the
machine falls on both; each figure is the median of the runs with min and
max. Needs only the standard library.
"""

import argparse
import http.client
import json
import math
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import time
import urllib.parse


def tile_of(z, lon, lat):
    n = 2**z
    x = int((lon + 180.0) / 360.0 * n)
    r = math.radians(lat)
    y = int((1.0 - math.asinh(math.tan(r)) / math.pi) / 2.0 * n)
    return z, min(max(x, 0), n - 1), min(max(y, 0), n - 1)


class Refused(Exception):
    """A non-2xx answer (a deadline passed on a loaded machine, say)."""


class Client:
    """One kept-alive connection, as the viewer holds."""

    def __init__(self, base, token):
        u = urllib.parse.urlparse(base)
        self.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=600)
        self.headers = {"Authorization": f"Bearer {token}", "Accept-Encoding": "gzip"}

    def get(self, path):
        t0 = time.perf_counter()
        self.conn.request("GET", path, headers=self.headers)
        r = self.conn.getresponse()
        body = r.read()
        dt = (time.perf_counter() - t0) * 1000
        if r.status not in (200, 204):
            raise Refused(f"GET {path}: {r.status} {body[:200]!r}")
        return dt, body


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def prepare(bin_, tag, work, households):
    """The partitioned city of this build, made once; partition timed."""
    base = os.path.join(work, f"versus-{tag}-{households}.gpkg")
    if not os.path.exists(base):
        tmp = base + ".tmp"
        if os.path.exists(tmp):
            os.remove(tmp)
        run([bin_, "generate", "--households", str(households), "--out", tmp])
        run([bin_, "partition", "--store", tmp])
        os.replace(tmp, base)
    return base


def time_partition(bin_, tag, work, households):
    """Whole-process wall time of `wangge partition` on a fresh copy."""
    unpartitioned = os.path.join(work, f"versus-{tag}-{households}-raw.gpkg")
    if not os.path.exists(unpartitioned):
        run([bin_, "generate", "--households", str(households), "--out", unpartitioned + ".tmp"])
        os.replace(unpartitioned + ".tmp", unpartitioned)
    copy = os.path.join(work, f"versus-{tag}-part.gpkg")
    shutil.copy(unpartitioned, copy)
    t0 = time.perf_counter()
    run([bin_, "partition", "--store", copy])
    return (time.perf_counter() - t0) * 1000


def serve_round(bin_, tag, base, work, port, paths, edit_rounds):
    """One server start on a fresh copy: start-up, tiles, coverage, edits."""
    store = os.path.join(work, f"versus-{tag}-run.gpkg")
    shutil.copy(base, store)
    run([bin_, "user", "add", "versus", "--role", "admin", "--scope", "*", "--store", store])
    token = run([bin_, "token", "create", "versus", "--store", store]).stdout.strip().splitlines()[-1]
    log = open(os.path.join(work, f"versus-{tag}-serve.log"), "w")
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [bin_, "serve", "--store", store, "--listen", f"127.0.0.1:{port}"], stdout=log, stderr=log
    )
    out = {}
    try:
        health = None
        while time.perf_counter() - t0 < 600:
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                c.request("GET", "/health")
                if c.getresponse().status == 200:
                    health = (time.perf_counter() - t0) * 1000
                    break
            except OSError:
                pass
            time.sleep(0.05)
        out["start: /health"] = health
        client = Client(f"http://127.0.0.1:{port}", token)
        # First grid tile answered: the city's grids are ready to draw.
        first = paths["grids"][0]
        client.get(first)
        out["start: first grid tile"] = (time.perf_counter() - t0) * 1000
        if paths.get("pick") is None:
            # The picking round: tiles only, not counted.
            paths.update(pick_tiles(client))
            return None
        for source in ("grids", "basemap"):
            for z, zpaths in sorted(paths[source + "_by_zoom"].items()):
                cold = [client.get(p)[0] for p in zpaths]
                warm = [client.get(p)[0] for p in zpaths]
                out[f"tiles {source} z{z} cold p50"] = statistics.median(cold)
                out[f"tiles {source} z{z} warm p50"] = statistics.median(warm)
        _, body = client.get("/api/regions")
        regions = json.loads(body)
        regions = regions.get("regions", regions) if isinstance(regions, dict) else regions
        city = [r for r in regions if not r.get("parent")][0]["code"]
        streets = [r["code"] for r in regions if r.get("parent") == city]
        for name, code in (("city", city), ("street", streets[0] if streets else city)):
            times = []
            for _ in range(3):
                try:
                    times.append(client.get(f"/api/regions/{code}/coverage")[0])
                except Refused as e:
                    # Counted as missing (n/a), said, and the run goes on.
                    print(f"    {tag}: {e}", flush=True)
                    times.append(None)
                    client = Client(f"http://127.0.0.1:{port}", token)
            out[f"coverage {name} first"] = times[0]
            again = [x for x in times[1:] if x is not None]
            out[f"coverage {name} again"] = statistics.median(again) if again else None
        eb = run(
            [sys.executable, os.path.join(os.path.dirname(__file__), "edit_bench.py"),
             "--base", f"http://127.0.0.1:{port}", "--token", token, "--rounds", str(edit_rounds)]
        ).stdout
        for label, pat in (
            ("edits preview p50", r"preview of a 20-atom[^\n]*?p50 ([\d.]+) ms"),
            ("edits save p50", r"save \(version[^\n]*?p50 ([\d.]+) ms"),
            ("edits split preview p50", r"split along a line[^\n]*?p50 ([\d.]+) ms"),
        ):
            m = re.search(pat, eb)
            out[label] = float(m.group(1)) if m else None
    finally:
        proc.terminate()
        proc.wait()
        log.close()
        os.remove(store)
    return out


def pick_tiles(client, per_zoom=20):
    """Tiles over households from all over the city, the same for both builds."""
    pts = []
    for offset in range(0, 2_000_000, 5_000):
        _, body = client.get(f"/api/layers/households?limit=20&offset={offset}")
        page = [f["geometry"]["coordinates"] for f in json.loads(body)["features"]]
        if not page:
            break
        pts.extend(page)
    random.Random(1).shuffle(pts)
    by_zoom = {}
    for z in range(10, 17):
        seen = []
        for lon, lat in pts:
            t = tile_of(z, lon, lat)
            if t not in seen:
                seen.append(t)
            if len(seen) >= per_zoom:
                break
        by_zoom[z] = seen
    return {
        "pick": True,
        "grids_by_zoom": {z: [f"/tiles/grids/{z}/{x}/{y}.mvt" for (_, x, y) in ts] for z, ts in by_zoom.items()},
        "basemap_by_zoom": {z: [f"/tiles/basemap/{z}/{x}/{y}.mvt" for (_, x, y) in ts] for z, ts in by_zoom.items()},
    }


def fmt(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return "n/a"
    return f"{statistics.median(xs):8.1f} ({min(xs):.1f}-{max(xs):.1f})"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--a", required=True, help="the baseline binary")
    ap.add_argument("--b", required=True, help="the current binary")
    ap.add_argument("--labels", default="baseline,current")
    ap.add_argument("--work", required=True)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--households", type=int, default=349028)
    ap.add_argument("--edit-rounds", type=int, default=10)
    ap.add_argument("--port", type=int, default=18096)
    a = ap.parse_args()
    la, lb = a.labels.split(",")
    bins = {la: a.a, lb: a.b}
    bases = {}
    for tag, b in bins.items():
        print(f"  preparing the {a.households}-household city with {tag} ({b})", flush=True)
        bases[tag] = prepare(b, tag, a.work, a.households)
    # Tile paths need a running server: a round of the baseline that is not
    # counted picks them (households are the same in both cities).
    paths = {"grids": ["/tiles/grids/10/0/0.mvt"], "pick": None}
    serve_round(bins[la], la, bases[la], a.work, a.port, paths, a.edit_rounds)
    paths["grids"] = paths["grids_by_zoom"][14][:1]
    figures = {la: {}, lb: {}}
    for i in range(a.runs):
        order = (la, lb) if i % 2 == 0 else (lb, la)
        for tag in order:
            print(f"  run {i + 1}/{a.runs}: {tag}", flush=True)
            got = serve_round(bins[tag], tag, bases[tag], a.work, a.port, paths, a.edit_rounds)
            got["partition whole process (ms)"] = time_partition(bins[tag], tag, a.work, a.households)
            for k, v in got.items():
                figures[tag].setdefault(k, []).append(v)
    print(f"\n  {'figure (ms; median (min-max) of ' + str(a.runs) + ' runs)':52} {la:>24} {lb:>24}  ratio")
    for k in figures[la]:
        xa = [x for x in figures[la][k] if x is not None]
        xb = [x for x in figures[lb].get(k, []) if x is not None]
        ratio = f"{statistics.median(xb) / statistics.median(xa):5.2f}" if xa and xb and statistics.median(xa) > 0 else "  n/a"
        print(f"  {k:52} {fmt(figures[la][k]):>24} {fmt(figures[lb].get(k, [])):>24}  {ratio}")


if __name__ == "__main__":
    main()
