#!/usr/bin/env python3
"""Side by side: wangge's gap-closing suggestion (lazy greedy + swaps)
against spopt's exact maximal covering location problem (integer
programming, solved by CBC through PuLP), on one deterministic instance.

    scripts/mclp_compare.py --wangge target/release/wangge [--work DIR]

Prints covered weight, share and solve time of each, and the ratios.
Figures only; `scripts/bench coverage` runs it.
"""

import argparse
import json
import math
import os
import subprocess
import sys
import time

import numpy as np
import pulp
from spopt.locate import MCLP


def instance(n_demand, n_cand, seed, layout="clustered"):
    """Households in a 4 km square: uniform, or clustered like a city's
    (ten clusters, 20% spread out). Half the candidates are households."""
    rng = np.random.RandomState(seed)
    if layout == "uniform":
        demand = rng.uniform(0, 4000, size=(n_demand, 2))
        weights = rng.randint(1, 4, size=n_demand).astype(float)
        half = n_cand // 2
        cand = np.vstack(
            [demand[rng.choice(n_demand, half, replace=False)], rng.uniform(0, 4000, size=(n_cand - half, 2))]
        )
        return demand, weights, cand
    centres = rng.uniform(400, 3600, size=(10, 2))
    sigmas = rng.uniform(150, 400, size=10)
    n_clustered = int(n_demand * 0.8)
    which = rng.randint(0, 10, size=n_clustered)
    clustered = centres[which] + rng.normal(size=(n_clustered, 2)) * sigmas[which, None]
    spread = rng.uniform(0, 4000, size=(n_demand - n_clustered, 2))
    demand = np.clip(np.vstack([clustered, spread]), 0, 4000)
    weights = rng.randint(1, 4, size=n_demand).astype(float)
    half = n_cand // 2
    cand = np.vstack(
        [demand[rng.choice(n_demand, half, replace=False)], rng.uniform(0, 4000, size=(n_cand - half, 2))]
    )
    return demand, weights, cand


def covered(demand, weights, cand, sites, radius):
    hit = np.zeros(len(demand), dtype=bool)
    for s in sites:
        hit |= np.hypot(*(demand - cand[s]).T) <= radius
    return float(weights[hit].sum())


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--wangge", required=True)
    ap.add_argument("--demand", type=int, default=2000)
    ap.add_argument("--candidates", type=int, default=500)
    ap.add_argument("--sites", type=int, default=20)
    ap.add_argument("--radius", type=float, default=300.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--work", default="/tmp")
    ap.add_argument("--layout", default="uniform,clustered")
    ap.add_argument("--time-limit", type=float, default=120.0, help="CBC's limit, seconds")
    a = ap.parse_args()
    for layout in a.layout.split(","):
        compare(a, layout)


def compare(a, layout):
    demand, weights, cand = instance(a.demand, a.candidates, a.seed, layout)
    path = os.path.join(a.work, f"mclp-{layout}.json")
    with open(path, "w") as f:
        json.dump(
            {
                "radius_m": a.radius,
                "sites": a.sites,
                "demand": [[float(x), float(y), float(w)] for (x, y), w in zip(demand, weights)],
                "candidates": [[float(x), float(y)] for x, y in cand],
            },
            f,
        )

    # spopt, exact.
    t0 = time.perf_counter()
    cost = np.hypot(demand[:, None, 0] - cand[None, :, 0], demand[:, None, 1] - cand[None, :, 1])
    model = MCLP.from_cost_matrix(cost, weights, service_radius=a.radius, p_facilities=a.sites, name="mclp")
    t1 = time.perf_counter()
    model = model.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=a.time_limit))
    t2 = time.perf_counter()
    # sol_status 1: proven optimal; 2: the best found when the limit struck.
    proven = model.problem.sol_status == 1
    chosen = [j for j, v in enumerate(model.fac_vars) if v.value() and v.value() > 0.5]
    theirs = covered(demand, weights, cand, chosen, a.radius)
    spopt_ms = (t2 - t1) * 1000

    # wangge.
    out = subprocess.run([a.wangge, "coverage", "mclp", "--instance", path], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"wangge failed: {out.stderr}")
    ours_json = json.loads(out.stdout)
    ours = covered(demand, weights, cand, ours_json["sites"], a.radius)
    if abs(ours - ours_json["covered_weight"]) > 1e-6 or len(ours_json["sites"]) > a.sites:
        sys.exit(f"wangge's answer does not check out: says {ours_json['covered_weight']}, is {ours}")
    total = float(weights.sum())

    print(f"MCLP, {layout} demand: {a.demand} demand x {a.candidates} candidates, {a.sites} sites, "
          f"radius {a.radius:.0f} m (seed {a.seed})")
    print(f"{'':24}{'covered weight':>15}{'share':>9}{'solve time':>14}")
    label = "spopt (CBC, optimal)" if proven else f"spopt (CBC, {a.time_limit:.0f} s limit)"
    print(f"{label:24}{theirs:>15.0f}{theirs / total:>9.1%}{spopt_ms:>11.1f} ms"
          f"   (+{(t1 - t0) * 1000:.0f} ms building the model)")
    print(f"{'wangge (lazy greedy)':24}{ours:>15.0f}{ours / total:>9.1%}{ours_json['solve_ms']:>11.2f} ms"
          f"   (+{ours_json['covers_ms']:.2f} ms finding what each candidate covers)")
    speed = spopt_ms / max(ours_json["solve_ms"], 1e-6)
    whole = (t2 - t0) * 1000 / max(ours_json["solve_ms"] + ours_json["covers_ms"], 1e-6)
    print(f"wangge / spopt: coverage {ours / theirs:.1%}; solve {speed:,.0f}x faster, "
          f"model and solve together {whole:,.0f}x faster")


if __name__ == "__main__":
    main()
