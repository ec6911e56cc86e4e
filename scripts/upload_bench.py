#!/usr/bin/env python3
"""A 100,000-row household CSV uploaded over HTTP: dry run and commit (issue 20).

    scripts/upload_bench.py --wangge target/release/wangge --store city.gpkg [--rows 100000] [--runs 5]

Starts `wangge serve` on the store (a generated city, e.g. `wangge generate
--households 349028`), makes an office token for the whole city and reads
the households it holds. Each run writes a CSV of `--rows` new households
(UTF-8, English column names), every one a few metres from a household of
the city so that it lands inside one of its regions, with an address no
other row has; then times

  * dry run: `POST /api/uploads?layer=households` with the CSV as the body
    until `GET /api/uploads/{id}` reports the dry run done (status ready),
    the report in hand;
  * commit: `POST /api/uploads/{id}/commit` until its answer (the store
    transaction committed and the snapshot holding the rows).

Runs add to one running server, so run k uploads into a city that grew by
(k-1) x rows; the figures are printed per run, then median, min and max.
The issue's targets: dry run <= 5 s, commit <= 10 s.
"""
import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
import urllib.request


def call(method, url, token, body=None, content_type="application/json"):
    req = urllib.request.Request(url, data=body, method=method)
    req.add_header("Authorization", f"Bearer {token}")
    req.add_header("Content-Type", content_type)
    with urllib.request.urlopen(req, timeout=600) as r:
        return r.status, json.loads(r.read() or b"null")


def points(base, token, want):
    """Household locations of the city, read page by page."""
    out, offset = [], 0
    while len(out) < want:
        _, page = call("GET", f"{base}/api/layers/households?limit=10000&offset={offset}", token)
        feats = page["features"]
        if not feats:
            break
        out += [f["geometry"]["coordinates"] for f in feats]
        offset += len(feats)
    return out


def csv_of(pts, rows, run, rng):
    lines = ["lon,lat,size,care,address"]
    for i in range(rows):
        lon, lat = pts[i % len(pts)]
        # About a metre away: the same region, a new place.
        lon += rng.uniform(-1e-5, 1e-5)
        lat += rng.uniform(-1e-5, 1e-5)
        lines.append(f"{lon:.7f},{lat:.7f},{rng.randint(1, 5)},{rng.choice([0, 0, 0, 1, 2])},压测路{run}弄{i}号")
    return ("\n".join(lines) + "\n").encode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wangge", required=True)
    ap.add_argument("--store", required=True)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    run = lambda *args: subprocess.run([a.wangge, *args], check=True, capture_output=True, text=True).stdout
    name = f"bench-upload-{os.getpid()}"
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
                urllib.request.urlopen(base + "/health", timeout=5)
                break
            except Exception:
                time.sleep(0.2)
        pts = points(base, token, a.rows)
        print(f"{len(pts)} household locations read; {a.rows} rows per upload")
        rng = random.Random(1)
        dry, com = [], []
        for k in range(a.runs):
            body = csv_of(pts, a.rows, k, rng)
            t0 = time.perf_counter()
            st, job = call("POST", f"{base}/api/uploads?layer=households", token, body, "text/csv")
            assert st == 202, (st, job)
            while job["status"] == "checking":
                time.sleep(0.05)
                _, job = call("GET", f"{base}/api/uploads/{job['id']}", token)
            t1 = time.perf_counter()
            r = job["report"]
            assert job["status"] == "ready", json.dumps(r)[:2000]
            st, done = call("POST", f"{base}/api/uploads/{job['id']}/commit", token)
            t2 = time.perf_counter()
            assert st == 200 and done["stored"] == a.rows, done
            dry.append(t1 - t0)
            com.append(t2 - t1)
            print(f"run {k + 1}: {len(body) / 1e6:.1f} MB, {r['rows']} rows, dry run {dry[-1]:.2f} s, commit {com[-1]:.2f} s")
        for label, xs in [("dry run (upload + report)", dry), ("commit", com)]:
            print(f"{label}: median {statistics.median(xs):.2f} s, min {min(xs):.2f} s, max {max(xs):.2f} s ({len(xs)} runs)")
    finally:
        p.kill()
        p.wait()


if __name__ == "__main__":
    sys.exit(main())
