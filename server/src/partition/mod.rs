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
