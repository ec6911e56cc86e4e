//! A region's plan from the ground it covers: atoms, the nested solve,
//! codes in reading order, each grid's geometry (the union of its atoms)
//! and its figures.
//!
//! Pure: the caller loads the ground and stores the outcome.

mod circle;
mod evaluate;
#[cfg(test)]
pub(crate) mod fixture;
mod ground;
mod ledger;
mod no_homes;
mod numbering;
mod resolve;
mod snap;
mod solve;
mod split;

use std::collections::BTreeMap;

use geo_types::{Coord, MultiPolygon};
use serde::Serialize;

use super::atoms;
use super::{LevelSpec, Options};
use crate::domain::{Atom, GridCode, GridLabel, Level, Plan, PlanVersion, Policy, RegionCode};

pub use evaluate::evaluate;
pub use ground::{attach_buildings, grounds, Ground};
pub use ledger::Ledger;
pub use resolve::resolve;
pub use snap::{snap, Snapped};
pub use solve::{plan_all, plan_region};
pub use split::{split, Split, SplitError};

/// How plans are made, from the policy.
#[derive(Debug, Clone)]
pub struct Settings {
    pub levels: Vec<LevelSpec>,
    pub atoms: atoms::Options,
    pub solver: Options,
    pub code_widths: [usize; 3],
    /// Care level keys, by `CareLevel.0`.
    pub care_keys: Vec<String>,
    /// WGS-84 points level-1 grids grow from (a grid's office, say): each
    /// region holding some gets one level-1 grid per point.
    pub seed_points: Vec<Coord<f64>>,
}

impl Settings {
    pub fn from_policy(p: &Policy) -> Self {
        let levels: Vec<LevelSpec> = p
            .levels
            .iter()
            .map(|l| LevelSpec {
                target: f64::from(l.target_households),
                min: f64::from(l.min_households),
                max: f64::from(l.max_households),
                k: None,
                below: None,
                seeded: false,
            })
            .collect();
        let finest = levels.last().copied();
        Self {
            atoms: atoms::Options {
                max_households: finest.map_or(50, |l| l.max as u32),
                group_households: finest.map_or(20, |l| (l.target / 2.0).ceil() as u32),
                ..atoms::Options::default()
            },
            levels,
            solver: Options::default(),
            code_widths: p.code_widths,
            care_keys: p.care_levels.iter().map(|c| c.key.clone()).collect(),
            seed_points: Vec::new(),
        }
    }
}

/// A plan to build on: its atoms are reused so its labels still mean
/// something, and the grids named in `locked` (any level; the level-1 grid
/// holding one is kept whole, with all its children) stay as they are.
#[derive(Debug, Clone, Copy)]
pub struct Previous<'p> {
    pub plan: &'p Plan,
    pub atoms: &'p [Atom],
    pub locked: &'p [GridCode],
}

/// Why a plan could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("region {0} has an empty boundary")]
    EmptyRegion(RegionCode),
    #[error("locked grid {0} is not in the plan it builds on")]
    UnknownLock(GridCode),
    #[error("the plan it builds on does not match its atoms")]
    Mismatch,
    #[error("{0}")]
    Snap(String),
}

/// Figures of one grid.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct GridMetrics {
    pub households: u32,
    /// Households by care level key.
    pub by_care: BTreeMap<String, u32>,
    /// (households − target) / target.
    pub deviation: f64,
    pub in_range: bool,
    /// Connected pieces of its geometry (1 for a sound grid).
    pub pieces: u32,
    pub polsby_popper: f64,
    pub reock: f64,
    /// Share of its boundary with other grids that runs along a road,
    /// river or railway.
    pub road_share: f64,
    pub area_m2: f64,
    pub atoms: u32,
    /// Holds an atom heavier than the level's maximum (one building).
    pub tower: bool,
}

/// One grid of a plan.
#[derive(Debug, Clone, Serialize)]
pub struct Grid {
    pub level: Level,
    /// Dense id within its level (the plan's label).
    pub id: u32,
    pub code: GridCode,
    pub parent: Option<GridCode>,
    /// WGS-84.
    #[serde(skip)]
    pub geometry: MultiPolygon<f64>,
    pub valid: bool,
    pub metrics: GridMetrics,
}

/// Figures of one level.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LevelMetrics {
    pub level: u8,
    pub grids: usize,
    pub in_range: f64,
    pub max_dev: f64,
    pub split: usize,
    /// Grids not inside one grid of the level above.
    pub nest: usize,
    pub pp_mean: f64,
    pub reock_mean: f64,
    pub road_share: f64,
    pub towers: usize,
    pub invalid: usize,
}

impl LevelMetrics {
    /// Figures of the same level over many regions (means weighted by
    /// grids; road share by boundary is approximated by grids too).
    pub fn total(parts: &[&LevelMetrics]) -> LevelMetrics {
        let mut t = LevelMetrics {
            level: parts.first().map_or(0, |p| p.level),
            ..LevelMetrics::default()
        };
        for p in parts {
            let n = p.grids as f64;
            t.grids += p.grids;
            t.in_range += p.in_range * n;
            t.max_dev = t.max_dev.max(p.max_dev);
            t.split += p.split;
            t.nest += p.nest;
            t.pp_mean += p.pp_mean * n;
            t.reock_mean += p.reock_mean * n;
            t.road_share += p.road_share * n;
            t.towers += p.towers;
            t.invalid += p.invalid;
        }
        if t.grids > 0 {
            let n = t.grids as f64;
            t.in_range /= n;
            t.pp_mean /= n;
            t.reock_mean /= n;
            t.road_share /= n;
        }
        t
    }
}

/// A region's plan with everything shown about it.
#[derive(Debug, Clone)]
pub struct RegionPlan {
    pub region: RegionCode,
    /// WGS-84 atoms, ids `0..n`.
    pub atoms: Vec<Atom>,
    /// Grid ids per level, per atom.
    pub labels: Vec<Vec<u32>>,
    pub codes: Vec<Vec<GridCode>>,
    pub grids: Vec<Grid>,
    pub levels: Vec<LevelMetrics>,
    pub households: usize,
    /// The stored version, when this is a saved plan.
    pub version: Option<PlanVersion>,
    /// The region's area, m² (local plane).
    pub area_m2: f64,
    /// Area (m²) where the atoms (so the level-3 grids) and the region
    /// disagree: 0 when they tile it exactly.
    pub tiling_error_m2: f64,
    /// Pairs of atoms that share a boundary (what hand edits keep whole).
    pub adjacency: Vec<(usize, usize)>,
    /// Per-atom figures for measuring grids again after an edit.
    pub ledger: std::sync::Arc<Ledger>,
    /// Land without homes the solver kept whole (atom ids of each area of
    /// two atoms or more), when this plan was solved; empty when evaluated.
    pub without_homes: Vec<Vec<u32>>,
}

impl RegionPlan {
    /// This plan with its household figures counted again over
    /// `households` (the region's ground households in layer order, after
    /// a household write): the ledger's per-atom counts, each grid's
    /// households, care levels, deviation, range and tower flag, and the
    /// levels' figures made of them. Shapes, atoms and everything measured
    /// on them are kept: a write moves no boundary. Equal to evaluating
    /// the plan again over the same ground (the snapshot's follow test
    /// compares them), at a fraction of its cost.
    #[must_use]
    pub fn recounted(&self, households: &[&crate::domain::Household]) -> Self {
        let ledger = self.ledger.recounted(households);
        let members: Vec<Vec<Vec<usize>>> = self
            .labels
            .iter()
            .zip(&self.codes)
            .map(|(labels, codes)| ledger::Ledger::members(labels, codes.len()))
            .collect();
        let mut grids = self.grids.clone();
        for g in &mut grids {
            let l = usize::from(g.level.get()) - 1;
            if let Some(m) = members.get(l).and_then(|m| m.get(g.id as usize)) {
                g.metrics = ledger.figures(l, m, g.metrics.clone());
            }
        }
        let mut levels = self.levels.clone();
        for lm in &mut levels {
            let of_level = grids.iter().filter(|g| g.level.get() == lm.level);
            let (mut in_range, mut max_dev, mut towers) = (0.0, 0.0f64, 0);
            for g in of_level {
                in_range += f64::from(u8::from(g.metrics.in_range));
                max_dev = max_dev.max(g.metrics.deviation.abs());
                towers += usize::from(g.metrics.tower);
            }
            lm.in_range = if lm.grids > 0 {
                in_range / lm.grids as f64
            } else {
                in_range
            };
            lm.max_dev = max_dev;
            lm.towers = towers;
        }
        Self {
            region: self.region,
            atoms: self.atoms.clone(),
            labels: self.labels.clone(),
            codes: self.codes.clone(),
            grids,
            levels,
            households: households.len(),
            version: self.version.clone(),
            area_m2: self.area_m2,
            tiling_error_m2: self.tiling_error_m2,
            adjacency: self.adjacency.clone(),
            ledger: std::sync::Arc::new(ledger),
            without_homes: self.without_homes.clone(),
        }
    }

    /// The plan record to store (the version is the store's to number).
    pub fn to_plan(&self, author: &str, message: &str, parent: Option<i64>) -> Plan {
        let at = |l: usize, a: usize| self.labels.get(l).map_or(0, |v| v[a]);
        let codes = |l: usize| self.codes.get(l).cloned().unwrap_or_default();
        Plan {
            version: PlanVersion::unsaved(self.region, author, message, parent),
            atoms: self.atoms.iter().map(|a| a.id).collect(),
            labels: (0..self.atoms.len())
                .map(|a| GridLabel([at(0, a), at(1, a), at(2, a)]))
                .collect(),
            codes: [codes(0), codes(1), codes(2)],
        }
    }
}

#[cfg(test)]
mod tests;
