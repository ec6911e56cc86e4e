#!/usr/bin/env python3
"""Readers while the city changes (issue 20): 64 connections read tiles and
nearest volunteers, once alone and once while 8 clients write 200
households a second. Used by `scripts/bench live`.

    scripts/live_load_bench.py --wangge target/release/wangge --store city.gpkg [--runs 5] [--seconds 15] [--paced 6400]

The readers are wrk (one client thread, 64 kept-alive connections) cycling
through zoom 14-16 household and grid tiles over sampled households and
k=10 nearest queries around them: what a map and an emergency team ask.
They run twice: saturating (each connection asks again as soon as it is
answered, so the figure is the server's whole capacity shared with the
writers) and paced (each connection asks at a fixed interval, `--paced`
requests a second in all, so the figure is the latency a reader waits for
while writes go on). The writers are 8 Python threads, each PATCHing its
own households at 25 writes a second over one kept-alive connection
(If-Match from its previous answer), so a write never meets a 412 from
another writer. Runs alternate read-only and mixed, so drift of a busy
machine falls on both. Prints, for each kind of reader and run, the
readers' p50/p99 (median, min and max over the runs), non-2xx/3xx answers
and socket errors, and the writers' achieved rate and failures.
"""
import argparse
import http.client
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from math import cos, log, pi, radians, tan

WRITERS = 8
RATE = 25  # writes a second per writer: 200 in all


def tile_of(z, lon, lat):
    n = 2**z
    y = (1 - log(tan(radians(lat)) + 1 / cos(radians(lat))) / pi) / 2 * n
    return int((lon + 180) / 360 * n), int(y)


def call(method, url, token, body=None, if_match=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Authorization", f"Bearer {token}")
    req.add_header("Content-Type", "application/json")
    if if_match:
        req.add_header("If-Match", if_match)
    with urllib.request.urlopen(req, timeout=60) as r:
        return r.status, r.headers.get("ETag"), r.read()


def ms(text):
    """A wrk latency ("812.00us", "3.21ms", "1.02s") in ms."""
    m = re.match(r"([\d.]+)(us|ms|s)", text)
    v, unit = float(m.group(1)), m.group(2)
    return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v


def wrk(base, token, script, seconds):
    out = subprocess.run(
        ["wrk", "-t1", "-c64", f"-d{seconds}s", "--latency", "-s", script, base],
        check=True, capture_output=True, text=True,
    ).stdout
    lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    return {
        "p50": ms(lat["50"]),
        "p99": ms(lat["99"]),
        "bad": int(non2xx.group(1)) if non2xx else 0,
        "socket": sum(int(x) for x in sock.groups()) if sock else 0,
        "rps": float(rps.group(1)),
    }


class Writers:
    """8 threads, each PATCHing its own households at RATE a second over one
    kept-alive connection, as a clerk's browser would."""

    def __init__(self, base, token, mine):
        self.base, self.token, self.mine = base, token, mine
        self.host = urllib.parse.urlsplit(base).netloc
        self.stop = threading.Event()
        self.done = [0] * WRITERS
        self.failed = [0] * WRITERS
        self.threads = [threading.Thread(target=self.run, args=(i,)) for i in range(WRITERS)]

    def send(self, conn, method, hid, body=None, if_match=None):
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        if if_match:
            headers["If-Match"] = if_match
        conn.request(method, f"/api/households/{hid}", None if body is None else json.dumps(body), headers)
        r = conn.getresponse()
        r.read()
        return r.status, r.getheader("ETag")

    def run(self, i):
        ids = self.mine[i]
        conn = http.client.HTTPConnection(self.host, timeout=60)
        tags = {hid: self.send(conn, "GET", hid)[1] for hid in ids}
        k, t_next = 0, time.perf_counter()
        while not self.stop.is_set():
            hid = ids[k % len(ids)]
            try:
                status, tag = self.send(conn, "PATCH", hid, {"size": 2 + k % 3}, tags[hid])
                if status == 200:
                    tags[hid] = tag
                    self.done[i] += 1
                else:
                    self.failed[i] += 1
                    tags[hid] = self.send(conn, "GET", hid)[1]
            except (http.client.HTTPException, OSError):
                self.failed[i] += 1
                conn.close()
                conn = http.client.HTTPConnection(self.host, timeout=60)
                tags[hid] = self.send(conn, "GET", hid)[1]
            k += 1
            t_next += 1 / RATE
            time.sleep(max(0.0, t_next - time.perf_counter()))

    def __enter__(self):
        self.t0 = time.perf_counter()
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *_):
        self.stop.set()
        for t in self.threads:
            t.join()
        self.secs = time.perf_counter() - self.t0


def summary(label, runs, key):
    xs = [r[key] for r in runs]
    return f"{label} {statistics.median(xs):.1f} ms (min {min(xs):.1f}, max {max(xs):.1f})"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wangge", required=True)
    ap.add_argument("--store", required=True)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=15)
    ap.add_argument("--paced", type=int, default=6400,
                    help="readers' offered load in the paced runs, requests a second over the 64 connections")
    a = ap.parse_args()
    run = lambda *args: subprocess.run([a.wangge, *args], check=True, capture_output=True, text=True).stdout
    name = f"live-admin-{os.getpid()}"
    run("user", "add", name, "--role", "admin", "--scope", "*", "--store", a.store)
    token = run("token", "create", name, "--store", a.store).strip().splitlines()[-1].strip()
    p = subprocess.Popen([a.wangge, "serve", "--listen", "127.0.0.1:0", "--store", a.store],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        base = None
        for line in p.stdout:
            if line.startswith("wangge listening on "):
                base = line.split("wangge listening on ", 1)[1].strip()
                break
        while True:
            try:
                if call("GET", base + "/health/ready", token)[0] == 200:
                    break
            except Exception:
                time.sleep(0.2)
        _, _, body = call("GET", base + "/api/layers/households?limit=2000", token)
        feats = json.loads(body)["features"]
        rnd = random.Random(7)
        sample = rnd.sample(feats, min(len(feats), 400))
        paths = []
        for f in sample[:200]:
            lon, lat = f["geometry"]["coordinates"]
            z = rnd.choice([14, 15, 16])
            x, y = tile_of(z, lon, lat)
            paths.append(f"/tiles/{rnd.choice(['households', 'grids'])}/{z}/{x}/{y}.mvt")
            paths.append(f"/api/emergency/nearest?lon={lon:.6f}&lat={lat:.6f}&k=10&by=line")
        writers_ids = [[f["id"] for f in sample[200 + i * 25:200 + (i + 1) * 25]] for i in range(WRITERS)]
        with tempfile.TemporaryDirectory() as tmp:
            pf = os.path.join(tmp, "paths.txt")
            with open(pf, "w") as fh:
                fh.write("\n".join(paths) + "\n")
            scripts = {}
            # Saturating: every connection asks again as soon as it is answered.
            # Paced: every connection asks every 64000/paced ms, a fixed offered load.
            for kind, delay in [("saturating", None), ("paced", 64000 / a.paced)]:
                scripts[kind] = os.path.join(tmp, f"{kind}.lua")
                with open(scripts[kind], "w") as fh:
                    fh.write(
                        f'local paths = {{}}\nfor line in io.lines("{pf}") do paths[#paths + 1] = line end\n'
                        "local i = 0\nrequest = function()\n  i = i % #paths + 1\n"
                        f'  return wrk.format("GET", paths[i], {{ ["Authorization"] = "Bearer {token}", '
                        '["Accept-Encoding"] = "gzip" })\nend\n'
                        + ("" if delay is None else f"delay = function() return {delay:.3f} end\n")
                    )
            wrk(base, token, scripts["saturating"], 3)  # warm the tile cache
            res = {k: {"alone": [], "mixed": [], "wrote": []} for k in scripts}
            for r in range(a.runs):
                for kind, script in scripts.items():
                    got = res[kind]
                    got["alone"].append(wrk(base, token, script, a.seconds))
                    with Writers(base, token, writers_ids) as w:
                        got["mixed"].append(wrk(base, token, script, a.seconds))
                    got["wrote"].append((sum(w.done) / w.secs, sum(w.failed)))
                    print(f"run {r + 1}, {kind} readers: read-only p99 {got['alone'][-1]['p99']:.1f} ms, "
                          f"with writes p99 {got['mixed'][-1]['p99']:.1f} ms, "
                          f"{got['wrote'][-1][0]:.0f} writes/s, {got['wrote'][-1][1]} failed", flush=True)
        for kind, got in res.items():
            offered = "as fast as answered" if kind == "saturating" else f"{a.paced} req/s offered"
            print(f"-- {kind} readers (64 connections, {offered}):")
            for label, runs in [("read-only", got["alone"]), (f"with {WRITERS}x{RATE} writes/s", got["mixed"])]:
                print(f"readers {label}: {summary('p50', runs, 'p50')}, {summary('p99', runs, 'p99')}, "
                      f"{statistics.median(r['rps'] for r in runs):.0f} req/s, "
                      f"errors {sum(r['bad'] + r['socket'] for r in runs)}")
            rates = [w[0] for w in got["wrote"]]
            print(f"writers: {statistics.median(rates):.0f} writes/s (min {min(rates):.0f}, max {max(rates):.0f}), "
                  f"failed {sum(w[1] for w in got['wrote'])}")
            ratio = statistics.median(m["p99"] for m in got["mixed"]) / statistics.median(
                r["p99"] for r in got["alone"])
            print(f"reader p99 with writes / read-only: {ratio:.2f}x (issue 20 goal: within 1.5x)")
    finally:
        p.kill()
        p.wait()


if __name__ == "__main__":
    sys.exit(main())
