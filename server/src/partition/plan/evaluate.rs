//! A stored plan evaluated on today's ground, and the measuring every
//! plan ends with: each grid's geometry and figures, each level's totals.

use geo::Area;
use geo_types::MultiPolygon;

use super::super::atoms::{self, Atoms};
use super::ground::{local, local_pieces, Ground, Local};
use super::ledger::Ledger;
use super::{LevelMetrics, PlanError, RegionPlan, Settings};
use crate::domain::{Atom, GridCode, Plan, RegionCode};

/// A stored plan with everything shown about it: its atoms placed on the
/// ground again (households may have moved since), its labels and codes
/// as saved.
pub fn evaluate(
    ground: &Ground<'_>,
    settings: &Settings,
    plan: &Plan,
    atoms: &[Atom],
) -> Result<RegionPlan, PlanError> {
    let code = ground.region.code;
    let loc = local(ground).ok_or(PlanError::EmptyRegion(code))?;
    let pieces = local_pieces(&loc, atoms);
    if pieces.len() != plan.labels.len() {
        return Err(PlanError::Mismatch);
    }
    let set = atoms::rebuild(
        pieces,
        &loc.cuts,
        &loc.dwellers,
        settings.atoms.max_households,
    );
    let levels = settings.levels.len().min(3);
    let labels: Vec<Vec<u32>> = (0..levels)
        .map(|l| plan.labels.iter().map(|g| g.0[l]).collect())
        .collect();
    for (l, lab) in labels.iter().enumerate() {
        if lab.iter().any(|&g| g as usize >= plan.codes[l].len()) {
            return Err(PlanError::Mismatch);
        }
    }
    let codes: Vec<Vec<GridCode>> = (0..levels).map(|l| plan.codes[l].clone()).collect();
    Ok(finish(code, &loc, set, labels, codes, ground, settings))
}

pub(super) fn finish(
    region: RegionCode,
    loc: &Local,
    set: Atoms,
    labels: Vec<Vec<u32>>,
    codes: Vec<Vec<GridCode>>,
    ground: &Ground<'_>,
    settings: &Settings,
) -> RegionPlan {
    let adjacency = set
        .edges
        .iter()
        .map(|e| (e.a as usize, e.b as usize))
        .collect();
    let ledger = Ledger::new(set, loc, ground, settings);
    let mut grids = Vec::new();
    let mut levels = Vec::new();
    for l in 0..labels.len() {
        let n = codes[l].len();
        let members = Ledger::members(&labels[l], n);
        let (cut, along) = ledger.cuts(&labels[l], n);
        let mut lm = LevelMetrics {
            level: l as u8 + 1,
            grids: n,
            ..LevelMetrics::default()
        };
        let (mut sum_cut, mut sum_along) = (0.0, 0.0);
        for g in 0..n {
            if members[g].is_empty() {
                continue;
            }
            let grid = ledger.grid(l, g, &members[g], &labels, &codes, (cut[g], along[g]));
            if l > 0 {
                let p = labels[l - 1][members[g][0]];
                if members[g].iter().any(|&a| labels[l - 1][a] != p) {
                    lm.nest += 1;
                }
            }
            let m = &grid.metrics;
            lm.in_range += f64::from(u8::from(m.in_range));
            lm.max_dev = lm.max_dev.max(m.deviation.abs());
            lm.split += usize::from(m.pieces > 1);
            lm.pp_mean += m.polsby_popper;
            lm.reock_mean += m.reock;
            lm.towers += usize::from(m.tower);
            lm.invalid += usize::from(!grid.valid);
            sum_cut += cut[g];
            sum_along += along[g];
            grids.push(grid);
        }
        if n > 0 {
            lm.in_range /= n as f64;
            lm.pp_mean /= n as f64;
            lm.reock_mean /= n as f64;
        }
        lm.road_share = if sum_cut > 0.0 {
            sum_along / sum_cut
        } else {
            1.0
        };
        levels.push(lm);
    }
    let tiling_error_m2 = atoms::tiling_error(ledger.snap, &ledger.set.geometry, &loc.boundary);
    let atoms = ledger
        .set
        .geometry
        .iter()
        .zip(&ledger.set.kind)
        .enumerate()
        .map(|(i, (p, &kind))| Atom {
            id: i as u32,
            region,
            kind,
            geometry: loc.proj.unproject(&MultiPolygon(vec![p.clone()])),
        })
        .collect();
    RegionPlan {
        region,
        atoms,
        labels,
        codes,
        grids,
        levels,
        households: ground.households.len(),
        version: None,
        area_m2: loc.boundary.unsigned_area(),
        tiling_error_m2,
        adjacency,
        ledger: std::sync::Arc::new(ledger),
        without_homes: Vec::new(),
    }
}
