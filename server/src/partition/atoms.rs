//! Atoms of one region: the faces its roads, rivers and railways cut it
//! into, slivers merged, blocks too heavy for one level-3 grid split into
//! groups of buildings, and lattice cells where no lines are known.
//!
//! All work happens in metres on the region's local plane. Noding and
//! face-building are i_overlay's (geo's own boolean engine): it snaps
//! every vertex to one integer grid, so faces share their edges exactly
//! and tile the region without gaps or overlaps.

use std::collections::HashMap;

use geo::{Area, BooleanOps, BoundingRect, Euclidean, Intersects, Length};
use geo_types::{Coord, LineString, MultiPolygon, Point, Polygon, Rect};
use i_overlay::core::fill_rule::FillRule;
use i_overlay::float::slice::FloatSlice;
use rstar::primitives::{GeomWithData, Line as RLine, Rectangle};
use rstar::{PointDistance, RTree, AABB};
use serde::Serialize;

use super::AtomGraph;
use crate::domain::{AtomKind, RoadClass};

/// What a boundary between two atoms runs along; cuts prefer the later
/// kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EdgeKind {
    /// Through a block, a lattice line or a building-group cut.
    Open,
    Path,
    Minor,
    Major,
    River,
    Railway,
}

impl EdgeKind {
    pub fn of_road(class: RoadClass) -> Self {
        match class {
            RoadClass::Motorway
            | RoadClass::Primary
            | RoadClass::Secondary
            | RoadClass::Tertiary => Self::Major,
            RoadClass::Residential | RoadClass::Service => Self::Minor,
            RoadClass::Path => Self::Path,
            RoadClass::Railway => Self::Railway,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Path => "path",
            Self::Minor => "minor",
            Self::Major => "major",
            Self::River => "river",
            Self::Railway => "railway",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Open,
            Self::Path,
            Self::Minor,
            Self::Major,
            Self::River,
            Self::Railway,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }

    /// A grid boundary along it counts as following a road.
    pub fn is_line(self) -> bool {
        self != Self::Open
    }
}

/// A line that cuts the region: a road, a railway, a river or a water
/// area's shore.
#[derive(Debug, Clone)]
pub struct Cut {
    pub line: LineString<f64>,
    pub kind: EdgeKind,
}

/// How atoms are made.
#[derive(Debug, Clone)]
pub struct Options {
    /// Side of the lattice cells where no lines are known, metres.
    pub lattice_m: f64,
    /// Faces smaller than this (m²) merge into their longest neighbour.
    pub sliver_m2: f64,
    /// Blocks with more households than this (the level-3 maximum) are
    /// split into groups of buildings.
    pub max_households: u32,
    /// Households per building group aimed at when splitting.
    pub group_households: u32,
    /// Kinds no grid may grow across: atoms on either side are not
    /// neighbours in the graph.
    pub barriers: Vec<EdgeKind>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            lattice_m: 50.0,
            sliver_m2: 20.0,
            max_households: 50,
            group_households: 20,
            barriers: Vec::new(),
        }
    }
}

/// A household to place: where it is, and the building it lives in (its
/// group stays together when a block is split).
#[derive(Debug, Clone, Copy)]
pub struct Dweller {
    pub at: Coord<f64>,
    pub building: Option<i64>,
}

/// A shared boundary between two atoms.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Edge {
    pub a: u32,
    pub b: u32,
    pub length_m: f64,
    /// What most of it runs along.
    pub kind: EdgeKind,
}

/// The atoms of one region, in local metres.
#[derive(Debug, Clone, Default)]
pub struct Atoms {
    pub geometry: Vec<Polygon<f64>>,
    pub kind: Vec<AtomKind>,
    pub area_m2: Vec<f64>,
    pub centroid: Vec<Coord<f64>>,
    /// Households per atom.
    pub households: Vec<u32>,
    /// The atom of each household given, in the order given.
    pub of_household: Vec<u32>,
    pub edges: Vec<Edge>,
    /// Boundary length on the region's border (or a barrier), per atom.
    pub outer_m: Vec<f64>,
    /// Atoms heavier than the level-3 maximum that could not be split (one
    /// building).
    pub towers: Vec<u32>,
}

impl Atoms {
    pub fn len(&self) -> usize {
        self.geometry.len()
    }

    pub fn is_empty(&self) -> bool {
        self.geometry.is_empty()
    }

    /// The solver's view: barriers are not edges, lines count as roads.
    pub fn graph(&self, barriers: &[EdgeKind]) -> AtomGraph {
        let mut outer = self.outer_m.clone();
        let mut edges = Vec::with_capacity(self.edges.len());
        for e in &self.edges {
            if barriers.contains(&e.kind) {
                outer[e.a as usize] += e.length_m;
                outer[e.b as usize] += e.length_m;
            } else {
                edges.push((e.a, e.b, e.length_m, e.kind.is_line()));
            }
        }
        AtomGraph::new(
            self.households.clone(),
            self.centroid.iter().map(|c| c.x).collect(),
            self.centroid.iter().map(|c| c.y).collect(),
            self.area_m2.clone(),
            outer,
            &edges,
        )
    }
}

/// Builds the atoms of a region (`boundary` and everything else in local
/// metres).
pub fn build(
    boundary: &MultiPolygon<f64>,
    cuts: &[Cut],
    dwellers: &[Dweller],
    opts: &Options,
) -> Atoms {
    let Some(bbox) = boundary.bounding_rect() else {
        return Atoms::default();
    };
    let cuts: Vec<&Cut> = cuts
        .iter()
        .filter(|c| {
            c.line
                .bounding_rect()
                .is_some_and(|r| rect_meets(r, bbox) && c.line.intersects(boundary))
        })
        .collect();
    let mut faces: Vec<(Polygon<f64>, AtomKind)> = if cuts.is_empty() {
        lattice(boundary, bbox, opts.lattice_m)
            .into_iter()
            .map(|p| (p, AtomKind::Lattice))
            .collect()
    } else {
        slice(boundary, cuts.iter().map(|c| &c.line))
            .into_iter()
            .map(|p| (p, AtomKind::Block))
            .collect()
    };
    merge_slivers(&mut faces, opts.sliver_m2);
    let mut members = place(&faces, dwellers);

    // Split what is too heavy for one level-3 grid.
    let mut out_faces = Vec::with_capacity(faces.len());
    let mut out_members = Vec::with_capacity(faces.len());
    for ((poly, kind), m) in faces.into_iter().zip(members.drain(..)) {
        if m.len() as u32 <= opts.max_households {
            out_faces.push((poly, kind));
            out_members.push(m);
            continue;
        }
        let cap = opts.group_households.max(1) as usize;
        for (p, m) in split_heavy(poly, m, dwellers, cap, opts.lattice_m) {
            out_faces.push((p, AtomKind::BuildingGroup));
            out_members.push(m);
        }
    }

    let n = out_faces.len();
    let mut atoms = Atoms {
        households: out_members.iter().map(|m| m.len() as u32).collect(),
        of_household: vec![u32::MAX; dwellers.len()],
        ..Atoms::default()
    };
    for (i, m) in out_members.iter().enumerate() {
        for &h in m {
            atoms.of_household[h] = i as u32;
        }
        if m.len() as u32 > opts.max_households {
            atoms.towers.push(i as u32);
        }
    }
    for (p, k) in out_faces {
        atoms.area_m2.push(p.unsigned_area());
        atoms.centroid.push(centroid(&p));
        atoms.kind.push(k);
        atoms.geometry.push(p);
    }
    let (edges, shared) = adjacency(&atoms.geometry, &cuts);
    atoms.outer_m = (0..n)
        .map(|i| (perimeter(&atoms.geometry[i]) - shared[i]).max(0.0))
        .collect();
    atoms.edges = edges;
    atoms
}

fn rect_meets(a: Rect<f64>, b: Rect<f64>) -> bool {
    a.min().x <= b.max().x
        && b.min().x <= a.max().x
        && a.min().y <= b.max().y
        && b.min().y <= a.max().y
}

fn ring_path(ring: &LineString<f64>) -> Vec<[f64; 2]> {
    let mut pts: Vec<[f64; 2]> = ring.0.iter().map(|c| [c.x, c.y]).collect();
    if pts.len() > 1 && pts.first() == pts.last() {
        pts.pop();
    }
    pts
}

fn shapes_of(mp: &MultiPolygon<f64>) -> Vec<Vec<Vec<[f64; 2]>>> {
    mp.0.iter()
        .map(|p| {
            std::iter::once(p.exterior())
                .chain(p.interiors())
                .map(ring_path)
                .collect()
        })
        .collect()
}

fn polygon_of(shape: &[Vec<[f64; 2]>]) -> Option<Polygon<f64>> {
    let ring = |c: &Vec<[f64; 2]>| {
        let mut r: Vec<Coord<f64>> = c.iter().map(|p| Coord { x: p[0], y: p[1] }).collect();
        if let Some(&f) = r.first() {
            r.push(f);
        }
        LineString(r)
    };
    let outer = shape.first()?;
    (outer.len() >= 3).then(|| {
        Polygon::new(
            ring(outer),
            shape[1..]
                .iter()
                .filter(|c| c.len() >= 3)
                .map(ring)
                .collect(),
        )
    })
}

/// The faces the lines cut the region into.
fn slice<'a>(
    boundary: &MultiPolygon<f64>,
    lines: impl Iterator<Item = &'a LineString<f64>>,
) -> Vec<Polygon<f64>> {
    let paths: Vec<Vec<[f64; 2]>> = lines
        .map(|l| l.0.iter().map(|c| [c.x, c.y]).collect::<Vec<_>>())
        .filter(|p| p.len() >= 2)
        .collect();
    let shapes = shapes_of(boundary);
    shapes
        .slice_by(&paths, FillRule::EvenOdd)
        .iter()
        .filter_map(|s| polygon_of(s))
        .filter(|p| p.unsigned_area() > 0.0)
        .collect()
}

/// Square cells of `side` metres over the region, clipped to it; a cell
/// the region's shape cuts in two gives two atoms.
fn lattice(region: &MultiPolygon<f64>, bbox: Rect<f64>, side: f64) -> Vec<Polygon<f64>> {
    let side = side.max(1.0);
    let (x0, y0) = (bbox.min().x, bbox.min().y);
    let (nx, ny) = (
        ((bbox.width() / side).ceil() as usize).max(1),
        ((bbox.height() / side).ceil() as usize).max(1),
    );
    let mut lines = Vec::new();
    for i in 1..nx {
        let x = x0 + i as f64 * side;
        lines.push(LineString::from(vec![
            (x, y0 - 1.0),
            (x, bbox.max().y + 1.0),
        ]));
    }
    for j in 1..ny {
        let y = y0 + j as f64 * side;
        lines.push(LineString::from(vec![
            (x0 - 1.0, y),
            (bbox.max().x + 1.0, y),
        ]));
    }
    if lines.is_empty() {
        return region.0.clone();
    }
    slice(region, lines.iter())
}

/// Merges faces under `min_m2` into the neighbour they share most boundary
/// with (an isolated sliver stays).
fn merge_slivers(faces: &mut Vec<(Polygon<f64>, AtomKind)>, min_m2: f64) {
    if min_m2 <= 0.0 || faces.len() < 2 {
        return;
    }
    let small: Vec<usize> = (0..faces.len())
        .filter(|&i| faces[i].0.unsigned_area() < min_m2)
        .collect();
    if small.is_empty() {
        return;
    }
    let polys: Vec<Polygon<f64>> = faces.iter().map(|f| f.0.clone()).collect();
    let (edges, _) = adjacency(&polys, &[]);
    let mut best: HashMap<usize, (usize, f64)> = HashMap::new();
    let is_small = |i: usize| polys[i].unsigned_area() < min_m2;
    for e in &edges {
        for (s, o) in [(e.a as usize, e.b as usize), (e.b as usize, e.a as usize)] {
            if is_small(s) && !is_small(o) {
                let b = best.entry(s).or_insert((o, 0.0));
                if e.length_m > b.1 {
                    *b = (o, e.length_m);
                }
            }
        }
    }
    let mut gone = vec![false; faces.len()];
    let mut into: HashMap<usize, Vec<usize>> = HashMap::new();
    for (s, (o, _)) in best {
        into.entry(o).or_default().push(s);
        gone[s] = true;
    }
    for (o, ss) in into {
        let mut mp = MultiPolygon(vec![faces[o].0.clone()]);
        for &s in &ss {
            mp = mp.union(&MultiPolygon(vec![faces[s].0.clone()]));
        }
        if mp.0.len() == 1 {
            faces[o].0 = mp.0.remove(0);
        } else {
            // Touching only at a point after all: the slivers stay apart.
            for s in ss {
                gone[s] = false;
            }
        }
    }
    let mut i = 0;
    faces.retain(|_| {
        let keep = !gone[i];
        i += 1;
        keep
    });
}

/// The face of each dweller: the first face containing it or on its
/// boundary, else the nearest (points a hair outside the region).
fn place(faces: &[(Polygon<f64>, AtomKind)], dwellers: &[Dweller]) -> Vec<Vec<usize>> {
    let tree = RTree::bulk_load(
        faces
            .iter()
            .enumerate()
            .filter_map(|(i, (p, _))| {
                let r = p.bounding_rect()?;
                Some(GeomWithData::new(
                    Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]),
                    i,
                ))
            })
            .collect(),
    );
    let mut members = vec![Vec::new(); faces.len()];
    for (h, d) in dwellers.iter().enumerate() {
        let pt = Point(d.at);
        let p = [d.at.x, d.at.y];
        let mut hit = tree
            .locate_all_at_point(&p)
            .map(|g| g.data)
            .filter(|&i| faces[i].0.intersects(&pt))
            .min();
        if hit.is_none() {
            hit = tree.nearest_neighbor(&p).map(|g| g.data);
        }
        if let Some(i) = hit {
            members[i].push(h);
        }
    }
    members
}

/// Splits a heavy face by straight cuts between its buildings (recursive
/// bisection along the longer side) until each piece holds about `cap`
/// households or is one building. Pieces a cut leaves in several parts
/// become atoms of their own.
fn split_heavy(
    poly: Polygon<f64>,
    members: Vec<usize>,
    dwellers: &[Dweller],
    cap: usize,
    lattice_m: f64,
) -> Vec<(Polygon<f64>, Vec<usize>)> {
    let mut out = Vec::new();
    let mut stack = vec![(poly, members)];
    while let Some((poly, members)) = stack.pop() {
        if members.len() <= cap {
            out.push((poly, members));
            continue;
        }
        // Groups: a building's households together; households without a
        // building grouped by lattice cell.
        let mut groups: HashMap<(u8, i64, i64), (f64, f64, usize)> = HashMap::new();
        for &h in &members {
            let d = dwellers[h];
            let key = match d.building {
                Some(b) => (0, b, 0),
                None => (
                    1,
                    (d.at.x / lattice_m).floor() as i64,
                    (d.at.y / lattice_m).floor() as i64,
                ),
            };
            let g = groups.entry(key).or_insert((0.0, 0.0, 0));
            g.0 += d.at.x;
            g.1 += d.at.y;
            g.2 += 1;
        }
        let mut gs: Vec<(f64, f64, usize)> = groups
            .into_values()
            .map(|(x, y, n)| (x / n as f64, y / n as f64, n))
            .collect();
        let cut = if gs.len() >= 2 {
            best_cut(&mut gs)
        } else {
            None
        };
        // One building is never cut; loose households are.
        let loose = members.iter().all(|&h| dwellers[h].building.is_none());
        let cut = cut.or_else(|| loose.then(|| point_cut(&members, dwellers)).flatten());
        let Some((vertical, at)) = cut else {
            out.push((poly, members));
            continue;
        };
        let side = |c: Coord<f64>| if vertical { c.x < at } else { c.y < at };
        let (lo, hi): (Vec<usize>, Vec<usize>) =
            members.iter().partition(|&&h| side(dwellers[h].at));
        if lo.is_empty() || hi.is_empty() {
            out.push((poly, members));
            continue;
        }
        let Some(r) = poly.bounding_rect() else {
            out.push((poly, members));
            continue;
        };
        let (a, b) = half_planes(r, vertical, at);
        let mp = MultiPolygon(vec![poly]);
        for (half, mine) in [(a, lo), (b, hi)] {
            let part = mp.intersection(&MultiPolygon(vec![half]));
            let mut parts: Vec<(Polygon<f64>, Vec<usize>)> =
                part.0.into_iter().map(|p| (p, Vec::new())).collect();
            if parts.is_empty() {
                continue;
            }
            for h in mine {
                let pt = Point(dwellers[h].at);
                let k = (0..parts.len())
                    .find(|&k| parts[k].0.intersects(&pt))
                    .unwrap_or(0);
                parts[k].1.push(h);
            }
            for (p, m) in parts {
                if p.unsigned_area() > 0.0 {
                    stack.push((p, m));
                } else if let Some(last) = stack.last_mut() {
                    last.1.extend(m);
                }
            }
        }
    }
    out
}

/// The cut between groups that halves the households best, across the
/// longer extent of the groups; `(vertical, coordinate)`.
fn best_cut(gs: &mut [(f64, f64, usize)]) -> Option<(bool, f64)> {
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for g in gs.iter() {
        x0 = x0.min(g.0);
        x1 = x1.max(g.0);
        y0 = y0.min(g.1);
        y1 = y1.max(g.1);
    }
    let vertical = x1 - x0 >= y1 - y0;
    let key = |g: &(f64, f64, usize)| if vertical { g.0 } else { g.1 };
    gs.sort_by(|a, b| key(a).total_cmp(&key(b)));
    let total: usize = gs.iter().map(|g| g.2).sum();
    let mut acc = 0;
    let mut best: Option<(usize, f64)> = None;
    for i in 1..gs.len() {
        acc += gs[i - 1].2;
        if key(&gs[i]) - key(&gs[i - 1]) < 1e-6 {
            continue;
        }
        let off = (2 * acc).abs_diff(total) as f64;
        if best.is_none_or(|b| off < b.1) {
            best = Some((i, off));
        }
    }
    best.map(|(i, _)| (vertical, (key(&gs[i - 1]) + key(&gs[i])) / 2.0))
}

/// A cut between household points when all of them are in one group but
/// not at one place.
fn point_cut(members: &[usize], dwellers: &[Dweller]) -> Option<(bool, f64)> {
    let mut gs: Vec<(f64, f64, usize)> = members
        .iter()
        .map(|&h| (dwellers[h].at.x, dwellers[h].at.y, 1))
        .collect();
    best_cut(&mut gs)
}

/// The two halves of `r` (grown a little) on either side of the line.
fn half_planes(r: Rect<f64>, vertical: bool, at: f64) -> (Polygon<f64>, Polygon<f64>) {
    let pad = 1.0 + r.width().max(r.height());
    let (x0, y0, x1, y1) = (
        r.min().x - pad,
        r.min().y - pad,
        r.max().x + pad,
        r.max().y + pad,
    );
    if vertical {
        (
            Rect::new((x0, y0), (at, y1)).to_polygon(),
            Rect::new((at, y0), (x1, y1)).to_polygon(),
        )
    } else {
        (
            Rect::new((x0, y0), (x1, at)).to_polygon(),
            Rect::new((x0, at), (x1, y1)).to_polygon(),
        )
    }
}

fn perimeter(p: &Polygon<f64>) -> f64 {
    Euclidean.length(p.exterior())
        + p.interiors()
            .iter()
            .map(|r| Euclidean.length(r))
            .sum::<f64>()
}

/// Area-weighted centroid, falling back to the first vertex.
fn centroid(p: &Polygon<f64>) -> Coord<f64> {
    use geo::Centroid;
    p.centroid()
        .map(|c| c.0)
        .or_else(|| p.exterior().0.first().copied())
        .unwrap_or(Coord { x: 0.0, y: 0.0 })
}

type Seg = GeomWithData<RLine<[f64; 2]>, (u32, u8)>;

/// Shared boundaries between polygons that meet along edges (not only at
/// points), with what runs along them; and the shared length per polygon.
fn adjacency(polys: &[Polygon<f64>], cuts: &[&Cut]) -> (Vec<Edge>, Vec<f64>) {
    const EPS: f64 = 1e-3;
    let mut segs: Vec<Seg> = Vec::new();
    for (i, p) in polys.iter().enumerate() {
        for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
            for l in ring.lines() {
                if (l.end.x - l.start.x).hypot(l.end.y - l.start.y) > EPS {
                    segs.push(GeomWithData::new(
                        RLine::new([l.start.x, l.start.y], [l.end.x, l.end.y]),
                        (i as u32, 0),
                    ));
                }
            }
        }
    }
    let mut lines: Vec<Seg> = Vec::new();
    for c in cuts {
        for l in c.line.lines() {
            lines.push(GeomWithData::new(
                RLine::new([l.start.x, l.start.y], [l.end.x, l.end.y]),
                (0, c.kind as u8),
            ));
        }
    }
    let kinds = [
        EdgeKind::Open,
        EdgeKind::Path,
        EdgeKind::Minor,
        EdgeKind::Major,
        EdgeKind::River,
        EdgeKind::Railway,
    ];
    let line_tree = RTree::bulk_load(lines);
    let tree = RTree::bulk_load(segs.clone());
    // (a, b) -> length per kind
    let mut pairs: HashMap<(u32, u32), [f64; 6]> = HashMap::new();
    let mut shared = vec![0.0; polys.len()];
    for s in &segs {
        let (a, _) = s.data;
        let (p, q) = (s.geom().from, s.geom().to);
        let (dx, dy) = (q[0] - p[0], q[1] - p[1]);
        let len = dx.hypot(dy);
        let (ux, uy) = (dx / len, dy / len);
        let env = AABB::from_corners(
            [p[0].min(q[0]) - EPS, p[1].min(q[1]) - EPS],
            [p[0].max(q[0]) + EPS, p[1].max(q[1]) + EPS],
        );
        for t in tree.locate_in_envelope_intersecting(&env) {
            let b = t.data.0;
            if b == a {
                continue;
            }
            let (r, s2) = (t.geom().from, t.geom().to);
            let off = |c: [f64; 2]| ((c[0] - p[0]) * uy - (c[1] - p[1]) * ux).abs();
            if off(r) > EPS || off(s2) > EPS {
                continue;
            }
            let along = |c: [f64; 2]| (c[0] - p[0]) * ux + (c[1] - p[1]) * uy;
            let (u0, u1) = (along(r), along(s2));
            let lo = u0.min(u1).max(0.0);
            let hi = u0.max(u1).min(len);
            if hi - lo <= EPS {
                continue;
            }
            shared[a as usize] += hi - lo;
            if a < b {
                let mid = (lo + hi) / 2.0;
                let m = [p[0] + ux * mid, p[1] + uy * mid];
                let kind = line_tree
                    .locate_within_distance(m, 0.05 * 0.05)
                    .filter(|l| l.geom().distance_2(&m) <= 0.05 * 0.05)
                    .map(|l| l.data.1)
                    .max()
                    .unwrap_or(0);
                pairs.entry((a, b)).or_insert([0.0; 6])[kind as usize] += hi - lo;
            }
        }
    }
    let mut edges: Vec<Edge> = pairs
        .into_iter()
        .map(|((a, b), by)| {
            let total: f64 = by.iter().sum();
            let on_lines: f64 = by[1..].iter().sum();
            let kind = if on_lines * 2.0 >= total {
                let k = (1..6).max_by(|&i, &j| by[i].total_cmp(&by[j])).unwrap_or(0);
                kinds[k]
            } else {
                EdgeKind::Open
            };
            Edge {
                a,
                b,
                length_m: total,
                kind,
            }
        })
        .collect();
    edges.sort_by_key(|e| (e.a, e.b));
    (edges, shared)
}

#[cfg(test)]
mod tests;
