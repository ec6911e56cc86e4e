//! The ground a region's plan is made from: its households and the roads
//! and water near it, and the same ground in the region's local plane.

use std::collections::{HashMap, HashSet};

use geo::BoundingRect;
use geo_types::{Geometry, MultiPolygon, Rect};

use super::super::atoms::{Cut, Dweller, EdgeKind};
use crate::domain::{Atom, Building, Household, Region, RegionCode, Road, Water};
use crate::spatial::projection::LocalProjection;

/// Everything one region's plan is made from.
#[derive(Debug, Clone)]
pub struct Ground<'d> {
    pub region: &'d Region,
    pub roads: Vec<&'d Road>,
    pub water: Vec<&'d Water>,
    pub households: Vec<&'d Household>,
    /// Buildings near it, when the caller gave them ([`attach_buildings`]):
    /// land whose buildings hold no homes is kept whole
    /// (see `no_homes` in this module).
    pub buildings: Vec<&'d Building>,
}

/// The leaf regions at or under `within` (all when `None`), each with the
/// roads and water near it and its households.
pub fn grounds<'d>(
    regions: &'d [Region],
    roads: &'d [Road],
    water: &'d [Water],
    households: impl IntoIterator<Item = &'d Household>,
    within: Option<RegionCode>,
) -> Vec<Ground<'d>> {
    let parents = crate::domain::region::parents(regions);
    let has_children: HashSet<RegionCode> = parents.values().copied().collect();
    let under = |mut c: RegionCode| loop {
        if Some(c) == within || within.is_none() {
            return true;
        }
        match parents.get(&c) {
            Some(&p) => c = p,
            None => return false,
        }
    };
    let mut by_region: HashMap<RegionCode, Vec<&Household>> = HashMap::new();
    for h in households {
        if let Some(r) = h.region {
            by_region.entry(r).or_default().push(h);
        }
    }
    regions
        .iter()
        .filter(|r| !has_children.contains(&r.code) && under(r.code))
        .filter_map(|r| {
            let bbox = grow(r.boundary.bounding_rect()?, 0.001);
            Some(Ground {
                region: r,
                // Tunnels run under the blocks: no boundary follows them.
                roads: roads
                    .iter()
                    .filter(|x| x.grade.at_street_level())
                    .filter(|x| x.geometry.bounding_rect().is_some_and(|b| meets(b, bbox)))
                    .collect(),
                water: water
                    .iter()
                    .filter(|x| x.geometry.bounding_rect().is_some_and(|b| meets(b, bbox)))
                    .collect(),
                households: by_region.remove(&r.code).unwrap_or_default(),
                buildings: Vec::new(),
            })
        })
        .collect()
}

/// Gives each ground the buildings near its region. Only plans made from
/// scratch use them; evaluating or editing a stored plan does not.
pub fn attach_buildings<'d>(grounds: &mut [Ground<'d>], buildings: &'d [Building]) {
    use rstar::primitives::{GeomWithData, Rectangle};
    use rstar::{RTree, AABB};
    let tree = RTree::bulk_load(
        buildings
            .iter()
            .enumerate()
            .filter_map(|(i, b)| {
                let r = b.geometry.bounding_rect()?;
                Some(GeomWithData::new(
                    Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]),
                    i,
                ))
            })
            .collect(),
    );
    for g in grounds {
        let Some(r) = g.region.boundary.bounding_rect() else {
            continue;
        };
        let r = grow(r, 0.001);
        let mut near: Vec<usize> = tree
            .locate_in_envelope_intersecting(&AABB::from_corners(
                [r.min().x, r.min().y],
                [r.max().x, r.max().y],
            ))
            .map(|e| e.data)
            .collect();
        near.sort_unstable();
        g.buildings = near.into_iter().map(|i| &buildings[i]).collect();
    }
}

fn grow(r: Rect<f64>, d: f64) -> Rect<f64> {
    Rect::new(
        (r.min().x - d, r.min().y - d),
        (r.max().x + d, r.max().y + d),
    )
}

pub(super) fn meets(a: Rect<f64>, b: Rect<f64>) -> bool {
    a.min().x <= b.max().x
        && b.min().x <= a.max().x
        && a.min().y <= b.max().y
        && b.min().y <= a.max().y
}

/// The ground in the region's local plane.
pub(super) struct Local {
    pub(super) proj: LocalProjection,
    pub(super) boundary: MultiPolygon<f64>,
    pub(super) cuts: Vec<Cut>,
    pub(super) dwellers: Vec<Dweller>,
}

pub(super) fn local(g: &Ground<'_>) -> Option<Local> {
    let proj = LocalProjection::for_bbox(g.region.boundary.bounding_rect()?);
    let mut cuts = Vec::new();
    for r in &g.roads {
        cuts.push(Cut {
            line: proj.project(&r.geometry),
            kind: EdgeKind::of_road(r.class),
        });
    }
    for w in &g.water {
        let mut rings = Vec::new();
        match &w.geometry {
            Geometry::LineString(l) => rings.push(l.clone()),
            Geometry::MultiLineString(m) => rings.extend(m.0.iter().cloned()),
            Geometry::Polygon(p) => {
                rings.push(p.exterior().clone());
                rings.extend(p.interiors().iter().cloned());
            }
            Geometry::MultiPolygon(m) => {
                for p in &m.0 {
                    rings.push(p.exterior().clone());
                    rings.extend(p.interiors().iter().cloned());
                }
            }
            _ => {}
        }
        for l in rings {
            cuts.push(Cut {
                line: proj.project(&l),
                kind: EdgeKind::River,
            });
        }
    }
    Some(Local {
        boundary: proj.project(&g.region.boundary),
        dwellers: g
            .households
            .iter()
            .map(|h| Dweller {
                at: proj.forward(h.location.0),
                building: h.building,
            })
            .collect(),
        cuts,
        proj,
    })
}

/// Stored atoms in the region's local plane.
pub(super) fn local_pieces(
    loc: &Local,
    atoms: &[Atom],
) -> Vec<(geo_types::Polygon<f64>, crate::domain::AtomKind)> {
    atoms
        .iter()
        .flat_map(|a| {
            loc.proj
                .project(&a.geometry)
                .0
                .into_iter()
                .map(move |poly| (poly, a.kind))
        })
        .collect()
}
