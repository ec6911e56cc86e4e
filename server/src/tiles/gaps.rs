//! Coverage findings as tiles draw them: the places of a leaf region's
//! findings (uncovered land, overlaps, grids short of staff or overloaded,
//! hexagon cells of unreached vulnerable households). Findings that are a
//! household's own point are never tiled: where a vulnerable household
//! lives is personal.

use geo::BoundingRect;
use geo_types::{Geometry, MultiPolygon, Rect};

use crate::access::Scope;
use crate::coverage::{FindingKind, Options};
use crate::domain::{Policy, RegionCode};
use crate::snapshot::Snapshot;

/// One finding with an area.
#[derive(Debug, Clone)]
pub struct GapFeature {
    pub kind: String,
    pub kind_name: &'static str,
    pub severity: String,
    pub region: RegionCode,
    pub level: Option<u8>,
    pub households: u64,
    pub vulnerable: u64,
    pub area_m2: f64,
    pub geometry: MultiPolygon<f64>,
    pub bbox: Option<Rect<f64>>,
}

fn name<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The findings of one leaf region, analysed as the coverage API does
/// (reach along the walking network). The region's own analysis does not
/// depend on who asks: tiles filter regions by scope, not findings.
pub fn region_gaps(s: &Snapshot, policy: &Policy, code: RegionCode) -> Vec<GapFeature> {
    let (report, _) =
        crate::coverage::region::analyse(s, policy, code, &Scope::all(), Options::default(), 0);
    report
        .findings
        .into_iter()
        .filter(|f| f.region == code)
        .filter(|f| {
            !matches!(
                f.kind,
                FindingKind::NoGrid | FindingKind::SeveralGrids | FindingKind::Unreached
            )
        })
        .filter_map(|f| {
            let geometry = match f.geometry? {
                Geometry::Polygon(p) => MultiPolygon(vec![p]),
                Geometry::MultiPolygon(m) => m,
                _ => return None,
            };
            Some(GapFeature {
                kind: name(&f.kind),
                kind_name: f.kind.name_zh(),
                severity: name(&f.severity),
                region: f.region,
                level: f.level.map(|l| l.get()),
                households: f.households,
                vulnerable: f.vulnerable,
                area_m2: f.area_m2,
                bbox: geometry.bounding_rect(),
                geometry,
            })
        })
        .collect()
}
