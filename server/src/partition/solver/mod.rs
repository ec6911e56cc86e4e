//! One parent grid split into children: seeds spread along a Hilbert
//! curve, balanced region growing (the lightest region grows next, along
//! the cheapest path from its seed, where crossing a road costs more), then
//! boundary refinement that trades balance against cut length (cutting
//! along a road is cheap) and shape, and never disconnects a grid. Grids
//! left out of range are repaired along chains of neighbouring grids; where
//! grids take whole blocks, pairs of neighbours are re-solved together; a
//! tight range also starts from recursive bisection.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;

use super::{AtomGraph, LevelSpec, Options};

mod grow;
mod objective;
mod refine;
mod repair;
mod resplit;
#[cfg(test)]
mod tests;

use grow::{attempt, attempt_bisect, finish, fixed_seeds};
use objective::mean_cut;
use resplit::{better, resplit};

const NONE: u32 = u32::MAX;
/// Atoms of the parent that are not in the piece being solved.
const OUTSIDE: u32 = u32::MAX - 1;
/// Growing across a road costs this many times growing within a block.
/// A frontier: (cost, atom, road tolls paid to reach it).
type Front = BinaryHeap<Reverse<(Cost, u32, Cost)>>;
/// Road toll in half-widths of a grid.
const ROAD_STEP: f64 = 0.5;
/// Weight of compactness against cut length in refinement.
const COMPACTNESS: f64 = 0.1;
const REFINE_PASSES: usize = 30;
/// In a tight range, grids aim for this share of the room on either side
/// of the target.
const INNER: f64 = 0.5;
/// Weight of the grids' summed Polsby-Popper scores (tight ranges).
const PP_WEIGHT: f64 = 1.0;
/// The same where grids take whole blocks: there only the leftovers of
/// split blocks are shaped, and a road boundary costs little.
const PP_WEIGHT_WHOLE: f64 = 10.0;
/// Pairs of grids are re-solved when one of them has a Polsby-Popper
/// score below this; the pair objective weighs the two scores by
/// `PAIR_PP_WEIGHT`; two bisections and this many seedings compete.
const RESPLIT_BELOW: f64 = 0.65;
const PAIR_PP_WEIGHT: f64 = 1.0;
const RESPLIT_SEEDINGS: usize = 2;
/// Seedings tried for a parent of up to 4,000 atoms.
const RESTARTS: usize = 6;

/// Per-thread buffers the size of the whole graph, reused across parents.
pub struct Scratch {
    local: Vec<u32>,
}

impl Scratch {
    pub fn new(n: usize) -> Self {
        Self {
            local: vec![NONE; n],
        }
    }
}

/// The parent's own graph, in local ids.
struct Local {
    atoms: Vec<u32>,
    hh: Vec<f64>,
    x: Vec<f64>,
    y: Vec<f64>,
    start: Vec<usize>,
    nbr: Vec<u32>,
    /// Cut cost of the shared boundary (road: discounted).
    cut: Vec<f64>,
    /// Length of the shared boundary.
    len: Vec<f64>,
    road: Vec<bool>,
    area: Vec<f64>,
    /// The atom's whole boundary (outer and towards every neighbour).
    perim: Vec<f64>,
    /// The atom holds a seed point.
    seed: Vec<bool>,
}

impl Local {
    fn around(&self, i: u32) -> std::ops::Range<usize> {
        self.start[i as usize]..self.start[i as usize + 1]
    }
}

/// Splits `atoms` (one parent) into groups of global atom ids.
pub fn solve_parent(
    g: &AtomGraph,
    atoms: &[u32],
    spec: &LevelSpec,
    opts: &Options,
    seed: u64,
    scratch: &mut Scratch,
) -> Vec<Vec<u32>> {
    for (i, &a) in atoms.iter().enumerate() {
        scratch.local[a as usize] = i as u32;
    }
    let mut start = vec![0usize; atoms.len() + 1];
    let (mut nbr, mut cut, mut len, mut road) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut perim = Vec::with_capacity(atoms.len());
    // In a tight range roads matter less than shape: halfway to no discount.
    let discount = if narrow(spec) {
        f64::midpoint(opts.road_discount, 1.0)
    } else {
        opts.road_discount
    };
    for (i, &a) in atoms.iter().enumerate() {
        let mut p = g.outer[a as usize];
        for k in g.around(a) {
            p += g.len[k];
            let b = scratch.local[g.nbr[k] as usize];
            if b != NONE {
                nbr.push(b);
                cut.push(g.len[k] * if g.road[k] { discount } else { 1.0 } * g.weight[k]);
                len.push(g.len[k]);
                road.push(g.road[k]);
            }
        }
        perim.push(p);
        start[i + 1] = nbr.len();
    }
    for &a in atoms {
        scratch.local[a as usize] = NONE;
    }
    let l = Local {
        atoms: atoms.to_vec(),
        hh: atoms
            .iter()
            .map(|&a| f64::from(g.households[a as usize]))
            .collect(),
        x: atoms.iter().map(|&a| g.x[a as usize]).collect(),
        y: atoms.iter().map(|&a| g.y[a as usize]).collect(),
        start,
        nbr,
        cut,
        len,
        road,
        area: atoms.iter().map(|&a| g.area[a as usize]).collect(),
        perim,
        seed: atoms
            .iter()
            .map(|&a| g.seed.get(a as usize).copied().unwrap_or(false))
            .collect(),
    };
    let mut rng = Pcg64Mcg::seed_from_u64(seed);
    let mut out = Vec::new();
    for comp in components(&l) {
        for grp in solve_component(&l, &comp, spec, &mut rng, opts.threads) {
            out.push(grp.into_iter().map(|i| l.atoms[i as usize]).collect());
        }
    }
    out
}

/// Connected pieces of the parent (a multi-part region, islands).
fn components(l: &Local) -> Vec<Vec<u32>> {
    let all: Vec<u32> = (0..l.atoms.len() as u32).collect();
    flood(l, &all, |_| true)
}

/// Connected pieces of `atoms`, joined only across the edges `edge_ok`
/// accepts; each piece in breadth-first order from its first atom.
#[allow(clippy::many_single_char_names)]
fn flood(l: &Local, atoms: &[u32], edge_ok: impl Fn(usize) -> bool) -> Vec<Vec<u32>> {
    const OUT: u8 = 0;
    const IN: u8 = 1;
    const SEEN: u8 = 2;
    let mut state = vec![OUT; l.atoms.len()];
    for &a in atoms {
        state[a as usize] = IN;
    }
    let mut out = Vec::new();
    for &s in atoms {
        if state[s as usize] != IN {
            continue;
        }
        state[s as usize] = SEEN;
        let mut p = vec![s];
        let mut i = 0;
        while i < p.len() {
            let u = p[i];
            for e in l.around(u) {
                let v = l.nbr[e];
                if edge_ok(e) && state[v as usize] == IN {
                    state[v as usize] = SEEN;
                    p.push(v);
                }
            }
            i += 1;
        }
        out.push(p);
    }
    out
}

/// Connected pieces of a subset of atoms.
fn pieces(l: &Local, atoms: &[u32]) -> Vec<Vec<u32>> {
    flood(l, atoms, |_| true)
}

/// A range too tight for whole blocks: balance and shape come first.
fn narrow(spec: &LevelSpec) -> bool {
    (spec.max - spec.min) / spec.target < 0.2
}

/// How many children: as near the target as the range allows.
fn child_count(h: f64, spec: &LevelSpec) -> usize {
    if let Some(k) = spec.k {
        return k.max(1);
    }
    let lo = (h / spec.max).ceil().max(1.0);
    let hi = (h / spec.min).floor().max(lo);
    (h / spec.target).round().clamp(lo, hi) as usize
}

#[derive(Clone, Copy, PartialEq)]
struct Cost(f64);
impl Eq for Cost {}
impl Ord for Cost {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&o.0)
    }
}
impl PartialOrd for Cost {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}

/// `threads` may serve a component large enough to be worth sharing.
fn solve_component(
    l: &Local,
    comp: &[u32],
    spec: &LevelSpec,
    rng: &mut Pcg64Mcg,
    threads: usize,
) -> Vec<Vec<u32>> {
    if let Some(out) = towers_apart(l, comp, spec, rng, threads) {
        return out;
    }
    let h: f64 = comp.iter().map(|&i| l.hh[i as usize]).sum();
    // Seed points fix the count and where growth starts.
    let fixed = fixed_seeds(l, comp, spec);
    let k = if fixed.is_empty() {
        child_count(h, spec)
    } else {
        fixed.len()
    };
    if k <= 1 || comp.len() <= 1 {
        return vec![comp.to_vec()];
    }
    let k = k.min(comp.len());
    // Blocks (atoms joined without crossing a road) much smaller than a
    // grid are taken whole first, so most boundaries run along roads.
    let blocks = blocks(l, comp);
    // A tight range leaves no room for whole blocks: then atom by atom.
    let whole = blocks.members.len() >= k
        && h / (blocks.members.len() as f64) <= spec.target * 0.6
        && !narrow(spec);
    let mode = Mode {
        whole,
        spacing: spacing(l, comp),
        mean_cut: mean_cut(l, comp),
    };
    let spec = &aim(spec);
    // Small parents are cheap: try several seedings, keep the best.
    let restarts = match comp.len() {
        _ if !fixed.is_empty() => 1,
        0..=300 => RESTARTS * 3,
        301..=4_000 => RESTARTS,
        _ => 1,
    };
    let search = Search {
        l,
        comp,
        spec,
        blocks: &blocks,
    };
    let mut best = search.seedings(k, mode, restarts, rng);
    // Still out of range: one grid fewer or more may fit the households
    // (towers make some counts impossible).
    let (mut k, mut mode) = (k, mode);
    if spec.k.is_none()
        && fixed.is_empty()
        && restarts > 1
        && best.as_ref().is_some_and(|b| b.2 > 0)
    {
        (k, mode) = search.other_counts(k, mode, restarts, &mut best, rng);
    }
    let mut label = best.map(|b| b.1).unwrap_or_default();
    // Where grids take whole blocks, re-solve the least compact pairs
    // (not when seed points say where grids are).
    if mode.whole && k >= 2 && fixed.is_empty() {
        // Only a component much larger than a grid is worth sharing out.
        let threads = if comp.len() >= 20_000 { threads } else { 1 };
        resplit(l, comp, spec, k, mode, &mut label, rng, threads);
    }
    let mut groups: Vec<Vec<u32>> = vec![Vec::new(); k];
    for &a in comp {
        groups[label[a as usize] as usize].push(a);
    }
    groups.retain(|g| !g.is_empty());
    groups
}

/// An atom heavier than the maximum is a grid of its own; the rest may
/// fall apart without it, and each piece is solved on its own. `None`
/// when the component holds no such atom (or is one atom).
fn towers_apart(
    l: &Local,
    comp: &[u32],
    spec: &LevelSpec,
    rng: &mut Pcg64Mcg,
    threads: usize,
) -> Option<Vec<Vec<u32>>> {
    if !(comp.len() > 1 && comp.iter().any(|&i| l.hh[i as usize] > spec.max)) {
        return None;
    }
    let mut out: Vec<Vec<u32>> = Vec::new();
    let mut rest = Vec::new();
    for &i in comp {
        if l.hh[i as usize] > spec.max {
            out.push(vec![i]);
        } else {
            rest.push(i);
        }
    }
    for piece in pieces(l, &rest) {
        out.extend(solve_component(l, &piece, spec, rng, threads));
    }
    Some(out)
}

/// In a tight range, aim for its inner part: every grid near the target.
fn aim(spec: &LevelSpec) -> LevelSpec {
    if narrow(spec) {
        let t = INNER;
        LevelSpec {
            min: spec.target - t * (spec.target - spec.min),
            max: spec.target + t * (spec.max - spec.target),
            ..*spec
        }
    } else {
        *spec
    }
}

/// A scored labelling: (score, labels, grids out of range).
type Candidate = (f64, Vec<u32>, usize);

/// What every seeding of one component shares.
struct Search<'a> {
    l: &'a Local,
    comp: &'a [u32],
    spec: &'a LevelSpec,
    blocks: &'a Blocks,
}

impl Search<'_> {
    /// Keeps `cand` when it beats `best`; says whether it did.
    fn keep(best: &mut Option<Candidate>, cand: Candidate) -> bool {
        if best.as_ref().is_none_or(|b| better(&cand, b)) {
            *best = Some(cand);
            true
        } else {
            false
        }
    }

    /// The best of `restarts` seedings of `k` grids (and, in a tight
    /// range, of two bisections), its balance repaired when out of range.
    fn seedings(
        &self,
        k: usize,
        mode: Mode,
        restarts: usize,
        rng: &mut Pcg64Mcg,
    ) -> Option<Candidate> {
        let (l, comp, spec) = (self.l, self.comp, self.spec);
        let mut best: Option<Candidate> = None;
        // There, near-rectangles from bisection compete with the seedings.
        if narrow(spec) {
            for turn in [false, true] {
                let label = attempt_bisect(l, comp, spec, k, self.blocks, mode, turn);
                Self::keep(&mut best, finish(l, comp, spec, k, mode, label, false));
            }
        }
        for _ in 0..restarts {
            let label = attempt(l, comp, spec, k, self.blocks, mode, rng);
            Self::keep(&mut best, finish(l, comp, spec, k, mode, label, false));
        }
        // Grids out of range: repair the balance along chains of grids.
        best.map(|b| {
            if b.2 > 0 {
                finish(l, comp, spec, k, mode, b.1, true)
            } else {
                b
            }
        })
    }

    /// Tries one grid fewer and one more than `k`; returns the count and
    /// mode of the labelling now in `best`.
    fn other_counts(
        &self,
        k: usize,
        mode: Mode,
        restarts: usize,
        best: &mut Option<Candidate>,
        rng: &mut Pcg64Mcg,
    ) -> (usize, Mode) {
        let (l, comp, spec) = (self.l, self.comp, self.spec);
        let whole = mode.whole;
        let (mut k_best, mut mode_best) = (k, mode);
        for k2 in [k - 1, k + 1] {
            if k2 == 0 || k2 > comp.len() {
                continue;
            }
            let mode2 = Mode {
                whole: self.blocks.members.len() >= k2 && whole,
                ..mode
            };
            for _ in 0..restarts.div_ceil(2) {
                let label = attempt(l, comp, spec, k2, self.blocks, mode2, rng);
                if Self::keep(best, finish(l, comp, spec, k2, mode2, label, true)) {
                    (k_best, mode_best) = (k2, mode2);
                }
            }
        }
        (k_best, mode_best)
    }
}

/// Length of the vector `(dx, dy)` (plain: no overflow guard is needed).
fn dist(dx: f64, dy: f64) -> f64 {
    (dx * dx + dy * dy).sqrt()
}

/// What a component's solve keeps fixed across seedings.
#[derive(Clone, Copy)]
struct Mode {
    /// Grids take small blocks whole.
    whole: bool,
    /// Mean distance between neighbouring atoms.
    spacing: f64,
    /// Mean cut cost of an edge.
    mean_cut: f64,
}

/// Mean distance between neighbouring atoms (a sample).
fn spacing(l: &Local, comp: &[u32]) -> f64 {
    let (mut s, mut n) = (0.0, 0.0);
    for &a in comp.iter().take(2_000) {
        for e in l.around(a) {
            let b = l.nbr[e] as usize;
            s += dist(l.x[a as usize] - l.x[b], l.y[a as usize] - l.y[b]);
            n += 1.0;
        }
    }
    if n > 0.0 {
        s / n
    } else {
        1.0
    }
}

/// Blocks of a component: pieces joined without crossing a road.
struct Blocks {
    of: Vec<u32>,
    members: Vec<Vec<u32>>,
    hh: Vec<f64>,
}

fn blocks(l: &Local, comp: &[u32]) -> Blocks {
    let members = flood(l, comp, |e| !l.road[e]);
    let mut of = vec![NONE; l.atoms.len()];
    for (b, m) in members.iter().enumerate() {
        for &a in m {
            of[a as usize] = b as u32;
        }
    }
    let hh = members
        .iter()
        .map(|m| m.iter().map(|&a| l.hh[a as usize]).sum())
        .collect();
    Blocks { of, members, hh }
}
