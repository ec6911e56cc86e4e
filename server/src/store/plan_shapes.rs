//! Plan grids with their shapes, as both stores keep them: every saved
//! plan version's grids (level, code, parent, households, balance) with
//! their geometry, written in the save's own transaction, so that a desktop
//! GIS sees each region's current and published plan as a layer and a
//! server start reads the grids instead of evaluating every plan.

use geo::MultiPolygon;

use crate::partition::plan::RegionPlan;

/// One grid of a plan version as the layers show it.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanGridShape {
    pub level: u8,
    pub code: String,
    pub parent: Option<String>,
    pub households: u32,
    /// (households − target) / target, as the plan's figures give it.
    pub balance: f64,
    /// WGS-84.
    pub geometry: MultiPolygon<f64>,
}

impl PlanGridShape {
    /// The grids of an evaluated plan, every level.
    pub fn of(plan: &RegionPlan) -> Vec<Self> {
        plan.grids
            .iter()
            .map(|g| Self {
                level: g.level.get(),
                code: g.code.as_str().to_owned(),
                parent: g.parent.as_ref().map(|p| p.as_str().to_owned()),
                households: g.metrics.households,
                balance: g.metrics.deviation,
                geometry: g.geometry.clone(),
            })
            .collect()
    }
}

/// Stored shapes by plan version id.
pub type ShapesByVersion = std::collections::BTreeMap<i64, Vec<PlanGridShape>>;

/// True when an import changes what stored plan grid shapes were measured
/// on (households, regions, atoms): they go, and a server start measures
/// each region's newest and published version again.
pub(crate) fn stale_after_import(counts: &crate::store::ImportCounts) -> bool {
    [
        crate::domain::Layer::Households,
        crate::domain::Layer::Regions,
        crate::domain::Layer::Atoms,
    ]
    .iter()
    .any(|l| counts.get(l).is_some_and(|n| *n > 0))
}
