#!/usr/bin/env python3
"""Server start-up with and without stored plan grid shapes (issue 24).

    scripts/start_bench.py --wangge target/release/wangge --store city.gpkg [--runs 3]

The store must hold a partitioned city (`wangge generate`, `wangge
partition`). Each run copies it twice: one copy as it is (every plan
version's grid shapes stored: the server draws grid tiles from them), one
with the shapes deleted (what a file from before shapes were kept looks
like: the server evaluates every plan in force, as every start did before).
Each copy is served once, alternately, and timed from the process start:
`/health` answering, the first grid tile (over the largest region's first
household) answered, and the "grids of every region ready" log line; with
the plans evaluated by then (`/health/ready`). Prints the median (min-max)
in ms per figure.
"""
import argparse
import json
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from math import cos, log, pi, radians, tan


def tile_of(z, lon, lat):
    n = 2**z
    y = (1 - log(tan(radians(lat)) + 1 / cos(radians(lat))) / pi) / 2 * n
    return int((lon + 180) / 360 * n), int(y)


def get(url, token):
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(req, timeout=600) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def first_point(store):
    """A household of the region with the most plan grids."""
    c = sqlite3.connect(store)
    region = c.execute(
        "SELECT region FROM plan_grids GROUP BY region ORDER BY count(*) DESC LIMIT 1"
    ).fetchone()[0]
    blob = c.execute("SELECT geom FROM households WHERE region = ? LIMIT 1", (region,)).fetchone()[0]
    # GeoPackage point blob: header (8 bytes, + envelope by flags), then WKB.
    flags = blob[3]
    env = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}[(flags >> 1) & 7]
    wkb = blob[8 + env:]
    import struct

    order = "<" if wkb[0] == 1 else ">"
    x, y = struct.unpack(order + "dd", wkb[5:21])
    return x, y


def token_for(wangge, store):
    subprocess.run([wangge, "user", "add", "startbench", "--role", "admin", "--scope", "*",
                    "--store", store], capture_output=True)
    out = subprocess.run([wangge, "token", "create", "startbench", "--store", store],
                         capture_output=True, text=True, check=True).stdout
    return out.strip().splitlines()[-1]


def one_run(wangge, store, tile):
    token = token_for(wangge, store)
    t0 = time.perf_counter()
    p = subprocess.Popen([wangge, "serve", "--store", store, "--listen", "127.0.0.1:0"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ready = {}

    def watch():
        for line in p.stderr:
            if "grids of every region ready" in line and "ready" not in ready:
                ready["ready"] = (time.perf_counter() - t0) * 1000
                m = re.search(r"evaluated=(\d+)", line)
                ready["evaluated"] = int(m.group(1)) if m else None

    threading.Thread(target=watch, daemon=True).start()
    base = None
    for line in p.stdout:
        if line.startswith("wangge listening on "):
            base = line.split()[-1]
            break
    threading.Thread(target=lambda: [None for _ in p.stdout], daemon=True).start()
    out = {}
    while True:
        try:
            if get(base + "/health", token)[0] == 200:
                break
        except OSError:
            pass
        time.sleep(0.01)
    out["/health"] = (time.perf_counter() - t0) * 1000
    z, x, y = tile
    status, body = get(f"{base}/tiles/grids/{z}/{x}/{y}.mvt", token)
    assert status == 200 and body, status
    out["first grid tile"] = (time.perf_counter() - t0) * 1000
    out["plans evaluated at first tile"] = json.loads(get(base + "/health/ready", token)[1])["plans_evaluated"]
    while "ready" not in ready:
        time.sleep(0.05)
    out["grids of every region ready"] = ready["ready"]
    out["plans evaluated at ready"] = ready["evaluated"]
    p.terminate()
    p.wait()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wangge", required=True)
    ap.add_argument("--store", required=True)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    lon, lat = first_point(a.store)
    tile = (15, *tile_of(15, lon, lat))
    results = {"stored shapes": [], "no shapes (evaluated)": []}
    with tempfile.TemporaryDirectory() as d:
        for i in range(a.runs):
            for kind in results:
                copy = os.path.join(d, f"run{i}-{kind[:2]}.gpkg")
                shutil.copy(a.store, copy)
                if kind.startswith("no"):
                    c = sqlite3.connect(copy)
                    for t in ["plan_grids_current", "plan_grids_published", "plan_grid_shapes"]:
                        c.execute(f"DELETE FROM {t}")
                    c.commit()
                    c.close()
                results[kind].append(one_run(a.wangge, copy, tile))
                os.remove(copy)
                print(kind, results[kind][-1], file=sys.stderr)
    print(f"| figure | {' | '.join(results)} |")
    print("|---|" + "---|" * len(results))
    for fig in results["stored shapes"][0]:
        cells = []
        for kind, runs in results.items():
            v = [r[fig] for r in runs]
            if fig.startswith("plans"):
                cells.append(" / ".join(str(x) for x in v))
            else:
                cells.append(f"{statistics.median(v):.0f} ({min(v):.0f}-{max(v):.0f})")
        print(f"| {fig} | {' | '.join(cells)} |")


if __name__ == "__main__":
    main()
