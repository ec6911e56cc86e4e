//! What an edit did: figures before and after for every grid it touched,
//! the staff each grid keeps or inherits, and the households that changed
//! grid.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde_json::{json, Value};

use super::perform::Context;
use super::EditError;
use crate::domain::{Atom, AtomId, GridCode, Person, Plan};
use crate::partition::plan::{Grid, Ledger, RegionPlan};

/// The ledger of a split's atoms and the two grids (level index, id) it made.
pub type Cut = (Arc<Ledger>, Vec<(usize, u32)>);

/// Staff (people by role) assigned to grids by code, before and after an
/// edit: a grid's staff stay with it, and the staff of a grid the edit
/// retires go to the grid that took most of its atoms.
struct Staffing {
    by_code: HashMap<String, BTreeMap<&'static str, u32>>,
    /// Retired code → the code that took most of its atoms.
    heir: HashMap<String, String>,
}

impl Staffing {
    fn of(people: &[Person], before: &Plan, after: &Plan) -> Self {
        let mut by_code: HashMap<String, BTreeMap<&'static str, u32>> = HashMap::new();
        for p in people {
            for c in &p.grids {
                let e = by_code.entry(c.0.clone()).or_default();
                for r in &p.roles {
                    *e.entry(r.as_str()).or_default() += 1;
                }
            }
        }
        let mut heir = HashMap::new();
        if before.atoms == after.atoms {
            for l in 0..3 {
                for (g, c) in before.codes[l].iter().enumerate() {
                    if after.codes[l].contains(c) {
                        continue;
                    }
                    let mut votes: HashMap<&GridCode, usize> = HashMap::new();
                    for (i, x) in before.labels.iter().enumerate() {
                        if x.0[l] as usize == g {
                            if let Some(to) = after.codes[l].get(after.labels[i].0[l] as usize) {
                                *votes.entry(to).or_default() += 1;
                            }
                        }
                    }
                    if let Some((to, _)) = votes.into_iter().max_by_key(|v| v.1) {
                        heir.insert(c.0.clone(), to.0.clone());
                    }
                }
            }
        }
        Self { by_code, heir }
    }

    fn of_grid(
        &self,
        code: &GridCode,
    ) -> (BTreeMap<&'static str, u32>, BTreeMap<&'static str, u32>) {
        let before = self.by_code.get(&code.0).cloned().unwrap_or_default();
        let mut after = before.clone();
        for (gone, to) in &self.heir {
            if to == &code.0 {
                for (r, n) in self.by_code.get(gone).into_iter().flatten() {
                    *after.entry(r).or_default() += n;
                }
            }
        }
        (before, after)
    }
}

/// Figures before and after for every grid the edit touched, with the
/// grids' new shapes, and warnings for balance out of range.
pub fn figures(
    people: &[Person],
    rp: &RegionPlan,
    before: &Plan,
    after: &Plan,
    cut: Option<&Cut>,
    regraded: Option<&RegionPlan>,
) -> Value {
    if let Some((ledger, which)) = cut {
        return rows(people, rp, before, after, ledger.measure(after, which));
    }
    let grids: Vec<Grid> = match regraded {
        // Other atoms (a split, or a restore across one): the grids whose
        // figures or shape changed, from the plan evaluated afresh.
        Some(new) => new
            .grids
            .iter()
            .filter(|g| {
                rp.grids
                    .iter()
                    .find(|x| x.level == g.level && x.code == g.code)
                    .is_none_or(|x| {
                        x.metrics.households != g.metrics.households
                            || (x.metrics.area_m2 - g.metrics.area_m2).abs()
                                > 1e-6 * x.metrics.area_m2.max(1.0)
                    })
            })
            .cloned()
            .collect(),
        None => rp.ledger.measure(after, &super::touched(before, after)),
    };
    rows(people, rp, before, after, grids)
}

/// The answer about `grids`, the grids an edit touched, measured after it.
fn rows(
    people: &[Person],
    rp: &RegionPlan,
    before: &Plan,
    after: &Plan,
    grids: Vec<Grid>,
) -> Value {
    let mut warnings = Vec::new();
    let staffing = Staffing::of(people, before, after);
    let rows: Vec<Value> = grids
        .iter()
        .map(|g| {
            let was = rp
                .grids
                .iter()
                .find(|x| x.level == g.level && x.code == g.code)
                .map(|x| &x.metrics);
            let (staff_before, staff_after) = staffing.of_grid(&g.code);
            if !g.metrics.in_range {
                warnings.push(format!(
                    "level-{} grid {}: {} households, outside the policy range",
                    g.level.get(),
                    g.code,
                    g.metrics.households
                ));
            }
            json!({
                "code": g.code,
                "level": g.level,
                "parent": g.parent,
                "before": was,
                "after": g.metrics,
                "staff_before": staff_before,
                "staff_after": staff_after,
                "geometry": geojson::Geometry::from(&g.geometry),
            })
        })
        .collect();
    let retired: Vec<&GridCode> = (0..3)
        .flat_map(|l| {
            before.codes[l]
                .iter()
                .filter(move |c| !after.codes[l].contains(c))
        })
        .collect();
    let households = rp.ledger.households();
    let code3 = |p: &Plan, i: usize| p.codes[2].get(p.labels[i].0[2] as usize).cloned();
    let (atoms_moved, households_moved) = if before.atoms == after.atoms {
        let moved: Vec<usize> = (0..before.labels.len())
            .filter(|&i| code3(before, i) != code3(after, i))
            .collect();
        let n: u64 = moved
            .iter()
            .map(|&i| u64::from(households.get(i).copied().unwrap_or(0)))
            .sum();
        (moved.len(), n)
    } else {
        // Across a cut, households that changed grid are those the new
        // grids hold.
        let new: Vec<&Grid> = grids
            .iter()
            .filter(|g| g.level.get() == 3 && !before.codes[2].contains(&g.code))
            .collect();
        (
            new.iter().map(|g| g.metrics.atoms as usize).sum(),
            new.iter().map(|g| u64::from(g.metrics.households)).sum(),
        )
    };
    json!({
        "grids": rows,
        "retired": retired,
        "atoms_moved": atoms_moved,
        "households_moved": households_moved,
        "warnings": warnings,
    })
}

/// The plan after an edit evaluated afresh when its atoms are not the
/// base's and no cut measured them (a restore across a split): the ledger
/// only knows the base's atoms.
pub fn regrade(
    cx: &Context<'_>,
    base: &Plan,
    next: &Plan,
    added: &[Atom],
    cut: bool,
) -> Result<Option<RegionPlan>, EditError> {
    if next.atoms == base.atoms || cut {
        return Ok(None);
    }
    let s = cx.snapshot;
    let mut by_id: HashMap<AtomId, Atom> = added.iter().map(|a| (a.id, a.clone())).collect();
    let mut shown = next.clone();
    shown.atoms.retain(|id| !by_id.contains_key(id));
    let known = s.plan_atoms(&shown).unwrap_or_default();
    for a in known {
        by_id.insert(a.id, a);
    }
    let atoms: Option<Vec<_>> = next.atoms.iter().map(|id| by_id.get(id).cloned()).collect();
    let atoms = atoms.ok_or_else(|| {
        EditError::Invalid(format!(
            "some atoms of the plan are gone: a plan generated afresh cut region {} again",
            next.version.region
        ))
    })?;
    let ground = s
        .ground(next.version.region)
        .ok_or_else(|| EditError::Missing(format!("region {}", next.version.region)))?;
    crate::partition::plan::evaluate(&ground, cx.settings, next, &atoms)
        .map(Some)
        .map_err(|e| EditError::Invalid(format!("the edited plan: {e}")))
}
