//! What each source puts in a tile: the snapshot's features in the tile's
//! bounds and the caller's scope, with the attributes tiles may carry.

use std::collections::BTreeMap;

use geo::BoundingRect;
use geo_types::{Geometry, Rect};

use std::sync::Arc;

use super::gaps::GapFeature;
use super::grids::RegionGrids;
use super::mvt::{Frame, Layer, LayerBuilder, Prop, EXTENT};
use super::{Source, HOUSEHOLD_POINTS_FROM};
use crate::access::projection::Detail;
use crate::access::Scope;
use crate::domain::{RegionCode, RoadClass};
use crate::snapshot::Snapshot;

/// Cells households are counted in below [`HOUSEHOLD_POINTS_FROM`], in
/// tile units (32 cells a side).
const CELL: u32 = 128;

fn meets(a: Rect<f64>, b: Rect<f64>) -> bool {
    a.min().x <= b.max().x
        && b.min().x <= a.max().x
        && a.min().y <= b.max().y
        && b.min().y <= a.max().y
}

fn shows(source: Source, layer: &str, z: u8) -> bool {
    source
        .layer(layer)
        .is_some_and(|l| (l.minzoom..=l.maxzoom).contains(&z))
}

/// Derived per-region content, computed once and cached by the caller
/// (see [`super::TileCache`]).
pub struct Derived<'a> {
    pub grids: &'a dyn Fn(RegionCode) -> Arc<RegionGrids>,
    pub gaps: &'a dyn Fn(RegionCode) -> Arc<Vec<GapFeature>>,
    /// k: the fewest households a count shown to a counts-only caller holds.
    pub min_cell_households: u32,
}

/// The layers of one tile, as a caller with `scope` who sees households
/// and people at `detail` may see it: counts-only callers get k-anonymous
/// household cells at every zoom ([`super::cells`]), no people, and no
/// finding counting fewer than k households.
pub fn render(
    s: &Snapshot,
    source: Source,
    frame: &Frame,
    scope: &Scope,
    detail: Detail,
    derived: &Derived<'_>,
) -> Vec<Layer> {
    let min_count = derived.min_cell_households;
    match (detail, source) {
        (Detail::Counts, Source::Households) => {
            return super::cells::layer(s, frame, scope, min_count)
                .into_iter()
                .collect();
        }
        (Detail::Counts, Source::People) => return Vec::new(),
        _ => {}
    }
    let c = Cut {
        s,
        source,
        frame,
        scope,
        detail,
        derived,
        bounds: frame.bounds(),
    };
    let mut out = Vec::new();
    match source {
        Source::Regions => regions(&c, &mut out),
        Source::Grids => grids(&c, &mut out),
        Source::Atoms => atoms(&c, &mut out),
        Source::Households => households(&c, &mut out),
        Source::People => people(&c, &mut out),
        Source::Gaps => gaps(&c, &mut out),
        Source::Basemap => basemap(&c, &mut out),
    }
    out
}

/// What every source's layers are cut with.
#[derive(Clone, Copy)]
struct Cut<'a> {
    s: &'a Snapshot,
    source: Source,
    frame: &'a Frame,
    scope: &'a Scope,
    detail: Detail,
    derived: &'a Derived<'a>,
    bounds: Rect<f64>,
}

/// Region boundaries and a label point inside each, with their depth.
fn regions(c: &Cut<'_>, out: &mut Vec<Layer>) {
    let Cut {
        s,
        frame,
        scope,
        bounds,
        ..
    } = *c;
    let all = usize::MAX;
    let mut polys = LayerBuilder::new("regions");
    let mut labels = LayerBuilder::new("region_labels");
    let items = s.regions.query(Some(bounds), scope, 0, all).items;
    // `depth`: how many ancestors a region has in the snapshot (0 for
    // a street, 1 for its communities), so the viewer names streets
    // first. One code → parent map per tile; regions are few.
    let parents: std::collections::HashMap<RegionCode, Option<RegionCode>> = if items.is_empty() {
        std::collections::HashMap::new()
    } else {
        s.regions
            .items()
            .iter()
            .map(|r| (r.code, r.parent))
            .collect()
    };
    let depth = |mut p: Option<RegionCode>| {
        let mut d = 0u32;
        while let Some(code) = p {
            match parents.get(&code) {
                // Bounded: a cycle in bad data must not hang a tile.
                Some(up) if d < 16 => {
                    d += 1;
                    p = *up;
                }
                _ => break,
            }
        }
        d
    };
    for r in items {
        let code = r.code.to_string();
        let d = depth(r.parent);
        if let Some(g) = frame.polygons(&r.boundary) {
            let mut props = vec![
                ("code", Prop::from(code.clone())),
                ("name", r.name.as_str().into()),
                ("depth", d.into()),
            ];
            if let Some(p) = r.parent {
                props.push(("parent", p.to_string().into()));
            }
            polys.add(Some(r.code.as_u64()), g, &props);
        }
        if let Some(p) = geo::InteriorPoint::interior_point(&r.boundary) {
            if let Some(g) = frame.points([p.0]) {
                labels.add(
                    Some(r.code.as_u64()),
                    g,
                    &[
                        ("code", code.into()),
                        ("name", r.name.as_str().into()),
                        ("depth", d.into()),
                    ],
                );
            }
        }
    }
    out.push(polys.finish());
    out.push(labels.finish());
}

/// Grids of each region in the tile by level, with labels.
fn grids(c: &Cut<'_>, out: &mut Vec<Layer>) {
    let Cut {
        s,
        source,
        frame,
        scope,
        bounds,
        ..
    } = *c;
    let z = frame.z;
    let all = usize::MAX;
    let grids = c.derived.grids;
    let mut levels = [
        LayerBuilder::new("grid1"),
        LayerBuilder::new("grid2"),
        LayerBuilder::new("grid3"),
    ];
    let mut labels = LayerBuilder::new("grid_labels");
    let shown: Vec<bool> = ["grid1", "grid2", "grid3"]
        .iter()
        .map(|l| shows(source, l, z))
        .collect();
    if shown.iter().any(|x| *x) {
        for r in s.regions.query(Some(bounds), scope, 0, all).items {
            let rg = grids(r.code);
            let region = r.code.to_string();
            for (i, g) in rg.grids.iter().enumerate() {
                let l = usize::from(g.level.clamp(1, 3)) - 1;
                if !shown[l] || !g.bbox.is_some_and(|b| meets(b, bounds)) {
                    continue;
                }
                let mut props = vec![
                    ("code", Prop::from(g.code.as_str())),
                    ("level", Prop::from(u32::from(g.level))),
                    ("region", Prop::from(region.as_str())),
                    ("balance", Prop::from(g.balance)),
                ];
                if let Some(p) = &g.parent {
                    props.push(("parent", p.as_str().into()));
                }
                if let Some(h) = g.households {
                    props.push(("households", h.into()));
                }
                if let Some(d) = g.deviation {
                    props.push(("deviation", ((d * 1000.0).round() / 1000.0).into()));
                }
                // Feature ids: unique within the tile, stable across edits
                // that keep the grid (region code bits + position).
                let id = (r.code.as_u64() << 20) ^ i as u64;
                if let Some(geom) = frame.polygons_ranked(&g.ranked) {
                    levels[l].add(Some(id), geom, &props);
                }
                if let Some(p) = g.label.and_then(|p| frame.points([p.0])) {
                    labels.add(Some(id), p, &props);
                }
            }
        }
    }
    out.extend(levels.map(LayerBuilder::finish));
    out.push(labels.finish());
}

/// Atoms, from the zoom they show at.
fn atoms(c: &Cut<'_>, out: &mut Vec<Layer>) {
    let Cut {
        s,
        source,
        frame,
        scope,
        bounds,
        ..
    } = *c;
    let z = frame.z;
    let all = usize::MAX;
    let mut l = LayerBuilder::new("atoms");
    if shows(source, "atoms", z) {
        for a in s.atoms.query(Some(bounds), scope, 0, all).items {
            if let Some(g) = frame.polygons(&a.geometry) {
                // The layer-wide id, as in the GeoPackage and OGC.
                l.add(
                    Some(a.feature_id() as u64),
                    g,
                    &[
                        ("id", Prop::Int(a.feature_id())),
                        ("atom", Prop::from(a.id)),
                        ("kind", a.kind.as_str().into()),
                        ("region", a.region.to_string().into()),
                    ],
                );
            }
        }
    }
    out.push(l.finish());
}

/// Household points (id only) from [`HOUSEHOLD_POINTS_FROM`], counts per cell below.
fn households(c: &Cut<'_>, out: &mut Vec<Layer>) {
    let Cut {
        s,
        source,
        frame,
        scope,
        bounds,
        ..
    } = *c;
    let z = frame.z;
    let all = usize::MAX;
    let page = s.households.query(Some(bounds), scope, 0, all);
    if z >= HOUSEHOLD_POINTS_FROM {
        let mut l = LayerBuilder::new("households");
        for h in page.items {
            if let Some(g) = frame.points([h.location.0]) {
                l.add(Some(h.id as u64), g, &[("id", Prop::Int(h.id))]);
            }
        }
        out.push(l.finish());
    } else if shows(source, "household_cells", z) {
        let e = f64::from(EXTENT);
        let mut cells: BTreeMap<(u32, u32), u32> = BTreeMap::new();
        for h in page.items {
            let p = frame.project(h.location.0);
            if p.x >= 0.0 && p.x < e && p.y >= 0.0 && p.y < e {
                *cells
                    .entry((p.x as u32 / CELL, p.y as u32 / CELL))
                    .or_default() += 1;
            }
        }
        let mut l = LayerBuilder::new("household_cells");
        for ((cx, cy), n) in cells {
            let centre = (cx * CELL + CELL / 2, cy * CELL + CELL / 2);
            l.add(
                Some(u64::from(cy * (EXTENT / CELL) + cx)),
                Frame::tile_point(centre),
                &[("count", n.into())],
            );
        }
        out.push(l.finish());
    }
}

/// Grid staff and volunteers: role and availability.
fn people(c: &Cut<'_>, out: &mut Vec<Layer>) {
    let Cut {
        s,
        source,
        frame,
        scope,
        bounds,
        ..
    } = *c;
    let z = frame.z;
    let all = usize::MAX;
    let mut l = LayerBuilder::new("people");
    if shows(source, "people", z) {
        for p in s.people.query(Some(bounds), scope, 0, all).items {
            if let Some(g) = frame.points([p.home.0]) {
                let roles: Vec<&str> = p.roles.iter().map(|r| r.as_str()).collect();
                l.add(
                    Some(p.id as u64),
                    g,
                    &[
                        ("id", Prop::Int(p.id)),
                        ("role", roles.first().copied().unwrap_or("").into()),
                        ("roles", roles.join(",").into()),
                        ("available", p.available().into()),
                        ("status", p.status.as_str().into()),
                        ("reserve", p.reserve.into()),
                    ],
                );
            }
        }
    }
    out.push(l.finish());
}

/// Coverage findings with an area, of leaf regions; for counts-only
/// callers none counting fewer than k households.
fn gaps(c: &Cut<'_>, out: &mut Vec<Layer>) {
    let Cut {
        s,
        source,
        frame,
        scope,
        detail,
        derived,
        bounds,
        ..
    } = *c;
    let z = frame.z;
    let all = usize::MAX;
    let min_count = c.derived.min_cell_households;
    let mut l = LayerBuilder::new("gaps");
    if shows(source, "gaps", z) {
        // Leaf regions only: a street's findings are its communities'.
        let parents: std::collections::HashSet<RegionCode> =
            s.regions.items().iter().filter_map(|r| r.parent).collect();
        for r in s.regions.query(Some(bounds), scope, 0, all).items {
            if parents.contains(&r.code) {
                continue;
            }
            for (i, g) in (derived.gaps)(r.code).iter().enumerate() {
                if !g.bbox.is_some_and(|b| meets(b, bounds)) {
                    continue;
                }
                let few = |n: u64| n > 0 && n < u64::from(min_count);
                if detail == Detail::Counts && (few(g.households) || few(g.vulnerable)) {
                    continue;
                }
                let Some(geom) = frame.polygons(&g.geometry) else {
                    continue;
                };
                let mut props = vec![
                    ("kind", Prop::from(g.kind.as_str())),
                    ("kind_name", Prop::from(g.kind_name)),
                    ("severity", Prop::from(g.severity.as_str())),
                    ("region", Prop::from(g.region.to_string())),
                    ("households", Prop::Int(g.households as i64)),
                    ("vulnerable", Prop::Int(g.vulnerable as i64)),
                    ("area_m2", Prop::Num(g.area_m2.round())),
                ];
                if let Some(lv) = g.level {
                    props.push(("level", u32::from(lv).into()));
                }
                l.add(Some((r.code.as_u64() << 20) ^ i as u64), geom, &props);
            }
        }
    }
    out.push(l.finish());
}

/// Water, roads and buildings: every caller sees them.
fn basemap(c: &Cut<'_>, out: &mut Vec<Layer>) {
    let Cut {
        s,
        source,
        frame,
        bounds,
        ..
    } = *c;
    let z = frame.z;
    let all = usize::MAX;
    let everyone = Scope::all();
    // One geometry type per layer, as in the GeoPackage and OGC.
    let mut water = LayerBuilder::new("water");
    let mut waterways = LayerBuilder::new("waterways");
    for w in s.water.query(Some(bounds), &everyone, 0, all).items {
        let props = [
            ("kind", Prop::from(w.kind.as_str())),
            ("name", w.name.as_str().into()),
        ];
        let (g, into) = match &w.geometry {
            Geometry::Polygon(p) => (
                frame.polygons(&geo_types::MultiPolygon(vec![p.clone()])),
                &mut water,
            ),
            Geometry::MultiPolygon(m) => (frame.polygons(m), &mut water),
            Geometry::LineString(l) => (frame.lines([l]), &mut waterways),
            Geometry::MultiLineString(m) => (frame.lines(&m.0), &mut waterways),
            _ => continue,
        };
        if let Some(g) = g {
            into.add(Some(w.id as u64), g, &props);
        }
    }
    out.push(water.finish());
    out.push(waterways.finish());
    if shows(source, "roads", z) {
        let minor_too = z >= 13;
        let mut roads = LayerBuilder::new("roads");
        for r in s.roads.query(Some(bounds), &everyone, 0, all).items {
            let major = matches!(
                r.class,
                RoadClass::Motorway
                    | RoadClass::Primary
                    | RoadClass::Secondary
                    | RoadClass::Railway
            );
            if !(major || minor_too) {
                continue;
            }
            if let Some(g) = frame.lines([&r.geometry]) {
                roads.add(
                    Some(r.id as u64),
                    g,
                    &[
                        ("class", Prop::from(r.class.as_str())),
                        ("name", r.name.as_str().into()),
                        // Tunnels are drawn dashed.
                        ("grade", r.grade.as_str().into()),
                    ],
                );
            }
        }
        out.push(roads.finish());
    }
    if shows(source, "buildings", z) {
        let mut b = LayerBuilder::new("buildings");
        for x in s.buildings.query(Some(bounds), &everyone, 0, all).items {
            if x.geometry.bounding_rect().is_none() {
                continue;
            }
            if let Some(g) = frame.polygons(&x.geometry) {
                let mut props = vec![
                    ("kind", Prop::from(x.kind.as_str())),
                    ("use", x.building_use().as_str().into()),
                ];
                if let Some(n) = x.levels {
                    props.push(("levels", u32::from(n).into()));
                }
                b.add(Some(x.id as u64), g, &props);
            }
        }
        out.push(b.finish());
    }
}
