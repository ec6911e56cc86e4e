//! Pairs of neighbouring grids re-solved together where one of them is
//! not compact: bisection and refinement compete with the pair as it is.

use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;

use super::super::LevelSpec;
use super::grow::{attempt, attempt_bisect};
use super::objective::{balance, cut_weight, out_of_range, plus, pp, towering, unsplittable};
use super::{
    blocks, Cost, Local, Mode, NONE, OUTSIDE, PAIR_PP_WEIGHT, RESPLIT_BELOW, RESPLIT_SEEDINGS,
};

/// Objective of two grids `f` and `t` over their atoms `u`: balance,
/// next-level splittability, the cut between them and their shape.
#[allow(clippy::too_many_arguments, clippy::many_single_char_names)]
pub(super) fn pair_cost(
    l: &Local,
    spec: &LevelSpec,
    lambda: f64,
    nu: f64,
    u: &[u32],
    label: &[u32],
    f: u32,
    t: u32,
) -> (usize, Cost) {
    let mut load = [0.0; 2];
    let mut heavy = [[0.0; 3]; 2];
    let (mut area, mut per) = ([0.0; 2], [0.0; 2]);
    let mut cut = 0.0;
    for &a in u {
        let r = usize::from(label[a as usize] == t);
        load[r] += l.hh[a as usize];
        heavy[r] = plus(heavy[r], towering(l.hh[a as usize], spec));
        area[r] += l.area[a as usize];
        per[r] += l.perim[a as usize];
        for e in l.around(a) {
            let b = label[l.nbr[e] as usize];
            if b == label[a as usize] {
                per[r] -= l.len[e];
            } else if b == f || b == t {
                cut += l.cut[e] / 2.0;
            }
        }
    }
    let outs = load.iter().filter(|&&w| out_of_range(w, spec)).count();
    let cost = (0..2)
        .map(|r| {
            balance(load[r], spec) + unsplittable(load[r], heavy[r], spec)
                - nu * pp(area[r], per[r])
        })
        .sum::<f64>()
        + lambda * cut;
    (outs, Cost(cost))
}

/// Re-solves pairs of neighbouring grids, the least compact first: their
/// union is cut in two by bisection and refined, and the new pair is kept
/// when it scores better (the local search of PUNCH, with shape).
#[allow(clippy::too_many_arguments)]
pub(super) fn resplit(
    l: &Local,
    comp: &[u32],
    spec: &LevelSpec,
    k: usize,
    mode: Mode,
    label: &mut [u32],
    rng: &mut Pcg64Mcg,
    threads: usize,
) {
    let lambda = cut_weight(comp, k, mode);
    let mut members: Vec<Vec<u32>> = vec![Vec::new(); k];
    for &a in comp {
        members[label[a as usize] as usize].push(a);
    }
    let pairs = weak_pairs(l, comp, label, &members);
    // Rounds of pairs with no grid in common, solved side by side (each
    // pair reads only its own atoms), then applied in order.
    let base: u64 = rng.random();
    let threads = threads.max(1);
    let mut pending = pairs;
    while !pending.is_empty() {
        let (round, rest) = next_round(pending, k);
        let pair = |f: u32, t: u32, map: &mut Vec<u32>| {
            let seed =
                base ^ (u64::from(f) << 32 | u64::from(t)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            resplit_pair(l, spec, lambda, mode, &members, label, f, t, map, seed)
        };
        let found: Vec<Option<Vec<u32>>> = if threads > 1 && round.len() > 1 {
            let chunk = round.len().div_ceil(threads);
            std::thread::scope(|s| {
                let hs: Vec<_> = round
                    .chunks(chunk)
                    .map(|c| {
                        s.spawn(move || {
                            let mut map = vec![NONE; l.atoms.len()];
                            c.iter()
                                .map(|&(f, t)| pair(f, t, &mut map))
                                .collect::<Vec<_>>()
                        })
                    })
                    .collect();
                hs.into_iter()
                    .flat_map(|h| h.join().expect("resplit thread"))
                    .collect()
            })
        } else {
            let mut map = vec![NONE; l.atoms.len()];
            round.iter().map(|&(f, t)| pair(f, t, &mut map)).collect()
        };
        for (&(f, t), cand) in round.iter().zip(found) {
            let Some(cand) = cand else { continue };
            let u: Vec<u32> = members[f as usize]
                .iter()
                .chain(&members[t as usize])
                .copied()
                .collect();
            members[f as usize].clear();
            members[t as usize].clear();
            for (i, &a) in u.iter().enumerate() {
                let r = if cand[i] == 0 { f } else { t };
                label[a as usize] = r;
                members[r as usize].push(a);
            }
        }
        pending = rest;
    }
}

/// Pairs of neighbouring grids one of which is less compact than
/// [`RESPLIT_BELOW`], the least compact pairs first.
fn weak_pairs(l: &Local, comp: &[u32], label: &[u32], members: &[Vec<u32>]) -> Vec<(u32, u32)> {
    let shape = |m: &[u32], label: &[u32]| {
        let (mut area, mut per) = (0.0, 0.0);
        for &a in m {
            area += l.area[a as usize];
            per += l.perim[a as usize];
            for e in l.around(a) {
                if label[l.nbr[e] as usize] == label[a as usize] {
                    per -= l.len[e];
                }
            }
        }
        pp(area, per)
    };
    let score: Vec<f64> = members.iter().map(|m| shape(m, label)).collect();
    let mut pairs: Vec<(u32, u32)> = Vec::new();
    for &a in comp {
        for e in l.around(a) {
            let (r, t) = (label[a as usize], label[l.nbr[e] as usize]);
            if r < t && t != OUTSIDE {
                pairs.push((r, t));
            }
        }
    }
    pairs.sort_unstable();
    pairs.dedup();
    pairs.retain(|&(r, t)| score[r as usize].min(score[t as usize]) < RESPLIT_BELOW);
    pairs.sort_by(|x, y| {
        let sx = score[x.0 as usize] + score[x.1 as usize];
        let sy = score[y.0 as usize] + score[y.1 as usize];
        sx.total_cmp(&sy).then(x.cmp(y))
    });
    pairs
}

/// The next round: pairs in order that share no grid with an earlier one
/// of the round; the rest wait.
#[allow(clippy::type_complexity)]
fn next_round(pending: Vec<(u32, u32)>, k: usize) -> (Vec<(u32, u32)>, Vec<(u32, u32)>) {
    let mut used = vec![false; k];
    let (mut round, mut rest) = (Vec::new(), Vec::new());
    for (f, t) in pending {
        if used[f as usize] || used[t as usize] {
            rest.push((f, t));
        } else {
            used[f as usize] = true;
            used[t as usize] = true;
            round.push((f, t));
        }
    }
    (round, rest)
}

/// Re-solves one pair: the labels (0 for `f`, 1 for `t`) of the atoms of
/// `f` then `t`, when better than now.
#[allow(clippy::too_many_arguments, clippy::many_single_char_names)]
pub(super) fn resplit_pair(
    l: &Local,
    spec: &LevelSpec,
    lambda: f64,
    mode: Mode,
    members: &[Vec<u32>],
    label: &[u32],
    f: u32,
    t: u32,
    map: &mut [u32],
    seed: u64,
) -> Option<Vec<u32>> {
    // Earlier re-splits may have parted them.
    let touch = members[f as usize]
        .iter()
        .any(|&a| l.around(a).any(|e| label[l.nbr[e] as usize] == t));
    if !touch {
        return None;
    }
    let u: Vec<u32> = members[f as usize]
        .iter()
        .chain(&members[t as usize])
        .copied()
        .collect();
    // The pair on its own: grid 0 stands for `f`, grid 1 for `t`.
    let sl = sub_local(l, &u, map);
    let all: Vec<u32> = (0..u.len() as u32).collect();
    let now: Vec<u32> = u
        .iter()
        .map(|&a| u32::from(label[a as usize] == t))
        .collect();
    let nu = PAIR_PP_WEIGHT;
    let old = pair_cost(&sl, spec, lambda, nu, &all, &now, 0, 1);
    let ub = blocks(&sl, &all);
    let mut rng = Pcg64Mcg::seed_from_u64(seed);
    let mut best: Option<((usize, Cost), Vec<u32>)> = None;
    for turn in 0..2 + RESPLIT_SEEDINGS {
        let cand = if turn < 2 {
            attempt_bisect(&sl, &all, spec, 2, &ub, mode, turn == 1)
        } else {
            attempt(&sl, &all, spec, 2, &ub, mode, &mut rng)
        };
        let c = pair_cost(&sl, spec, lambda, nu, &all, &cand, 0, 1);
        if best.as_ref().is_none_or(|b| c < b.0) {
            best = Some((c, cand));
        }
    }
    let (c, cand) = best?;
    (c.0 < old.0 || (c.0 == old.0 && c.1 .0 < old.1 .0 - 1e-9)).then_some(cand)
}

/// The graph of the atoms `u` alone (ids are positions in `u`); `map` is
/// all `NONE` before and after.
pub(super) fn sub_local(l: &Local, u: &[u32], map: &mut [u32]) -> Local {
    for (i, &a) in u.iter().enumerate() {
        map[a as usize] = i as u32;
    }
    let mut start = Vec::with_capacity(u.len() + 1);
    start.push(0);
    let (mut nbr, mut cut, mut len, mut road) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for &a in u {
        for e in l.around(a) {
            let b = map[l.nbr[e] as usize];
            if b != NONE {
                nbr.push(b);
                cut.push(l.cut[e]);
                len.push(l.len[e]);
                road.push(l.road[e]);
            }
        }
        start.push(nbr.len());
    }
    for &a in u {
        map[a as usize] = NONE;
    }
    let pick = |v: &[f64]| u.iter().map(|&a| v[a as usize]).collect::<Vec<f64>>();
    Local {
        atoms: u.to_vec(),
        hh: pick(&l.hh),
        x: pick(&l.x),
        y: pick(&l.y),
        start,
        nbr,
        cut,
        len,
        road,
        area: pick(&l.area),
        perim: pick(&l.perim),
        seed: u.iter().map(|&a| l.seed[a as usize]).collect(),
    }
}

/// Fewer grids out of range first, then the lower score.
pub(super) fn better(a: &(f64, Vec<u32>, usize), b: &(f64, Vec<u32>, usize)) -> bool {
    (a.2, Cost(a.0)) < (b.2, Cost(b.0))
}
