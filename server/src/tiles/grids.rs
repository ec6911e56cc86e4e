//! Grids as tiles draw them: each region's current plan evaluated against
//! the snapshot (grid shapes as atom unions, households, balance), or the
//! imported grids where a region has no plan. Evaluating a plan takes a
//! moment, so [`super::TileCache`] keeps the result per region until the
//! plan, the atoms or the households of that region change.

use geo::{BoundingRect, InteriorPoint};
use geo_types::{MultiPolygon, Point, Rect};

use crate::domain::{Plan, Policy, RegionCode};
use crate::partition::plan::{evaluate, PlanError, RegionPlan, Settings};
use crate::snapshot::Snapshot;

/// One grid, ready to cut into tiles.
#[derive(Debug, Clone)]
pub struct GridFeature {
    pub level: u8,
    pub code: String,
    pub parent: Option<String>,
    pub region: RegionCode,
    /// `None` for imported grids (their households are not counted here).
    pub households: Option<u32>,
    /// `under`, `in`, `over`, or `unknown` for imported grids.
    pub balance: &'static str,
    pub deviation: Option<f64>,
    pub geometry: MultiPolygon<f64>,
    /// `geometry` projected and ranked for simplification once here, not
    /// again in every tile it is cut into.
    pub ranked: super::mvt::Ranked,
    pub bbox: Option<Rect<f64>>,
    pub label: Option<Point<f64>>,
}

/// A region's grids, with the plan they came from.
#[derive(Debug, Clone, Default)]
pub struct RegionGrids {
    pub plan: Option<i64>,
    pub grids: Vec<GridFeature>,
}

/// A stored plan evaluated against the snapshot's ground: the figures and
/// shapes every reader of a plan shows (the plans API and the tiles).
pub fn evaluate_plan(s: &Snapshot, policy: &Policy, plan: &Plan) -> Result<RegionPlan, PlanError> {
    let code = plan.version.region;
    let atoms = s.plan_atoms(plan).ok_or(PlanError::Mismatch)?;
    let ground = s.ground(code).ok_or(PlanError::EmptyRegion(code))?;
    let mut r = evaluate(&ground, &Settings::from_policy(policy), plan, &atoms)?;
    r.version = Some(plan.version.clone());
    Ok(r)
}

/// The grids of one region as the tiles show them.
pub fn region_grids(s: &Snapshot, policy: &Policy, code: RegionCode) -> RegionGrids {
    if let Some(plan) = s.plans.get(&code) {
        match evaluate_plan(s, policy, plan) {
            Ok(p) => {
                return RegionGrids {
                    plan: Some(plan.version.id),
                    grids: p
                        .grids
                        .into_iter()
                        .map(|g| {
                            let m = &g.metrics;
                            let balance = if m.in_range {
                                "in"
                            } else if m.deviation < 0.0 {
                                "under"
                            } else {
                                "over"
                            };
                            feature(
                                g.level.get(),
                                g.code.to_string(),
                                g.parent.map(|p| p.to_string()),
                                code,
                                Some(m.households),
                                balance,
                                Some(m.deviation),
                                g.geometry,
                            )
                        })
                        .collect(),
                }
            }
            Err(e) => {
                tracing::warn!(region = %code, plan = plan.version.id, error = %e, "plan does not match its atoms: tiles show imported grids");
            }
        }
    }
    RegionGrids {
        plan: None,
        grids: s
            .grids
            .items()
            .iter()
            .filter(|g| g.region == code)
            .map(|g| {
                feature(
                    g.level.get(),
                    g.code.to_string(),
                    g.parent.as_ref().map(ToString::to_string),
                    code,
                    None,
                    "unknown",
                    None,
                    g.geometry.clone(),
                )
            })
            .collect(),
    }
}

#[allow(clippy::too_many_arguments)]
fn feature(
    level: u8,
    code: String,
    parent: Option<String>,
    region: RegionCode,
    households: Option<u32>,
    balance: &'static str,
    deviation: Option<f64>,
    geometry: MultiPolygon<f64>,
) -> GridFeature {
    GridFeature {
        level,
        code,
        parent,
        region,
        households,
        balance,
        deviation,
        bbox: geometry.bounding_rect(),
        label: geometry.interior_point(),
        ranked: super::mvt::Ranked::new(&geometry),
        geometry,
    }
}
