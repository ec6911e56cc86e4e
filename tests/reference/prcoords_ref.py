"""Reads a JSON array of [lon, lat] on stdin; prints prcoords' conversions of
each point as JSON ([lon, lat] again; prcoords itself works in (lat, lon)).
Used by tests/e2e/crs_reference.rs."""
import json
import sys
import warnings

import prcoords

warnings.simplefilter("ignore")  # prcoords warns for points outside China
points = json.load(sys.stdin)


def run(f):
    out = []
    for lon, lat in points:
        c = f((lat, lon))
        out.append([c.lon, c.lat])
    return out


json.dump({
    "wgs_to_gcj": run(prcoords.wgs_gcj),
    "gcj_to_bd": run(prcoords.gcj_bd),
    "bd_to_gcj": run(prcoords.bd_gcj),
    "wgs_to_bd": run(prcoords.wgs_bd),
}, sys.stdout)
