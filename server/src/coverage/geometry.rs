//! Geometric coverage of one region's imported grids: land in no grid,
//! overlaps within a level, grids reaching outside the region, and grids
//! not inside their parent. All work happens in metres on the region's
//! local (equal-area) plane; findings go back to WGS-84.

use geo::{Area, BooleanOps, BoundingRect, Intersects};
use geo_types::{Geometry, MultiPolygon};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, AABB};

use super::Grid;
use super::{Finding, FindingKind, Options, Severity};
use crate::domain::{Level, RegionCode};
use crate::spatial::projection::LocalProjection;

/// What the geometry pass learns about one region.
#[derive(Debug, Default, Clone)]
pub struct RegionGeometry {
    pub land_m2: f64,
    /// Land in a level-1 grid.
    pub covered_m2: f64,
    pub findings: Vec<Finding>,
    /// Area of each grid (by position in the slice given), m².
    pub grid_area_m2: Vec<f64>,
}

/// Checks the grids of one region. `grids` are the region's own (any
/// level); `water` are the water areas that meet the region (not land, so
/// not a gap).
#[allow(
    clippy::too_many_lines,
    reason = "one region's overlay checks in order (uncovered land, overlaps, outside), sharing the projected shapes"
)]
pub fn check_region(
    code: RegionCode,
    boundary: &MultiPolygon<f64>,
    grids: &[&Grid],
    water: &[MultiPolygon<f64>],
    opts: &Options,
) -> RegionGeometry {
    let Some(bbox) = boundary.bounding_rect() else {
        return RegionGeometry::default();
    };
    let proj = LocalProjection::for_bbox(bbox);
    let region = proj.project(boundary);
    let wet: Vec<MultiPolygon<f64>> = water
        .iter()
        .map(|w| proj.project(w))
        .filter(|w| w.intersects(&region))
        .collect();
    let land = if wet.is_empty() {
        region.clone()
    } else {
        region.difference(&union(&wet))
    };
    let local: Vec<MultiPolygon<f64>> = grids.iter().map(|g| proj.project(&g.geometry)).collect();
    let mut out = RegionGeometry {
        land_m2: land.unsigned_area(),
        grid_area_m2: local.iter().map(Area::unsigned_area).collect(),
        ..RegionGeometry::default()
    };
    let back = |m: &MultiPolygon<f64>| proj.unproject(m);
    for level in Level::ALL {
        let at: Vec<usize> = (0..grids.len())
            .filter(|&i| grids[i].level == level)
            .collect();
        if at.is_empty() && level != Level::ONE {
            continue; // a region gridded at level 1 only is not missing levels
        }
        let parts: Vec<MultiPolygon<f64>> = at.iter().map(|&i| local[i].clone()).collect();
        let merged = union(&parts);
        // Land in no grid of this level.
        let gap = land.difference(&merged);
        if level == Level::ONE {
            out.covered_m2 = (out.land_m2 - gap.unsigned_area()).max(0.0);
        }
        for p in gap.0 {
            let a = p.unsigned_area();
            if a <= opts.tolerance_m2 {
                continue;
            }
            let sliver = a < opts.sliver_m2;
            out.findings.push(Finding {
                kind: if sliver {
                    FindingKind::Sliver
                } else {
                    FindingKind::Gap
                },
                severity: if sliver {
                    Severity::Low
                } else if level == Level::ONE {
                    Severity::High
                } else {
                    Severity::Medium
                },
                region: code,
                level: Some(level),
                grids: Vec::new(),
                area_m2: a,
                households: 0,
                vulnerable: 0,
                geometry: Some(Geometry::MultiPolygon(back(&MultiPolygon(vec![p])))),
            });
        }
        // Overlaps: the areas add up to more than their union only when
        // some grids overlap, so the pairwise pass runs only then.
        let sum: f64 = at.iter().map(|&i| out.grid_area_m2[i]).sum();
        if sum - merged.unsigned_area() > opts.tolerance_m2 {
            for (i, j, o) in overlaps(&at, &local, opts.tolerance_m2) {
                out.findings.push(Finding {
                    kind: FindingKind::Overlap,
                    severity: Severity::High,
                    region: code,
                    level: Some(level),
                    grids: vec![grids[i].code.0.clone(), grids[j].code.0.clone()],
                    area_m2: o.unsigned_area(),
                    households: 0,
                    vulnerable: 0,
                    geometry: Some(Geometry::MultiPolygon(back(&o))),
                });
            }
        }
    }
    // Reaching outside the region (water inside the region is fine).
    for (i, g) in grids.iter().enumerate() {
        let outside = local[i].difference(&region);
        let a = outside.unsigned_area();
        if a > opts.tolerance_m2 {
            out.findings.push(Finding {
                kind: FindingKind::Outside,
                severity: Severity::Medium,
                region: code,
                level: Some(g.level),
                grids: vec![g.code.0.clone()],
                area_m2: a,
                households: 0,
                vulnerable: 0,
                geometry: Some(Geometry::MultiPolygon(back(&outside))),
            });
        }
    }
    // Nesting: each level-n grid inside one level-(n-1) grid: the one its
    // record names, else the one it overlaps most.
    for (i, g) in grids.iter().enumerate() {
        let Some(up) = Level::new(g.level.get() - 1) else {
            continue;
        };
        let parents: Vec<usize> = (0..grids.len()).filter(|&j| grids[j].level == up).collect();
        if parents.is_empty() {
            continue;
        }
        let named = g
            .parent
            .as_ref()
            .and_then(|p| parents.iter().copied().find(|&j| &grids[j].code == p));
        let parent = named.or_else(|| {
            parents
                .iter()
                .copied()
                .filter(|&j| bbox_meets(&local[i], &local[j]))
                .map(|j| (j, local[i].intersection(&local[j]).unsigned_area()))
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .map(|(j, _)| j)
        });
        let out_of_parent = match parent {
            Some(j) => local[i].difference(&local[j]),
            None => local[i].clone(),
        };
        let a = out_of_parent.unsigned_area();
        if a > opts.tolerance_m2 {
            let mut codes = vec![g.code.0.clone()];
            if let Some(j) = parent {
                codes.push(grids[j].code.0.clone());
            }
            out.findings.push(Finding {
                kind: FindingKind::Nesting,
                severity: Severity::Medium,
                region: code,
                level: Some(g.level),
                grids: codes,
                area_m2: a,
                households: 0,
                vulnerable: 0,
                geometry: Some(Geometry::MultiPolygon(back(&out_of_parent))),
            });
        }
    }
    out
}

/// The union of many polygons, pairwise in a balanced tree so each step
/// merges pieces of similar size.
pub fn union(parts: &[MultiPolygon<f64>]) -> MultiPolygon<f64> {
    match parts.len() {
        0 => MultiPolygon(Vec::new()),
        1 => parts[0].clone(),
        n => union(&parts[..n / 2]).union(&union(&parts[n / 2..])),
    }
}

fn bbox_meets(a: &MultiPolygon<f64>, b: &MultiPolygon<f64>) -> bool {
    match (a.bounding_rect(), b.bounding_rect()) {
        (Some(x), Some(y)) => x.intersects(&y),
        _ => false,
    }
}

type Boxed = GeomWithData<Rectangle<[f64; 2]>, usize>;

/// Pairs of grids (positions into `local`) whose interiors overlap by more
/// than `tol` m², with the overlap.
fn overlaps(
    at: &[usize],
    local: &[MultiPolygon<f64>],
    tol: f64,
) -> Vec<(usize, usize, MultiPolygon<f64>)> {
    let tree: RTree<Boxed> = RTree::bulk_load(
        at.iter()
            .filter_map(|&i| {
                let r = local[i].bounding_rect()?;
                Some(Boxed::new(
                    Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]),
                    i,
                ))
            })
            .collect(),
    );
    let mut out = Vec::new();
    for &i in at {
        let Some(r) = local[i].bounding_rect() else {
            continue;
        };
        let env = AABB::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]);
        for e in tree.locate_in_envelope_intersecting(&env) {
            let j = e.data;
            if j <= i {
                continue;
            }
            let o = local[i].intersection(&local[j]);
            if o.unsigned_area() > tol {
                out.push((i, j, o));
            }
        }
    }
    out
}
