//! Everything under one grid solved again, its locked children kept.

use std::collections::HashSet;

use super::super::solve;
use super::{PlanError, RegionPlan, Settings};
use crate::domain::{GridCode, Plan};

/// Solves again everything under grid `parent` of level index `level`
/// (0 or 1) but its children that are locked (or hold a locked grid),
/// which keep their atoms, ids and codes; the new grids below take codes
/// after every code the plan has under their parent. The result keeps ids
/// dense per level.
pub fn resolve(
    rp: &RegionPlan,
    plan: &Plan,
    settings: &Settings,
    level: usize,
    parent: u32,
    locked: &HashSet<GridCode>,
) -> Result<Plan, PlanError> {
    let n = plan.labels.len();
    if n != rp.ledger.set.len() || level > 1 {
        return Err(PlanError::Mismatch);
    }
    let child = level + 1;
    let under: Vec<usize> = (0..n)
        .filter(|&a| plan.labels[a].0[level] == parent)
        .collect();
    // Children kept: locked themselves, or holding a locked grid.
    let mut kept: HashSet<u32> = HashSet::new();
    for &a in &under {
        let lab = plan.labels[a].0;
        if (child..3).any(|l| locked.contains(&plan.codes[l][lab[l] as usize])) {
            kept.insert(lab[child]);
        }
    }
    let free: Vec<u32> = under
        .iter()
        .copied()
        .filter(|&a| !kept.contains(&plan.labels[a].0[child]))
        .map(|a| a as u32)
        .collect();
    if free.is_empty() {
        return Ok(plan.clone());
    }
    let g = rp.ledger.set.subgraph(&free, &settings.atoms.barriers);
    let sub = solve(&g, &settings.levels[child..], &settings.solver);
    let mut next = plan.clone();
    // New grids go after the existing ones; emptied ones are dropped below.
    let base: Vec<u32> = (0..3).map(|l| plan.codes[l].len() as u32).collect();
    let fresh: Vec<u32> = (0..3)
        .map(|l| {
            if l < child {
                0
            } else {
                sub[l - child].iter().copied().max().map_or(0, |m| m + 1)
            }
        })
        .collect();
    for (i, &a) in free.iter().enumerate() {
        for l in child..3 {
            next.labels[a as usize].0[l] = base[l] + sub[l - child][i];
        }
    }
    for l in child..3 {
        for k in 0..fresh[l] {
            // Placeholder until its parent's code is known.
            next.codes[l].push(GridCode(format!("#{}", base[l] + k)));
        }
    }
    let mut next = drop_empty(next);
    // Codes for the new grids, level by level under their parents' codes.
    for l in child..3 {
        let width = settings.code_widths[l];
        for g in 0..next.codes[l].len() {
            if !next.codes[l][g].0.starts_with('#') {
                continue;
            }
            let Some(a) = next.labels.iter().position(|x| x.0[l] as usize == g) else {
                continue;
            };
            let up = next.labels[a].0[l - 1] as usize;
            let prefix = next.codes[l - 1][up].0.clone();
            let all: Vec<GridCode> = plan.codes[l]
                .iter()
                .chain(next.codes[l].iter())
                .cloned()
                .collect();
            let high = all
                .iter()
                .filter(|c| c.0.len() == prefix.len() + width && c.0.starts_with(&prefix))
                .filter_map(|c| c.0[prefix.len()..].parse::<u32>().ok())
                .max()
                .unwrap_or(0);
            next.codes[l][g] = GridCode(format!("{prefix}{:0width$}", high + 1));
        }
    }
    Ok(next)
}

/// The plan without grids that hold no atom, ids dense again.
fn drop_empty(mut p: Plan) -> Plan {
    for l in 0..3 {
        let mut used = vec![false; p.codes[l].len()];
        for x in &p.labels {
            if let Some(u) = used.get_mut(x.0[l] as usize) {
                *u = true;
            }
        }
        let mut map = vec![u32::MAX; used.len()];
        let mut codes = Vec::new();
        for (g, &u) in used.iter().enumerate() {
            if u {
                map[g] = codes.len() as u32;
                codes.push(p.codes[l][g].clone());
            }
        }
        for x in &mut p.labels {
            x.0[l] = map[x.0[l] as usize];
        }
        p.codes[l] = codes;
    }
    p
}
