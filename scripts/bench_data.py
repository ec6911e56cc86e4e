#!/usr/bin/env python3
"""Writes benchmark inputs: a lattice of street regions (GeoJSON) and N
households (CSV, and GeoJSON for a smaller N) spread over them, near Ankang.
Deterministic for a seed.

  bench_data.py OUTDIR --households 1000000 [--geojson-households 100000]
"""
import argparse
import json
import os
import random

LON0, LAT0 = 109.00, 32.65   # south-west corner, near Ankang
SIDE = 20                    # SIDE x SIDE regions
CELL = 0.01                  # degrees per region side (~1 km)


def regions():
    feats = []
    for r in range(SIDE):
        for c in range(SIDE):
            x0, y0 = LON0 + c * CELL, LAT0 + r * CELL
            ring = [[x0, y0], [x0 + CELL, y0], [x0 + CELL, y0 + CELL], [x0, y0 + CELL], [x0, y0]]
            code = "610902%03d%03d" % (r + 1, c + 1)
            feats.append({"type": "Feature", "properties": {"code": code, "name": "测试社区%d-%d" % (r + 1, c + 1)},
                          "geometry": {"type": "Polygon", "coordinates": [ring]}})
    return {"type": "FeatureCollection", "features": feats}


def households(n, rnd):
    span = SIDE * CELL
    care = ["放心户"] * 920 + ["关心户"] * 54 + ["连心户"] * 26
    for i in range(1, n + 1):
        lon = LON0 + rnd.random() * span
        lat = LAT0 + rnd.random() * span
        yield i, round(lon, 7), round(lat, 7), rnd.randint(1, 6), care[rnd.randrange(1000)], "安康市汉滨区测试路%d号" % (i % 997 + 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--households", type=int, default=1_000_000)
    ap.add_argument("--geojson-households", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--volunteers", type=int, default=0,
                    help="also write volunteers.csv with this many reserve volunteers (emergency benchmark)")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "regions.geojson"), "w") as f:
        json.dump(regions(), f, ensure_ascii=False)
    rnd = random.Random(a.seed)
    with open(os.path.join(a.out, "households.csv"), "w", encoding="utf-8") as f:
        f.write("id,lon,lat,size,care,address\n")
        for row in households(a.households, rnd):
            f.write("%d,%s,%s,%d,%s,%s\n" % row)
    rnd = random.Random(a.seed + 1)
    feats = [{"type": "Feature", "properties": {"id": i, "size": s, "care": c, "address": ad},
              "geometry": {"type": "Point", "coordinates": [lon, lat]}}
             for i, lon, lat, s, c, ad in households(a.geojson_households, rnd)]
    with open(os.path.join(a.out, "households.geojson"), "w", encoding="utf-8") as f:
        json.dump({"type": "FeatureCollection", "features": feats}, f, ensure_ascii=False)
    if a.volunteers:
        write_volunteers(os.path.join(a.out, "volunteers.csv"), a.volunteers, random.Random(a.seed + 2))


SKILLS = ["急救", "水上救援", "驾驶", "医护", "心理疏导", "电工", "搬运"]


def write_volunteers(path, n, rnd):
    """Volunteers over a 20 km square near Ankang: 1-3 skills, 85% available,
    70% in the emergency reserve (the same mix as the in-process bench)."""
    with open(path, "w", encoding="utf-8") as f:
        f.write("id,lon,lat,roles,skills,available,reserve\n")
        for i in range(1, n + 1):
            skills = "|".join(sorted({rnd.choice(SKILLS) for _ in range(rnd.randint(1, 3))}))
            f.write("%d,%.7f,%.7f,volunteer,%s,%d,%d\n" % (
                i, 108.90 + rnd.random() * 0.2, 32.60 + rnd.random() * 0.2, skills,
                rnd.random() < 0.85, rnd.random() < 0.7))


if __name__ == "__main__":
    main()
