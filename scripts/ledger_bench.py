#!/usr/bin/env python3
"""One household write over HTTP, acknowledged and visible (issue 20).

    scripts/ledger_bench.py --wangge target/release/wangge --store city.gpkg [--writes 200]

Starts `wangge serve` on the store (a generated city, e.g. `wangge generate
--households 349028`), makes an office token for the whole city, then
PATCHes one household `--writes` times (If-Match from the previous answer,
its care level alternating 1 and 2, its place a metre east and back) and, after each write, reads what must
follow it and checks that it does:

- coverage of the household's region (`/api/regions/{code}/coverage`): its
  households by care level moved by one;
- the zoom-16 household tile over it: a new ETag (the tile draws where
  households are, not their care level);
- the nearest volunteers to it (`/api/emergency/nearest`): answered over
  the new snapshot (a household write does not change who is nearest;
  this is the read latency right after a write).

A write is acknowledged once its store transaction has committed and the
snapshot holds it (the server swaps the snapshot before it answers).
Prints p50/p99 in ms of the write, of each read after it, and of the
whole (write to the last of the three reads).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from math import cos, log, pi, radians, tan


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
    with urllib.request.urlopen(req, timeout=120) as r:
        return r.status, r.headers.get("ETag"), r.read()


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wangge", required=True)
    ap.add_argument("--store", required=True)
    ap.add_argument("--writes", type=int, default=200)
    a = ap.parse_args()
    run = lambda *args: subprocess.run([a.wangge, *args], check=True, capture_output=True, text=True).stdout
    name = f"bench-office-{os.getpid()}"
    run("user", "add", name, "--role", "office", "--scope", "*", "--store", a.store)
    token = run("token", "create", name, "--store", a.store).strip().splitlines()[-1].strip()
    p = subprocess.Popen([a.wangge, "serve", "--listen", "127.0.0.1:0", "--store", a.store],
                         stdout=subprocess.PIPE, text=True)
    try:
        base = None
        for line in p.stdout:
            if line.startswith("wangge listening on "):
                base = line.split("wangge listening on ", 1)[1].strip()
                break
        while True:
            try:
                if call("GET", base + "/health", token)[0] == 200:
                    break
            except Exception:
                time.sleep(0.1)
        _, _, body = call("GET", base + "/api/layers/households?limit=1", token)
        f = json.loads(body)["features"][0]
        hid = f["id"]
        lon, lat = f["geometry"]["coordinates"]
        _, etag, body = call("GET", f"{base}/api/households/{hid}", token)
        region = json.loads(body)["properties"]["region"]
        x, y = tile_of(16, lon, lat)
        tile = f"{base}/tiles/households/16/{x}/{y}.mvt"
        coverage = f"{base}/api/regions/{region}/coverage?by=line"
        nearest = f"{base}/api/emergency/nearest?lon={lon}&lat={lat}&k=10&by=line"
        _, tile_tag, _ = call("GET", tile, token)
        by_care = lambda: json.loads(call("GET", coverage, token)[2])["region"]["households"]
        seen = by_care()
        names = ["write acknowledged (PATCH)", "coverage after", "tile after", "nearest after",
                 "write to coverage seen", "write to tile seen", "write to all three seen"]
        times = {n: [] for n in names}
        for i in range(a.writes):
            care = 1 + (i % 2)
            t0 = time.perf_counter()
            # Its care level and its place (a metre east and back): coverage
            # counts it again, and the tile, which draws where it is, changes.
            body = {"care": care, "location": [lon + (i % 2) * 1e-5, lat]}
            st, etag, _ = call("PATCH", f"{base}/api/households/{hid}", token, body, etag)
            assert st == 200, st
            t1 = time.perf_counter()
            now = by_care()
            t2 = time.perf_counter()
            _, tag, _ = call("GET", tile, token)
            t3 = time.perf_counter()
            st, _, _ = call("GET", nearest, token)
            t4 = time.perf_counter()
            assert st == 200, st
            # The first write may find the household at either level.
            if i > 0:
                assert now[care] == seen[care] + 1 and now[3 - care] == seen[3 - care] - 1, (seen, now)
                assert tag != tile_tag, "the tile over the household kept its ETag"
            seen, tile_tag = now, tag
            for n, v in zip(names, [t1 - t0, t2 - t1, t3 - t2, t4 - t3, t2 - t0, t3 - t0 - (t2 - t1), t4 - t0]):
                times[n].append(v * 1000)
        print(f"household {hid} in region {region}, tile 16/{x}/{y}")
        for label in names:
            xs = times[label]
            print(f"{label}: p50 {pct(xs, 50):.1f} ms, p99 {pct(xs, 99):.1f} ms, mean {statistics.mean(xs):.1f} ms ({len(xs)} writes)")
    finally:
        p.kill()
        p.wait()


if __name__ == "__main__":
    sys.exit(main())
