"""Vector tiles side by side: our /tiles endpoint against PostGIS ST_AsMVT
(what pg_tileserv and Martin run) on the same tables, cold p50/p99 per zoom,
and the tile list for wrk's warm run. Used by `scripts/bench tiles`.

Tiles are where people live: the tiles holding a sample of households, per
zoom 10-16. "Cold" means the first request for a tile (our cache holds
nothing for it; the grids' shapes are evaluated at start-up, like the
tables PostGIS reads). PostGIS times include the client round trip, as ours
include HTTP.
"""

import argparse
import json
import math
import random
import statistics
import subprocess
import sys
import time
import urllib.parse
import http.client

import psycopg


def tile_of(z, lon, lat):
    n = 2 ** z
    r = math.radians(lat)
    y = (1 - math.log(math.tan(r) + 1 / math.cos(r)) / math.pi) / 2 * n
    return (z, int((lon + 180) / 360 * n), int(y))


class Client:
    """One kept-alive HTTP connection, as a map client holds: the figures
    are the server's time plus one local round trip, not TCP set-up."""

    def __init__(self, base, headers=None):
        u = urllib.parse.urlparse(base)
        self.conn = http.client.HTTPConnection(u.hostname, u.port or 80)
        self.headers = headers or {}

    def get(self, path):
        t0 = time.perf_counter()
        self.conn.request("GET", path, headers=self.headers)
        r = self.conn.getresponse()
        body = r.read()
        if r.status not in (200, 204):
            raise SystemExit(f"GET {path}: {r.status} {body[:200]!r}")
        return time.perf_counter() - t0, body


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


# PostGIS queries: the same layers, zooms and attributes as our sources.
GRID_LAYER = """(SELECT coalesce(ST_AsMVT(q, 'grid{l}', 4096, 'geom'), '') FROM (
  SELECT code, level, region, households, balance,
         ST_AsMVTGeom(ST_Transform(g.geom, 3857), ST_TileEnvelope(%(z)s, %(x)s, %(y)s), 4096, 64, true) AS geom
  FROM tb.grids g WHERE g.level = {l} AND g.geom && ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => 64.0 / 4096), 4326)) q)"""
BASE_LAYER = """(SELECT coalesce(ST_AsMVT(q, '{name}', 4096, 'geom'), '') FROM (
  SELECT {cols}, ST_AsMVTGeom(ST_Transform(t.geom, 3857), ST_TileEnvelope(%(z)s, %(x)s, %(y)s), 4096, 64, true) AS geom
  FROM tb.{name} t WHERE {filter} t.geom && ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => 64.0 / 4096), 4326)) q)"""


def postgis_query(source, z):
    if source == "grids":
        parts = [GRID_LAYER.format(l=l) for l, minz in ((1, 8), (2, 11), (3, 13)) if z >= minz]
    else:
        parts = [BASE_LAYER.format(name="water", cols="kind, name", filter="")]
        if z >= 10:
            flt = "" if z >= 13 else "class IN ('motorway', 'primary', 'secondary', 'railway') AND"
            parts.append(BASE_LAYER.format(name="roads", cols="class, name", filter=flt))
        if z >= 14:
            parts.append(BASE_LAYER.format(name="buildings", cols="kind, levels", filter=""))
    return "SELECT " + " || ".join(parts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--dsn", help="PostgreSQL with the tb schema loaded; none: ours alone")
    ap.add_argument("--per-zoom", type=int, default=40)
    ap.add_argument("--wrk-paths", help="write the tile paths for wrk here")
    ap.add_argument("--martin", help="base URL of a Martin serving the same tables")
    a = ap.parse_args()

    ours_http = Client(a.base, {"Authorization": f"Bearer {a.token}", "Accept-Encoding": "gzip"})
    martin_http = Client(a.martin, {"Accept-Encoding": "gzip"}) if a.martin else None
    # Households to place the tiles, from all over the city.
    pts = []
    for offset in range(0, 2_000_000, 5_000):
        _, body = ours_http.get(f"/api/layers/households?limit=50&offset={offset}")
        page = [f["geometry"]["coordinates"] for f in json.loads(body)["features"]]
        if not page:
            break
        pts.extend(page)
    rng = random.Random(1)
    rng.shuffle(pts)
    zooms = range(10, 17)
    tiles = {}
    for z in zooms:
        seen = []
        for lon, lat in pts:
            t = tile_of(z, lon, lat)
            if t not in seen:
                seen.append(t)
            if len(seen) >= a.per_zoom:
                break
        tiles[z] = seen

    conn = psycopg.connect(a.dsn, autocommit=True) if a.dsn else None
    rows = []
    paths = []
    for source in ("grids", "basemap"):
        for z in zooms:
            ours, pg, sizes, pg_sizes, martin = [], [], [], [], []
            for (tz, x, y) in tiles[z]:
                path = f"/tiles/{source}/{tz}/{x}/{y}.mvt"
                paths.append(path)
                dt, body = ours_http.get(path)
                ours.append(dt * 1000)
                sizes.append(len(body))
                if conn:
                    q = postgis_query(source, z)
                    t0 = time.perf_counter()
                    mvt = conn.execute(q, {"z": tz, "x": x, "y": y}).fetchone()[0]
                    pg.append((time.perf_counter() - t0) * 1000)
                    pg_sizes.append(len(mvt or b""))
                if a.martin:
                    name = "grids" if source == "grids" else "water,roads,buildings"
                    dt, _ = martin_http.get(f"/{name}/{tz}/{x}/{y}")
                    martin.append(dt * 1000)
            row = f"{source:8} z{z:<2} {len(ours):3} tiles  ours p50 {statistics.median(ours):6.2f} ms p99 {pct(ours, 99):6.2f} ms (gzip {statistics.mean(sizes) / 1024:5.1f} KiB)"
            if pg:
                row += f"  | PostGIS ST_AsMVT p50 {statistics.median(pg):6.2f} ms p99 {pct(pg, 99):6.2f} ms (raw {statistics.mean(pg_sizes) / 1024:5.1f} KiB)"
            if martin:
                row += f"  | Martin p50 {statistics.median(martin):6.2f} ms p99 {pct(martin, 99):6.2f} ms"
            print(row, flush=True)
            rows.append(row)
    if a.wrk_paths:
        with open(a.wrk_paths, "w") as f:
            f.write("\n".join(paths) + "\n")


if __name__ == "__main__":
    sys.exit(main())
