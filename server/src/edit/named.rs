//! Edits as a client names them (grids by code, atoms by id, shapes as
//! GeoJSON), turned into an [`Edit`] of one plan: every name checked
//! against the plan before anything runs.

use std::collections::HashSet;

use geo::{Contains, InteriorPoint};
use serde::{Deserialize, Serialize};

use super::{Edit, EditError, Rules};
use crate::domain::{GridCode, Plan};
use crate::partition::plan::RegionPlan;

/// An edit as a client names it: grids by code, atoms by id.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum EditBody {
    /// Atoms (by id, or those inside a drawn polygon: lasso or brush)
    /// join the level-3 grid `to`.
    Reassign {
        #[serde(default)]
        atoms: Vec<u32>,
        #[serde(default)]
        within: Option<geojson::Geometry>,
        to: String,
    },
    Merge {
        keep: String,
        gone: String,
    },
    Move {
        grid: String,
        parent: String,
    },
    /// Everything under grid `parent` (level 1 or 2) but its locked
    /// children solved again by the partitioner.
    Resolve {
        parent: String,
    },
    /// Level-3 grid `grid` cut in two along a drawn line (a GeoJSON
    /// LineString, WGS-84); the part right of the line becomes a new grid.
    Split {
        grid: String,
        line: geojson::Geometry,
    },
    /// The labels and codes of another version of the same region, as they
    /// were (undo and redo).
    Restore {
        version: i64,
    },
}

/// The rules of `plan` (evaluated as `evaluated`) with the grids `locks`
/// names, any level; an unknown code is refused.
pub fn rules(plan: &Plan, evaluated: &RegionPlan, locks: &[String]) -> Result<Rules, EditError> {
    let mut locked = HashSet::new();
    for c in locks {
        grid_level(plan, c)?;
        locked.insert(GridCode(c.clone()));
    }
    Ok(Rules {
        adjacency: evaluated.adjacency.clone(),
        locked,
    })
}

impl EditBody {
    /// The edit this names on `plan` (evaluated as `evaluated`) under
    /// `rules`; `restored` is the version a restore names, loaded by the
    /// caller (the only name that needs the store).
    pub fn resolve(
        &self,
        plan: &Plan,
        evaluated: &RegionPlan,
        rules: &Rules,
        restored: Option<Plan>,
    ) -> Result<Edit, EditError> {
        match self {
            Self::Reassign { atoms, within, to } => {
                let to = grid_id(plan, 3, to)?;
                let atoms = picked(plan, evaluated, atoms, within.as_ref())?;
                Ok(Edit::Reassign { atoms, to })
            }
            Self::Merge { keep, gone } => {
                let (level, keep) = grid_level(plan, keep)?;
                let gone = grid_id(plan, usize::from(level), gone)?;
                Ok(Edit::Merge { level, keep, gone })
            }
            Self::Move { grid, parent } => {
                let (level, g) = grid_level(plan, grid)?;
                if level == 1 {
                    return Err(EditError::Invalid(format!(
                        "{grid} is a level-1 grid: it has no parent grid to move to"
                    )));
                }
                let parent = grid_id(plan, usize::from(level) - 1, parent)?;
                Ok(Edit::MoveGrid {
                    level,
                    grid: g,
                    parent,
                })
            }
            Self::Restore { version } => {
                let other =
                    restored.ok_or_else(|| EditError::Missing(format!("plan {version}")))?;
                if other.version.region != plan.version.region {
                    return Err(EditError::Invalid(format!(
                        "plan {version} is of region {}, not {}",
                        other.version.region, plan.version.region
                    )));
                }
                Ok(Edit::Restore {
                    version: Box::new(other),
                })
            }
            Self::Resolve { parent } => {
                let (level, g) = grid_level(plan, parent)?;
                if level == 3 {
                    return Err(EditError::Invalid(format!(
                        "{parent} is a level-3 grid: there is nothing below it to solve"
                    )));
                }
                Ok(Edit::Resolve { level, parent: g })
            }
            Self::Split { grid, line } => {
                let g = grid_id(plan, 3, grid)?;
                let code = GridCode(grid.clone());
                if rules.locked.contains(&code) {
                    return Err(EditError::broken(
                        "locked",
                        &code,
                        format!("grid {grid} is locked"),
                    ));
                }
                Ok(Edit::Split {
                    grid: g,
                    line: drawn_line(line)?,
                })
            }
        }
    }

    /// The version a restore names, which the caller loads.
    pub fn restores(&self) -> Option<i64> {
        match self {
            Self::Restore { version } => Some(*version),
            _ => None,
        }
    }

    /// The message a version saved from this edit gets when its author
    /// wrote none.
    pub fn describe(&self) -> String {
        match self {
            Self::Reassign { atoms, within, to } => {
                let n = if within.is_some() {
                    "a drawn area".to_string()
                } else {
                    format!("{} atoms", atoms.len())
                };
                format!("{n} to {to}")
            }
            Self::Merge { keep, gone } => format!("{gone} merged into {keep}"),
            Self::Move { grid, parent } => format!("{grid} moved under {parent}"),
            Self::Split { grid, .. } => format!("{grid} split along a line"),
            Self::Resolve { parent } => format!("the unlocked grids under {parent} solved again"),
            Self::Restore { version } => format!("restored plan {version}"),
        }
    }
}

/// The atoms (plan indices) a reassign picks: by id, and those whose
/// interior point is inside the drawn polygon; at least one.
fn picked(
    plan: &Plan,
    evaluated: &RegionPlan,
    atoms: &[u32],
    within: Option<&geojson::Geometry>,
) -> Result<Vec<usize>, EditError> {
    let mut picked: Vec<usize> = Vec::new();
    for &a in atoms {
        let i = plan.atoms.iter().position(|&x| x == a).ok_or_else(|| {
            EditError::Invalid(format!("plan {} has no atom {a}", plan.version.id))
        })?;
        picked.push(i);
    }
    if let Some(g) = within {
        let shape = lasso(g)?;
        for (i, a) in evaluated.atoms.iter().enumerate() {
            if a.geometry
                .interior_point()
                .is_some_and(|p| shape.contains(&p))
            {
                picked.push(i);
            }
        }
    }
    picked.sort_unstable();
    picked.dedup();
    if picked.is_empty() {
        return Err(EditError::Invalid(
            "the edit picks no atom: give atom ids or a polygon around some".into(),
        ));
    }
    Ok(picked)
}

fn grid_id(plan: &Plan, level: usize, code: &str) -> Result<u32, EditError> {
    plan.codes[level - 1]
        .iter()
        .position(|c| c.0 == code)
        .map(|i| i as u32)
        .ok_or_else(|| {
            EditError::Invalid(format!(
                "plan {} has no level-{level} grid {code}",
                plan.version.id
            ))
        })
}

fn grid_level(plan: &Plan, code: &str) -> Result<(u8, u32), EditError> {
    (1..=3)
        .find_map(|l| grid_id(plan, l, code).ok().map(|g| (l as u8, g)))
        .ok_or_else(|| EditError::Invalid(format!("plan {} has no grid {code}", plan.version.id)))
}

/// A drawn polygon (WGS-84 GeoJSON Polygon or MultiPolygon).
fn lasso(g: &geojson::Geometry) -> Result<geo_types::MultiPolygon<f64>, EditError> {
    crate::io::validate::check_geojson_rings(g)
        .map_err(|e| EditError::Invalid(format!("within: {e}")))?;
    let shape: geo_types::Geometry<f64> = g
        .clone()
        .try_into()
        .map_err(|e| EditError::Invalid(format!("within: {e}")))?;
    match shape {
        geo_types::Geometry::Polygon(p) => Ok(geo_types::MultiPolygon(vec![p])),
        geo_types::Geometry::MultiPolygon(m) => Ok(m),
        _ => Err(EditError::Invalid(
            "within: a Polygon or MultiPolygon".into(),
        )),
    }
}

/// A drawn line: a GeoJSON LineString of two or more points in degrees.
fn drawn_line(line: &geojson::Geometry) -> Result<geo_types::LineString<f64>, EditError> {
    let line: geo_types::Geometry<f64> = line
        .clone()
        .try_into()
        .map_err(|e| EditError::Invalid(format!("line: {e}")))?;
    let geo_types::Geometry::LineString(line) = line else {
        return Err(EditError::Invalid("line: a LineString".into()));
    };
    if line.0.len() < 2
        || line
            .0
            .iter()
            .any(|c| !(c.x.abs() <= 180.0 && c.y.abs() <= 90.0))
    {
        return Err(EditError::Invalid(
            "line: two or more [lon, lat] points in degrees".into(),
        ));
    }
    Ok(line)
}
