#!/usr/bin/env python3
"""An incident over HTTP on a city (issue 22): the tally and a mark seen
by another officer.

    scripts/incident_bench.py --wangge target/release/wangge --store city.gpkg [--marks 200]

Starts `wangge serve` on the store (a generated city, e.g. `wangge
generate --households 349028`), makes two emergency officers for the
whole city, opens an incident over a circle at the city's centre and
redraws it until it holds about 50,000 households, then:

- times `GET /api/incidents/{id}/tally` (what the officer's screen asks
  for after every change): `--reads` times, median, p99, min and max;
- officer A marks `--marks` households one after the other (PUT with
  If-Match); officer B listens to `/api/changes/stream` and, on each
  incident change, reads the tally again, as the viewer does. Prints the
  p50/p99 from A's PUT being sent to B holding the event, and to B holding
  the new tally (what "visible to another officer" means on the screen).

Whole HTTP round trips on one machine, one connection each.
"""
import argparse
import http.client
import json
import os
import statistics
import subprocess
import threading
import time
import urllib.parse

TARGET = 50_000


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


class Client:
    """One keep-alive HTTP connection with a bearer token."""

    def __init__(self, base, token):
        u = urllib.parse.urlparse(base)
        self.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
        self.token = token

    def call(self, method, path, body=None, if_match=None):
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        if if_match:
            headers["If-Match"] = if_match
        data = None if body is None else json.dumps(body)
        self.conn.request(method, path, body=data, headers=headers)
        r = self.conn.getresponse()
        raw = r.read()
        if r.status >= 300:
            raise RuntimeError(f"{method} {path}: {r.status} {raw[:300]!r}")
        return r.getheader("ETag"), json.loads(raw) if raw else None


def listen(base, token, incident, events, ready, stop):
    """Officer B: the change stream; each change of the incident is
    stamped on arrival, then the tally is read again and stamped."""
    u = urllib.parse.urlparse(base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=300)
    conn.request("GET", "/api/changes/stream", headers={"Authorization": f"Bearer {token}", "Accept": "text/event-stream"})
    r = conn.getresponse()
    reader = Client(base, token)
    ready.set()
    data = None
    while not stop.is_set():
        line = r.fp.readline()
        if not line:
            break
        line = line.decode().rstrip("\n")
        if line.startswith("data:"):
            data = json.loads(line[5:])
        elif line == "" and data is not None:
            if data.get("layer") == "incidents" and data.get("id") == incident:
                got = time.perf_counter()
                reader.call("GET", f"/api/incidents/{incident}/tally")
                events.append((data["seq"], got, time.perf_counter()))
            data = None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wangge", required=True)
    ap.add_argument("--store", required=True)
    ap.add_argument("--marks", type=int, default=200)
    ap.add_argument("--reads", type=int, default=30)
    a = ap.parse_args()
    run = lambda *args: subprocess.run([a.wangge, *args], check=True, capture_output=True, text=True).stdout
    tokens = []
    for who in ("a", "b"):
        name = f"bench-em-{who}-{os.getpid()}"
        run("user", "add", name, "--role", "emergency", "--scope", "*", "--store", a.store)
        tokens.append(run("token", "create", name, "--store", a.store).strip().splitlines()[-1].strip())
    p = subprocess.Popen([a.wangge, "serve", "--listen", "127.0.0.1:0", "--store", a.store],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        base = None
        for line in p.stdout:
            if line.startswith("wangge listening on "):
                base = line.split("wangge listening on ", 1)[1].strip()
                break
        threading.Thread(target=lambda: [None for _ in p.stdout], daemon=True).start()
        em = Client(base, tokens[0])
        while True:
            try:
                em.call("GET", "/health/ready")
                break
            except Exception:
                time.sleep(0.5)
                em = Client(base, tokens[0])
        regions = em.call("GET", "/api/regions")[1]["regions"]
        top = min(regions, key=lambda r: len(str(r["code"]).rstrip("0")))
        w, s, e, n = top["bbox"]
        lon, lat, r = (w + e) / 2, (s + n) / 2, 1500.0
        etag, inc = em.call("POST", "/api/incidents", {"title": "基准：暴雨", "kind": "flood", "circle": {"lon": lon, "lat": lat, "radius_m": r}})
        iid = inc["id"]
        for _ in range(6):
            t = em.call("GET", f"/api/incidents/{iid}/tally?limit=0")[1]
            held = t["households_in_area"]
            if abs(held - TARGET) < TARGET * 0.05:
                break
            r *= (TARGET / max(held, 1)) ** 0.5
            etag, _ = em.call("POST", f"/api/incidents/{iid}/areas", {"circle": {"lon": lon, "lat": lat, "radius_m": r}}, if_match=etag)
        t = em.call("GET", f"/api/incidents/{iid}/tally?limit=5000")[1]
        print(f"incident over {t['households_in_area']:,} households (circle of {r:.0f} m): "
              f"{t['vulnerable']['total']:,} vulnerable, {t['waiting_total']:,} waiting, {len(t['by_grid'])} grids")
        ms = []
        for _ in range(a.reads):
            t0 = time.perf_counter()
            em.call("GET", f"/api/incidents/{iid}/tally")
            ms.append((time.perf_counter() - t0) * 1000)
        print(f"GET tally over HTTP ({a.reads} reads): median {statistics.median(ms):.1f} ms, "
              f"p99 {pct(ms, 99):.1f}, min {min(ms):.1f}, max {max(ms):.1f}")

        events, ready, stop = [], threading.Event(), threading.Event()
        th = threading.Thread(target=listen, args=(base, tokens[1], iid, events, ready, stop), daemon=True)
        th.start()
        ready.wait(30)
        time.sleep(0.5)
        sent = {}
        homes = [w["id"] for w in t["waiting"]][: a.marks]
        for k, h in enumerate(homes):
            status = "contacted" if k % 2 else "not_home"
            t0 = time.perf_counter()
            tag, _ = em.call("PUT", f"/api/incidents/{iid}/households/{h}", {"status": status},
                             if_match=f'"incident-{iid}-household-{h}-0"')
            sent[k] = t0
            # One mark at a time, as an officer's clicks come: the next
            # once B has it on screen (or 2 s).
            deadline = time.perf_counter() + 2
            while len(events) <= k and time.perf_counter() < deadline:
                time.sleep(0.001)
        stop.set()
        time.sleep(0.2)
        seen = [(ev[1] - sent[k]) * 1000 for k, ev in enumerate(events[: len(sent)])]
        shown = [(ev[2] - sent[k]) * 1000 for k, ev in enumerate(events[: len(sent)])]
        print(f"a mark seen by another officer ({len(seen)} of {len(sent)} marks): event p50 {pct(seen, 50):.1f} ms, "
              f"p99 {pct(seen, 99):.1f}; event and new tally on screen p50 {pct(shown, 50):.1f} ms, p99 {pct(shown, 99):.1f}")

        # A re-plan for the incident over a circle holding about 2,000
        # vulnerable households still unserved, every volunteer within
        # 3 km considered: straight lines, then walking along roads.
        vul = t["waiting_total"]
        rr = r * (2000 / max(vul, 1)) ** 0.5
        for walk in (False, True):
            body = {"incident": iid, "circle": {"lon": lon, "lat": lat, "radius_m": rr}, "capacity": 3,
                    "max_distance_m": 3000, "walk": walk, "allow_inside": True}
            ms, plan = [], None
            for _ in range(5):
                t0 = time.perf_counter()
                plan = em.call("POST", "/api/emergency/plan", body)[1]
                ms.append((time.perf_counter() - t0) * 1000)
            vols = len({x["volunteer"]["id"] for x in plan["routes"]})
            print(f"re-plan over HTTP ({'walking' if walk else 'straight lines'}), {plan['households']:,} households unserved, "
                  f"{plan['served']:,} served by {vols:,} volunteers: median {statistics.median(ms):.0f} ms, "
                  f"min {min(ms):.0f}, max {max(ms):.0f} (5 runs)")
    finally:
        p.terminate()
        p.wait()


if __name__ == "__main__":
    main()
