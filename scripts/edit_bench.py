"""Hand edits on the 349,028-household city over HTTP: the dry run of a
20-atom reassignment, a save (new version, new snapshot, tiles invalidated)
and a split along a line, p50/p95 against the issue's goals. Used by
`scripts/bench edits`; needs only the standard library.

The community with the most households is edited. The 20 atoms are found
from the plan's atoms (GET /api/plans/{id}/atoms): a connected run grown
breadth first from a grid's boundary into its neighbours, each of which
stays whole and keeps an atom; the server says
whether an edit keeps every rule, and the first one it accepts is timed.
"""

import argparse
import collections
import http.client
import json
import sys
import time
import urllib.parse


class Client:
    """One kept-alive connection, as the viewer holds."""

    def __init__(self, base, token):
        u = urllib.parse.urlparse(base)
        self.conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=600)
        self.auth = {"Authorization": f"Bearer {token}"}

    def call(self, method, path, body=None, headers=None):
        h = dict(self.auth)
        h.update(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        t0 = time.perf_counter()
        self.conn.request(method, path, body=data, headers=h)
        r = self.conn.getresponse()
        raw = r.read()
        dt = time.perf_counter() - t0
        try:
            doc = json.loads(raw) if raw else None
        except ValueError:
            doc = None
        return r.status, dt, doc, r.getheader("ETag")


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def ms(x):
    return f"{x * 1000:.1f} ms"


def tile_of(z, lon, lat):
    import math

    n = 2 ** z
    r = math.radians(lat)
    y = (1 - math.log(math.tan(r) + 1 / math.cos(r)) / math.pi) / 2 * n
    return f"{z}/{int((lon + 180) / 360 * n)}/{int(y)}"


def centre(geom):
    pts = [c for poly in geom["coordinates"] for c in poly[0]]
    return sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts)


def connected(nodes, nbrs):
    nodes = set(nodes)
    if not nodes:
        return False
    start = next(iter(nodes))
    seen = {start}
    todo = [start]
    while todo:
        a = todo.pop()
        for b in nbrs[a]:
            if b in nodes and b not in seen:
                seen.add(b)
                todo.append(b)
    return len(seen) == len(nodes)


def candidates(atoms, size):
    """(atoms to move, target grid) pairs: a connected run of `size` atoms
    grown from a grid's boundary into its neighbours (atoms are blocks,
    a level-3 grid holds a few), taking an atom only when the grid it
    leaves stays whole and keeps one."""
    grid = {a: f["properties"]["level3"] for a, f in atoms.items()}
    nbrs = {a: [b for b in f["properties"]["neighbours"] if b in grid] for a, f in atoms.items()}
    members = collections.defaultdict(set)
    for a, g in grid.items():
        members[g].add(a)
    for target in sorted(members, key=lambda g: -len(members[g])):
        rest = {g: set(m) for g, m in members.items()}
        queue = collections.deque(
            b for a in members[target] for b in nbrs[a] if grid[b] != target
        )
        seen, taken = set(), []
        while queue and len(taken) < size:
            b = queue.popleft()
            if b in seen:
                continue
            seen.add(b)
            left = rest[grid[b]] - {b}
            if not left or not connected(left, nbrs):
                continue
            rest[grid[b]] = left
            taken.append(b)
            queue.extend(c for c in nbrs[b] if c not in seen and grid[c] != target)
        if len(taken) == size:
            yield taken, target


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--rounds", type=int, default=30)
    args = ap.parse_args()
    c = Client(args.base, args.token)

    # The community with the most households, and its newest plan.
    _, _, regions, _ = c.call("GET", "/api/regions")
    regions = regions.get("regions", regions) if isinstance(regions, dict) else regions
    tops = [r for r in regions if not r.get("parent")]
    newest = {}
    for t in tops:
        _, _, v, _ = c.call("GET", f"/api/regions/{t['code']}/plans")
        for ver in v["versions"]:
            if ver["number"] >= newest.get(ver["region"], {"number": 0})["number"]:
                newest[ver["region"]] = ver
    best, best_n = None, -1
    for ver in newest.values():
        _, _, d, _ = c.call("GET", f"/api/plans/{ver['id']}")
        if d["households"] > best_n:
            best, best_n = ver["id"], d["households"]
    plan = best
    print(f"  community plan {plan}: {best_n} households")
    _, dt, fc, _ = c.call("GET", f"/api/plans/{plan}/atoms")
    atoms = {f["properties"]["atom"]: f for f in fc["features"]}
    print(f"  its atoms: {len(atoms)} (read in {ms(dt)})")

    # A 20-atom reassignment the rules accept.
    body = None
    for run, target in candidates(atoms, 20):
        b = {"edit": {"op": "reassign", "atoms": run, "to": target}}
        status, _, _, _ = c.call("POST", f"/api/plans/{plan}/preview", b)
        if status == 200:
            body = b
            break
    if body is None:
        sys.exit("no 20-atom reassignment was accepted")
    times = []
    for _ in range(args.rounds):
        status, dt, doc, _ = c.call("POST", f"/api/plans/{plan}/preview", body)
        assert status == 200, doc
        times.append(dt)
    print(
        f"  preview of a 20-atom reassignment ({doc['households_moved']} households, "
        f"{len(doc['grids'])} grids' figures): p50 {ms(pct(times, 50))}, "
        f"p95 {ms(pct(times, 95))}  (goal ≤ 30 ms)"
    )

    # Saves: the edit, then its undo, alternately; each is a new version,
    # a new snapshot and the tiles over the edit invalidated. The first
    # tile over the moved atoms after each save is timed too.
    lon, lat = centre(atoms[body["edit"]["atoms"][0]]["geometry"])
    tile = f"/tiles/grids/{tile_of(16, lon, lat)}.mvt"
    c.call("GET", tile)
    _, _, _, etag = c.call("GET", f"/api/plans/{plan}")
    saves, firsts, base = [], [], plan
    for i in range(max(10, args.rounds // 3)):
        edit = body["edit"] if i % 2 == 0 else {"op": "restore", "version": plan}
        status, dt, doc, etag = c.call(
            "POST", f"/api/plans/{base}/edits", {"edit": edit}, {"If-Match": etag}
        )
        assert status == 201, doc
        saves.append(dt)
        base = doc["version"]["id"]
        status, dt, _, _ = c.call("GET", tile)
        assert status in (200, 204), status
        firsts.append(dt)
    print(
        f"  save (version, snapshot, tile invalidation): p50 {ms(pct(saves, 50))}, "
        f"p95 {ms(pct(saves, 95))}  (goal ≤ 200 ms); the first tile over the edit "
        f"after it: p50 {ms(pct(firsts, 50))}"
    )

    # A split along a line through the middle of the grid with most atoms.
    grid = collections.Counter(f["properties"]["level3"] for f in atoms.values())
    _, _, fc, _ = c.call("GET", f"/api/plans/{base}/atoms")
    atoms = {f["properties"]["atom"]: f for f in fc["features"]}
    split = None
    for g, _ in grid.most_common(10):
        pts = [
            p
            for f in atoms.values()
            if f["properties"]["level3"] == g
            for poly in f["geometry"]["coordinates"]
            for p in poly[0]
        ]
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        for frac in (0.5, 0.4, 0.6):
            y = min(ys) + frac * (max(ys) - min(ys))
            b = {
                "edit": {
                    "op": "split",
                    "grid": g,
                    "line": {"type": "LineString", "coordinates": [[min(xs) - 1e-3, y], [max(xs) + 1e-3, y]]},
                }
            }
            status, _, _, _ = c.call("POST", f"/api/plans/{base}/preview", b)
            if status == 200:
                split = b
                break
        if split:
            break
    if split is None:
        sys.exit("no split was accepted")
    times = []
    for _ in range(args.rounds):
        status, dt, doc, _ = c.call("POST", f"/api/plans/{base}/preview", split)
        assert status == 200, doc
        times.append(dt)
    status, dt, doc, _ = c.call(
        "POST", f"/api/plans/{base}/edits", split, {"If-Match": f'"plan-{base}"'}
    )
    assert status == 201, doc
    print(
        f"  split along a line (preview: cut, households placed again, figures): "
        f"p50 {ms(pct(times, 50))}, p95 {ms(pct(times, 95))}  (goal ≤ 100 ms); "
        f"saved in {ms(dt)}"
    )


if __name__ == "__main__":
    main()
