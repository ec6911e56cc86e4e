//! The plan collections, `plan_grids_current` and `plan_grids_published`:
//! the grids (all three levels) of each region's newest, or newest
//! published, plan version, as a GIS client wants them: one feature per
//! grid with its figures, a MultiPolygon in WGS-84, an id that is unique
//! in the collection and never changes. The grids are the snapshot's
//! evaluations ([`crate::snapshot::Snapshot::evaluated`]); which versions
//! a collection shows, and evaluating them, is the API's part.
//!
//! # Feature ids
//!
//! A grid's id is `version × 1,000,000 + level × 100,000 + n`, where
//! `version` is the plan version's store-wide id and `n` the grid's dense
//! number within its level in that version (its label, `0..100,000`):
//! grid 17 of level 3 of version 42 is `42_300_017`. A saved version never
//! changes, so neither does any of its ids; a version's grids appear once
//! in a collection, so ids are unique; and with version ids below
//! [`MAX_VERSION`] (9·10⁹) every id stays below 2⁵³, exact in JavaScript
//! clients. The id says which version it belongs to, so `/items/{id}`
//! needs no lookup table.

use std::sync::Arc;

use geo::{BoundingRect, Intersects};
use geo_types::Rect;
use serde_json::{json, Value};

use crate::domain::Level;
use crate::partition::plan::{Grid, RegionPlan};

/// Which versions a plan collection shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanSet {
    /// Each region's newest version, as the map and coverage show it.
    Current,
    /// Each region's newest published version (the plan in force).
    Published,
}

/// Ids per plan version (see the module docs).
const PER_VERSION: i64 = 1_000_000;
/// Ids per level within a version: a level holds fewer grids than this.
const PER_LEVEL: i64 = 100_000;
/// Version ids past this would give ids past 2⁵³.
pub const MAX_VERSION: i64 = (1 << 53) / PER_VERSION;

/// A grid's feature id, or `None` past the scheme's bounds (a level of
/// 100,000 grids or more, a version id past [`MAX_VERSION`]).
pub fn feature_id(version: i64, level: Level, n: u32) -> Option<i64> {
    let n = i64::from(n);
    ((1..MAX_VERSION).contains(&version) && n < PER_LEVEL)
        .then(|| version * PER_VERSION + i64::from(level.get()) * PER_LEVEL + n)
}

/// What a feature id names: version, level and dense number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GridId {
    pub version: i64,
    pub level: Level,
    pub n: u32,
}

impl GridId {
    /// The inverse of [`feature_id`]; `None` for a number no grid can have.
    pub fn parse(id: i64) -> Option<GridId> {
        let version = id / PER_VERSION;
        let rest = id % PER_VERSION;
        let level = Level::new(u8::try_from(rest / PER_LEVEL).ok()?)?;
        let n = u32::try_from(rest % PER_LEVEL).ok()?;
        (1..MAX_VERSION)
            .contains(&version)
            .then_some(GridId { version, level, n })
    }
}

/// What an items request of a plan collection keeps.
#[derive(Debug, Clone, Copy, Default)]
pub struct Filter {
    /// Grids whose bounding box meets it.
    pub bbox: Option<Rect<f64>>,
    pub level: Option<Level>,
}

impl Filter {
    fn keeps(&self, g: &Grid) -> bool {
        self.level.is_none_or(|l| g.level == l)
            && self
                .bbox
                .is_none_or(|b| g.geometry.bounding_rect().is_some_and(|r| r.intersects(&b)))
    }
}

/// One grid of an evaluated, saved plan with its id.
#[derive(Debug, Clone, Copy)]
pub struct Shown<'a> {
    pub id: i64,
    pub plan: &'a RegionPlan,
    pub grid: &'a Grid,
}

/// The grids of `plans` that `filter` keeps, by region, then id. Grids of
/// an unsaved plan (no version) or past the id scheme are left out, the
/// latter with a warning.
pub fn grids<'a>(plans: &'a [Arc<RegionPlan>], filter: &Filter) -> Vec<Shown<'a>> {
    let mut out = Vec::new();
    for p in plans {
        let Some(v) = &p.version else { continue };
        for g in p.grids.iter().filter(|g| filter.keeps(g)) {
            match feature_id(v.id, g.level, g.id) {
                Some(id) => out.push(Shown {
                    id,
                    plan: p.as_ref(),
                    grid: g,
                }),
                None => {
                    tracing::warn!(plan = v.id, grid = %g.code, "grid past the OGC id scheme: left out");
                }
            }
        }
    }
    out.sort_by_key(|s| (s.plan.region, s.id));
    out
}

/// The grid `id` names among `plans`, when one of them holds it.
pub fn find(plans: &[Arc<RegionPlan>], id: i64) -> Option<Shown<'_>> {
    let want = GridId::parse(id)?;
    let plan = plans
        .iter()
        .find(|p| p.version.as_ref().is_some_and(|v| v.id == want.version))?;
    let grid = plan
        .grids
        .iter()
        .find(|g| g.level == want.level && g.id == want.n)?;
    Some(Shown {
        id,
        plan: plan.as_ref(),
        grid,
    })
}

impl Shown<'_> {
    /// The GeoJSON feature: figures as properties, no personal field.
    pub fn feature(&self) -> Value {
        let (g, p) = (self.grid, self.plan);
        let version = p.version.as_ref();
        json!({
            "type": "Feature",
            "id": self.id,
            "geometry": geojson::Geometry::from(&g.geometry),
            "properties": {
                "version": version.map(|v| v.id),
                "number": version.map(|v| v.number),
                "region": p.region,
                "level": g.level.get(),
                "code": g.code,
                "parent": g.parent,
                "households": g.metrics.households,
                "balance": g.metrics.deviation,
                "in_range": g.metrics.in_range,
            },
        })
    }
}

/// The bounding box of the regions a plan collection covers (their plans'
/// grids tile them), `None` when it covers none.
pub fn extent(regions: impl IntoIterator<Item = Option<Rect<f64>>>) -> Option<Rect<f64>> {
    regions.into_iter().flatten().reduce(crate::spatial::cover)
}

/// The title and description of a plan collection.
pub fn title(set: PlanSet) -> (&'static str, &'static str) {
    match set {
        PlanSet::Current => (
            "Current plan grids",
            "the grids of all three levels of each region's newest plan version, with households and balance; ?version= gives another version's",
        ),
        PlanSet::Published => (
            "Published plan grids",
            "the grids of all three levels of each region's newest published plan version (none for a region never published); ?version= gives another version's",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_stay_below_2_53_and_refuse_what_no_grid_has() {
        let id = feature_id(42, Level::THREE, 17).unwrap();
        assert_eq!(id, 42_300_017);
        assert_eq!(
            GridId::parse(id),
            Some(GridId {
                version: 42,
                level: Level::THREE,
                n: 17
            })
        );
        let top = feature_id(MAX_VERSION - 1, Level::THREE, 99_999).unwrap();
        assert!(top < 1 << 53, "{top}");
        assert_eq!(GridId::parse(top).unwrap().version, MAX_VERSION - 1);
        assert_eq!(feature_id(MAX_VERSION, Level::ONE, 0), None);
        assert_eq!(feature_id(0, Level::ONE, 0), None);
        assert_eq!(feature_id(7, Level::ONE, 100_000), None);
        // Level digit 0 or 4..9, negative, zero: no grid.
        for bad in [
            42_000_017,
            42_400_000,
            42_900_001,
            -42_300_017,
            0,
            5,
            300_017,
        ] {
            assert_eq!(GridId::parse(bad), None, "{bad}");
        }
        // Distinct grids, distinct ids, across versions and levels.
        let mut seen = std::collections::HashSet::new();
        for v in [1, 2, 999_999, 1_000_000] {
            for l in Level::ALL {
                for n in [0, 1, 99_999] {
                    assert!(seen.insert(feature_id(v, l, n).unwrap()));
                }
            }
        }
    }
}
