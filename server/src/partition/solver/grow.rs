//! Seeding and growth: seeds spread along a Hilbert curve, balanced region
//! growing from them, or recursive bisection where the range is tight.

use rand::Rng;
use rand_pcg::Pcg64Mcg;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::super::LevelSpec;
use super::objective::{
    balance, compact_weight, cut_weight, out_of_range, plus, pp_sum, towering, unsplittable,
};
use super::refine::refine;
use super::repair::repair;
use super::{dist, pieces, Blocks, Cost, Front, Local, Mode, NONE, OUTSIDE, ROAD_STEP};

/// One seeding, growth and refinement; returns its score (lower is
/// better) and the labels.
pub(super) fn attempt(
    l: &Local,
    comp: &[u32],
    spec: &LevelSpec,
    k: usize,
    blocks: &Blocks,
    mode: Mode,
    rng: &mut Pcg64Mcg,
) -> Vec<u32> {
    let fixed = fixed_seeds(l, comp, spec);
    let seeds = if fixed.len() == k {
        fixed
    } else {
        seeds(l, comp, k, rng)
    };
    let mut label = vec![OUTSIDE; l.atoms.len()];
    for &a in comp {
        label[a as usize] = NONE;
    }
    let mut load = vec![0.0; k];
    let mut size = vec![0usize; k];
    let mut fronts: Vec<Front> = vec![BinaryHeap::new(); k];
    for (r, &s) in seeds.iter().enumerate() {
        fronts[r].push(Reverse((Cost(0.0), s, Cost(0.0))));
    }
    let centres: Vec<(f64, f64)> = seeds
        .iter()
        .map(|&s| (l.x[s as usize], l.y[s as usize]))
        .collect();
    // Crossing a road costs as much as walking half a grid's width.
    let step = ROAD_STEP * (comp.len() as f64 / k as f64).sqrt() * mode.spacing;
    let whole = mode.whole;
    grow(
        l,
        spec,
        blocks,
        whole,
        &centres,
        step,
        &mut fronts,
        &mut label,
        &mut load,
        &mut size,
    );
    if whole {
        // What no grid could take whole (it would overflow) goes atom by atom.
        for &a in comp {
            let r = label[a as usize];
            if r == NONE {
                continue;
            }
            for e in l.around(a) {
                if label[l.nbr[e] as usize] == NONE {
                    fronts[r as usize].push(Reverse((Cost(0.0), l.nbr[e], Cost(0.0))));
                }
            }
        }
        grow(
            l,
            spec,
            blocks,
            false,
            &centres,
            step,
            &mut fronts,
            &mut label,
            &mut load,
            &mut size,
        );
    }
    refine(l, comp, spec, mode, &mut label, &mut load, &mut size);
    label
}

/// Recursive coordinate bisection: cuts the households across the longer
/// side of the bounding box in the ratio of the grids on either side,
/// giving near-rectangular grids where the range leaves no room for whole
/// blocks. A grid that comes out in pieces keeps its largest piece; the
/// rest regrows from the neighbours.
pub(super) fn attempt_bisect(
    l: &Local,
    comp: &[u32],
    spec: &LevelSpec,
    k: usize,
    blocks: &Blocks,
    mode: Mode,
    turn: bool,
) -> Vec<u32> {
    let mut label = vec![OUTSIDE; l.atoms.len()];
    let mut order = comp.to_vec();
    bisect(l, &mut order, k, 0, turn, &mut label);
    let mut members: Vec<Vec<u32>> = vec![Vec::new(); k];
    for &a in comp {
        members[label[a as usize] as usize].push(a);
    }
    let mut load = vec![0.0; k];
    let mut size = vec![0usize; k];
    let mut centres = vec![(0.0, 0.0); k];
    for (r, m) in members.iter().enumerate() {
        let mut ps = pieces(l, m);
        ps.sort_by_key(|p| Reverse(p.len()));
        for (i, p) in ps.iter().enumerate() {
            for &a in p {
                if i > 0 {
                    label[a as usize] = NONE;
                } else {
                    load[r] += l.hh[a as usize];
                    size[r] += 1;
                    centres[r].0 += l.x[a as usize];
                    centres[r].1 += l.y[a as usize];
                }
            }
        }
        let n = size[r].max(1) as f64;
        centres[r] = (centres[r].0 / n, centres[r].1 / n);
    }
    let mut fronts: Vec<Front> = vec![BinaryHeap::new(); k];
    for &a in comp {
        let r = label[a as usize];
        if r == NONE {
            continue;
        }
        for e in l.around(a) {
            if label[l.nbr[e] as usize] == NONE {
                fronts[r as usize].push(Reverse((Cost(0.0), l.nbr[e], Cost(0.0))));
            }
        }
    }
    grow(
        l,
        spec,
        blocks,
        false,
        &centres,
        0.0,
        &mut fronts,
        &mut label,
        &mut load,
        &mut size,
    );
    refine(l, comp, spec, mode, &mut label, &mut load, &mut size);
    label
}

/// Labels `atoms` with grids `first..first + k` by recursive bisection;
/// `turn` turns the first cut.
pub(super) fn bisect(
    l: &Local,
    atoms: &mut [u32],
    k: usize,
    first: u32,
    turn: bool,
    label: &mut [u32],
) {
    if k <= 1 || atoms.len() <= 1 {
        for &a in atoms.iter() {
            label[a as usize] = first;
        }
        return;
    }
    let (k1, k2) = (k / 2, k - k / 2);
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for &a in atoms.iter() {
        x0 = x0.min(l.x[a as usize]);
        y0 = y0.min(l.y[a as usize]);
        x1 = x1.max(l.x[a as usize]);
        y1 = y1.max(l.y[a as usize]);
    }
    let across_x = (x1 - x0 >= y1 - y0) != turn;
    let key = |a: u32| {
        let (u, v) = (l.x[a as usize], l.y[a as usize]);
        if across_x {
            (u, v)
        } else {
            (v, u)
        }
    };
    atoms.sort_by(|&a, &b| {
        let (ka, kb) = (key(a), key(b));
        ka.0.total_cmp(&kb.0)
            .then(ka.1.total_cmp(&kb.1))
            .then(a.cmp(&b))
    });
    let total: f64 = atoms.iter().map(|&a| l.hh[a as usize]).sum();
    let want = total * k1 as f64 / k as f64;
    let (mut acc, mut cut, mut best) = (0.0, k1.min(atoms.len() - 1), f64::MAX);
    for (i, &a) in atoms.iter().enumerate() {
        if i >= k1 && atoms.len() - i >= k2 && (acc - want).abs() < best {
            best = (acc - want).abs();
            cut = i;
        }
        acc += l.hh[a as usize];
    }
    let (left, right) = atoms.split_at_mut(cut.max(1));
    bisect(l, left, k1, first, false, label);
    bisect(l, right, k2, first + k1 as u32, false, label);
}

/// Scores a labelling (lower is better) and counts its grids out of
/// range; with `mend`, first repairs the balance along chains of grids
/// and refines again.
pub(super) fn finish(
    l: &Local,
    comp: &[u32],
    spec: &LevelSpec,
    k: usize,
    mode: Mode,
    mut label: Vec<u32>,
    mend: bool,
) -> (f64, Vec<u32>, usize) {
    let mut load = vec![0.0; k];
    let mut size = vec![0usize; k];
    for &a in comp {
        load[label[a as usize] as usize] += l.hh[a as usize];
        size[label[a as usize] as usize] += 1;
    }
    if mend
        && load.iter().any(|&w| out_of_range(w, spec))
        && repair(l, comp, spec, &mut label, &mut load, &mut size)
    {
        refine(l, comp, spec, mode, &mut label, &mut load, &mut size);
    }
    let mut cut = 0.0;
    for &a in comp {
        for e in l.around(a) {
            if label[l.nbr[e] as usize] != label[a as usize] {
                cut += l.cut[e] / 2.0;
            }
        }
    }
    let mut tower = vec![[0.0; 3]; k];
    for &a in comp {
        let r = label[a as usize] as usize;
        tower[r] = plus(tower[r], towering(l.hh[a as usize], spec));
    }
    let score = load
        .iter()
        .zip(&tower)
        .map(|(&w, &t)| balance(w, spec) + unsplittable(w, t, spec))
        .sum::<f64>()
        + cut_weight(comp, k, mode) * cut
        - compact_weight(spec, mode.whole) * pp_sum(l, comp, k, &label);
    let out = load
        .iter()
        .filter(|&&w| w > 0.0 && out_of_range(w, spec))
        .count();
    (score, label, out)
}

/// Balanced growth: the lightest grid with somewhere to go takes its
/// cheapest frontier atom (with `whole`, that atom's whole block, unless
/// the block would push it past the maximum).
#[allow(clippy::too_many_arguments)]
pub(super) fn grow(
    l: &Local,
    spec: &LevelSpec,
    blocks: &Blocks,
    whole: bool,
    centres: &[(f64, f64)],
    step: f64,
    fronts: &mut [Front],
    label: &mut [u32],
    load: &mut [f64],
    size: &mut [usize],
) {
    let k = fronts.len();
    let mut turn: BinaryHeap<Reverse<(Cost, usize)>> =
        (0..k).map(|r| Reverse((Cost(load[r]), r))).collect();
    while let Some(Reverse((Cost(w), r))) = turn.pop() {
        if w.to_bits() != load[r].to_bits() {
            continue; // stale
        }
        let mut grew = false;
        while let Some(Reverse((_, a, Cost(pen)))) = fronts[r].pop() {
            if label[a as usize] != NONE {
                continue;
            }
            let b = blocks.of[a as usize] as usize;
            // A block bigger than a grid is taken atom by atom.
            let take: Vec<u32> = if whole && blocks.hh[b] <= spec.target {
                if load[r] > 0.0 && load[r] + blocks.hh[b] > spec.max {
                    continue;
                }
                blocks.members[b].clone()
            } else {
                vec![a]
            };
            for &t in &take {
                label[t as usize] = r as u32;
                load[r] += l.hh[t as usize];
                size[r] += 1;
            }
            for &t in &take {
                for e in l.around(t) {
                    let b = l.nbr[e];
                    if label[b as usize] == NONE {
                        // Straight distance to the seed (round grids) plus
                        // a toll for every road crossed on the way.
                        let np = pen + if l.road[e] { step } else { 0.0 };
                        let (cx, cy) = centres[r];
                        let nc = dist(l.x[b as usize] - cx, l.y[b as usize] - cy) + np;
                        fronts[r].push(Reverse((Cost(nc), b, Cost(np))));
                    }
                }
            }
            grew = true;
            break;
        }
        if grew {
            turn.push(Reverse((Cost(load[r]), r)));
        }
    }
}

/// Seeds spread evenly by households: atoms in Hilbert-curve order, cut
/// into `k` runs of equal households, each run's seed the atom nearest its
/// household-weighted centre. O(n log n), so a level-1 solve over a whole
/// city with hundreds of grids stays fast; the curve keeps runs compact.
/// The seed-point atoms of a piece, when its level is seeded.
pub(super) fn fixed_seeds(l: &Local, comp: &[u32], spec: &LevelSpec) -> Vec<u32> {
    if !spec.seeded {
        return Vec::new();
    }
    comp.iter()
        .copied()
        .filter(|&a| l.seed[a as usize])
        .collect()
}

pub(super) fn seeds(l: &Local, comp: &[u32], k: usize, rng: &mut Pcg64Mcg) -> Vec<u32> {
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for &i in comp {
        x0 = x0.min(l.x[i as usize]);
        y0 = y0.min(l.y[i as usize]);
        x1 = x1.max(l.x[i as usize]);
        y1 = y1.max(l.y[i as usize]);
    }
    let span = (x1 - x0).max(y1 - y0).max(1e-9);
    // Rotating the curve by a random quarter turn varies seeds with the seed.
    let turn = rng.random_range(0..4u8);
    let mut order: Vec<(u64, u32)> = comp
        .iter()
        .map(|&i| {
            let u = ((l.x[i as usize] - x0) / span * 65_535.0) as u32;
            let v = ((l.y[i as usize] - y0) / span * 65_535.0) as u32;
            let (u, v) = match turn {
                0 => (u, v),
                1 => (65_535 - v, u),
                2 => (65_535 - u, 65_535 - v),
                _ => (v, 65_535 - u),
            };
            (hilbert(u, v), i)
        })
        .collect();
    order.sort_unstable();
    let total: f64 = comp.iter().map(|&i| l.hh[i as usize] + 0.01).sum();
    let mut out = Vec::with_capacity(k);
    let mut run: Vec<u32> = Vec::new();
    let mut acc = 0.0;
    let mut next_cut = total / k as f64 * rng.random_range(0.5..1.0);
    for (j, &(_, i)) in order.iter().enumerate() {
        run.push(i);
        acc += l.hh[i as usize] + 0.01;
        let last = j + 1 == order.len();
        if (acc >= next_cut && out.len() + 1 < k) || last {
            let w: f64 = run.iter().map(|&a| l.hh[a as usize] + 0.01).sum();
            let cx = run
                .iter()
                .map(|&a| l.x[a as usize] * (l.hh[a as usize] + 0.01))
                .sum::<f64>()
                / w;
            let cy = run
                .iter()
                .map(|&a| l.y[a as usize] * (l.hh[a as usize] + 0.01))
                .sum::<f64>()
                / w;
            let best = run
                .iter()
                .copied()
                .min_by(|a, b| {
                    let da = dist(l.x[*a as usize] - cx, l.y[*a as usize] - cy);
                    let db = dist(l.x[*b as usize] - cx, l.y[*b as usize] - cy);
                    da.total_cmp(&db)
                })
                .unwrap_or(i);
            out.push(best);
            run.clear();
            next_cut += total / k as f64;
        }
    }
    out
}

/// Position along a Hilbert curve of order 16.
pub(super) fn hilbert(mut x: u32, mut y: u32) -> u64 {
    let mut d: u64 = 0;
    let mut s: u32 = 1 << 15;
    while s > 0 {
        let rx = u32::from(x & s > 0);
        let ry = u32::from(y & s > 0);
        d += u64::from(s) * u64::from(s) * u64::from((3 * rx) ^ ry);
        if ry == 0 {
            if rx == 1 {
                x = s.wrapping_mul(2).wrapping_sub(1).wrapping_sub(x) & 0xFFFF;
                y = s.wrapping_mul(2).wrapping_sub(1).wrapping_sub(y) & 0xFFFF;
            }
            std::mem::swap(&mut x, &mut y);
        }
        s >>= 1;
    }
    d
}
