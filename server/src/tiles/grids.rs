//! Grids as tiles draw them: the grids in force in each region (its current
//! plan as the snapshot evaluated it, with households and balance, or the
//! imported grids where it has no plan), projected and ranked for cutting.
//! That render-side work is kept per region by [`super::TileCache`] until
//! the plan, the atoms or the households of that region change.

use geo::{BoundingRect, InteriorPoint};
use geo_types::{MultiPolygon, Point, Rect};

use crate::domain::{Policy, RegionCode};
use crate::snapshot::{GridsInForce, Snapshot};

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

/// The grids of one region as the tiles show them: the grids in force
/// ([`Snapshot::grids_in_force`]), projected and ranked for tiles. A plan
/// the snapshot has not evaluated is drawn from its stored grid shapes
/// when the store kept them ([`Snapshot::stored_shapes`]): a server start
/// evaluates no plan before the first grid tile.
pub fn region_grids(s: &Snapshot, policy: &Policy, code: RegionCode) -> RegionGrids {
    if let Some(plan) = s.plans.get(&code) {
        let id = plan.version.id;
        if s.evaluated_id(id).is_none() {
            if let Some(stored) = s.stored_shapes(id) {
                return stored_grids(policy, code, id, &stored);
            }
        }
    }
    match s.grids_in_force(policy, code) {
        GridsInForce::Plan(p) => RegionGrids {
            plan: p.version.as_ref().map(|v| v.id),
            grids: p
                .grids
                .iter()
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
                        g.parent.as_ref().map(ToString::to_string),
                        code,
                        Some(m.households),
                        balance,
                        Some(m.deviation),
                        g.geometry.clone(),
                    )
                })
                .collect(),
        },
        GridsInForce::Imported(grids) => RegionGrids {
            plan: None,
            grids: grids
                .into_iter()
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
        },
    }
}

/// Stored grid shapes as tiles show them, households and balance class
/// as plan evaluation gives them: in range between the level's minimum and
/// maximum households, else under or over its target.
fn stored_grids(
    policy: &Policy,
    code: RegionCode,
    id: i64,
    stored: &[crate::store::PlanGridShape],
) -> RegionGrids {
    let grids = stored
        .iter()
        .map(|g| {
            let (balance, deviation) = balance(policy, g.level, g.households);
            feature(
                g.level,
                g.code.clone(),
                g.parent.clone(),
                code,
                Some(g.households),
                balance,
                deviation.or(Some(g.balance)),
                g.geometry.clone(),
            )
        })
        .collect();
    RegionGrids {
        plan: Some(id),
        grids,
    }
}

/// The balance class and deviation of a grid of `households` at `level`
/// under `policy`, computed as the plan ledger does.
fn balance(policy: &Policy, level: u8, households: u32) -> (&'static str, Option<f64>) {
    let Some(spec) = policy.levels.get(usize::from(level).wrapping_sub(1)) else {
        return ("unknown", None);
    };
    let h = f64::from(households);
    let target = f64::from(spec.target_households);
    let deviation = (h - target) / target;
    let class = if h >= f64::from(spec.min_households) && h <= f64::from(spec.max_households) {
        "in"
    } else if deviation < 0.0 {
        "under"
    } else {
        "over"
    };
    (class, Some(deviation))
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
