//! Nested grid plans: label atoms with level-1, level-2 and level-3 grids
//! so that every grid is one connected piece inside one parent, its
//! household count lies in the policy range, its shape is compact and its
//! boundary follows roads where it can.
//!
//! The solver works on an [`AtomGraph`] (atoms with households, centroids,
//! areas, and shared boundaries marked road or not), level by level; each
//! parent grid is solved on its own ([`solver`]). Atoms from real geometry
//! and plan storage build on this; `wangge bench-partition` speaks the
//! shared benchmark's instance format.

pub mod atoms;
pub mod plan;
pub mod solver;

use serde::{Deserialize, Serialize};

/// Households per grid at one level.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LevelSpec {
    pub target: f64,
    pub min: f64,
    pub max: f64,
    /// A fixed number of grids per parent, when the caller sets one.
    #[serde(default)]
    pub k: Option<usize>,
    /// The next level's (min, max), set by [`solve`]: a grid whose
    /// households outside atoms heavier than that max (which will stand
    /// alone) number fewer than that min cannot be split in range.
    #[serde(skip)]
    pub below: Option<(f64, f64)>,
    /// Grow this level's grids from the atoms marked in
    /// [`AtomGraph::seed`]: one grid per seed in each connected piece that
    /// holds any.
    #[serde(skip)]
    pub seeded: bool,
}

/// The atoms and who borders whom (compressed adjacency).
#[derive(Debug, Clone, Default)]
pub struct AtomGraph {
    pub households: Vec<u32>,
    pub x: Vec<f64>,
    pub y: Vec<f64>,
    pub area: Vec<f64>,
    /// Boundary length on the region's border.
    pub outer: Vec<f64>,
    /// `start[i]..start[i + 1]` indexes atom `i`'s neighbours.
    pub start: Vec<usize>,
    pub nbr: Vec<u32>,
    /// Shared boundary length with that neighbour.
    pub len: Vec<f64>,
    /// The shared boundary runs along a road or river.
    pub road: Vec<bool>,
    /// Multiplier of the cost of cutting there (1 unless set per kind of
    /// line: below 1 where a boundary is wanted most).
    pub weight: Vec<f64>,
    /// Atoms holding a seed point (see [`LevelSpec::seeded`]).
    pub seed: Vec<bool>,
}

impl AtomGraph {
    /// Builds the adjacency from an edge list (each edge once).
    #[allow(clippy::many_single_char_names)]
    pub fn new(
        households: Vec<u32>,
        x: Vec<f64>,
        y: Vec<f64>,
        area: Vec<f64>,
        outer: Vec<f64>,
        edges: &[(u32, u32, f64, bool)],
    ) -> Self {
        let n = households.len();
        let mut deg = vec![0usize; n + 1];
        for &(a, b, _, _) in edges {
            deg[a as usize] += 1;
            deg[b as usize] += 1;
        }
        let mut start = vec![0usize; n + 1];
        for i in 0..n {
            start[i + 1] = start[i] + deg[i];
        }
        let m = start[n];
        let mut fill = start.clone();
        let (mut nbr, mut len, mut road) = (vec![0u32; m], vec![0.0; m], vec![false; m]);
        for &(a, b, l, r) in edges {
            for (u, v) in [(a, b), (b, a)] {
                let k = fill[u as usize];
                fill[u as usize] += 1;
                nbr[k] = v;
                len[k] = l;
                road[k] = r;
            }
        }
        Self {
            households,
            x,
            y,
            area,
            outer,
            start,
            nbr,
            len,
            road,
            weight: vec![1.0; m],
            seed: vec![false; n],
        }
    }

    pub fn len(&self) -> usize {
        self.households.len()
    }

    pub fn is_empty(&self) -> bool {
        self.households.is_empty()
    }

    /// Neighbour positions of atom `i` (indexes into `nbr`, `len`, `road`).
    pub fn around(&self, i: u32) -> std::ops::Range<usize> {
        self.start[i as usize]..self.start[i as usize + 1]
    }

    /// The graph with atoms drawn together: atom `i` becomes node `of[i]`
    /// (ids `0..m`, each node's atoms connected). A node sums households,
    /// areas and outer boundary, sits at the area-weighted centroid and
    /// borders a neighbour along the sum of its atoms' shared lengths, a
    /// road where most of that length is, at their length-weighted cost.
    pub fn contract(&self, of: &[u32]) -> Self {
        use std::collections::BTreeMap;
        let m = of.iter().max().map_or(0, |&x| x as usize + 1);
        let mut households = vec![0u32; m];
        let (mut x, mut y, mut area, mut mass) =
            (vec![0.0; m], vec![0.0; m], vec![0.0; m], vec![0.0; m]);
        let mut outer = vec![0.0; m];
        let mut seed = vec![false; m];
        for i in 0..self.len() {
            let j = of[i] as usize;
            // A weight for the centroid even where an atom has no area.
            let w = self.area[i].max(1e-9);
            households[j] += self.households[i];
            x[j] += self.x[i] * w;
            y[j] += self.y[i] * w;
            mass[j] += w;
            area[j] += self.area[i];
            outer[j] += self.outer[i];
            seed[j] |= self.seed[i];
        }
        for j in 0..m {
            x[j] /= mass[j];
            y[j] /= mass[j];
        }
        // (length, of which along a road, length × cost) per node pair.
        let mut shared: BTreeMap<(u32, u32), (f64, f64, f64)> = BTreeMap::new();
        for a in 0..self.len() as u32 {
            for k in self.around(a) {
                let b = self.nbr[k];
                let (ja, jb) = (of[a as usize], of[b as usize]);
                if a > b || ja == jb {
                    continue;
                }
                let e = shared.entry((ja.min(jb), ja.max(jb))).or_default();
                e.0 += self.len[k];
                if self.road[k] {
                    e.1 += self.len[k];
                }
                e.2 += self.len[k] * self.weight[k];
            }
        }
        let edges: Vec<(u32, u32, f64, bool)> = shared
            .iter()
            .map(|(&(a, b), &(l, r, _))| (a, b, l, 2.0 * r >= l))
            .collect();
        let mut g = Self::new(households, x, y, area, outer, &edges);
        for a in 0..g.len() as u32 {
            for k in g.around(a) {
                let b = g.nbr[k];
                let (l, _, c) = shared[&(a.min(b), a.max(b))];
                g.weight[k] = if l > 0.0 { c / l } else { 1.0 };
            }
        }
        g.seed = seed;
        g
    }
}

/// Knobs of the solver.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// How much cheaper cutting along a road is than cutting through a block.
    pub road_discount: f64,
    /// Seed of the deterministic random choices.
    pub seed: u64,
    /// Threads for the parents of a level.
    pub threads: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            road_discount: 0.15,
            seed: 1,
            threads: std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
        }
    }
}

/// Solves every level; `labels[l][atom]` is the atom's grid at level `l`,
/// numbered from 0 per level.
pub fn solve(g: &AtomGraph, levels: &[LevelSpec], opts: &Options) -> Vec<Vec<u32>> {
    let mut parents: Vec<Vec<u32>> = vec![(0..g.len() as u32).collect()];
    let mut out = Vec::new();
    for (i, spec) in levels.iter().enumerate() {
        let spec = LevelSpec {
            below: levels.get(i + 1).map(|n| (n.min, n.max)),
            ..*spec
        };
        let groups = solve_parents(g, &parents, &spec, opts);
        let mut labels = vec![0u32; g.len()];
        for (k, grp) in groups.iter().enumerate() {
            for &a in grp {
                labels[a as usize] = k as u32;
            }
        }
        out.push(labels);
        parents = groups;
    }
    out
}

/// Each parent on its own, parents shared among threads.
fn solve_parents(
    g: &AtomGraph,
    parents: &[Vec<u32>],
    spec: &LevelSpec,
    opts: &Options,
) -> Vec<Vec<u32>> {
    let threads = opts.threads.max(1).min(parents.len().max(1));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut results: Vec<(usize, Vec<Vec<u32>>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    let mut scratch = solver::Scratch::new(g.len());
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if i >= parents.len() {
                            break;
                        }
                        let seed = opts.seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                        mine.push((
                            i,
                            solver::solve_parent(g, &parents[i], spec, opts, seed, &mut scratch),
                        ));
                    }
                    mine
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("solver thread"))
            .collect()
    });
    results.sort_by_key(|r| r.0);
    results.into_iter().flat_map(|r| r.1).collect()
}

#[cfg(test)]
mod tests {
    use super::AtomGraph;

    #[test]
    fn contracting_keeps_households_area_and_shared_lengths() {
        // A path a – b – c – d; b and c become one node.
        let g = AtomGraph::new(
            vec![3, 0, 0, 5],
            vec![0.0, 1.0, 2.0, 3.0],
            vec![0.0; 4],
            vec![1.0, 2.0, 2.0, 1.0],
            vec![1.0, 0.5, 0.5, 1.0],
            &[(0, 1, 10.0, true), (1, 2, 7.0, false), (2, 3, 4.0, false)],
        );
        let c = g.contract(&[0, 1, 1, 2]);
        assert_eq!(c.households, vec![3, 0, 5]);
        assert_eq!(c.area, vec![1.0, 4.0, 1.0]);
        assert_eq!(c.outer, vec![1.0, 1.0, 1.0]);
        assert!((c.x[1] - 1.5).abs() < 1e-9);
        // The inner boundary (7 m) is gone; the outer ones stay as they were.
        let lens: Vec<(u32, f64, bool)> = c
            .around(1)
            .map(|k| (c.nbr[k], c.len[k], c.road[k]))
            .collect();
        assert_eq!(lens, vec![(0, 10.0, true), (2, 4.0, false)]);
    }
}
