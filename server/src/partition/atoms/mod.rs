//! Atoms of one region: the faces its roads, rivers and railways cut it
//! into, slivers merged, blocks too heavy for one level-3 grid split into
//! groups of buildings, and lattice cells where no lines are known.
//!
//! All work happens in metres on the region's local plane. Noding and
//! face-building are i_overlay's (geo's own boolean engine): it snaps
//! every vertex to one integer grid, so faces share their edges exactly
//! and tile the region without gaps or overlaps.

use std::collections::HashMap;

use geo::{Area, BooleanOps, BoundingRect, Euclidean, InteriorPoint, Intersects, Length};
use geo_types::{Coord, LineString, MultiLineString, MultiPolygon, Point, Polygon, Rect};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::RTree;
use serde::Serialize;

use super::AtomGraph;
use crate::domain::{AtomKind, RoadClass};

mod adjacency;
mod overlay;
#[cfg(test)]
mod tests;

use adjacency::adjacency;
use overlay::slice;
pub use overlay::{cut, tiling_error, union, Snap};

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

    /// Default weight of a cut along it (relative, 1 = an ordinary street):
    /// main roads, rivers and railways make the best grid boundaries.
    pub fn default_weight(self) -> f64 {
        match self {
            Self::Open | Self::Path | Self::Minor => 1.0,
            Self::Major => 0.7,
            Self::River | Self::Railway => 0.6,
        }
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

    /// The solver's view: barriers are not edges, lines count as roads and
    /// cuts cost by their kind's default weight.
    pub fn graph(&self, barriers: &[EdgeKind]) -> AtomGraph {
        let all: Vec<u32> = (0..self.len() as u32).collect();
        self.subgraph(&all, barriers)
    }

    /// The solver's view of some atoms (`keep[i]` becomes atom `i`).
    pub fn subgraph(&self, keep: &[u32], barriers: &[EdgeKind]) -> AtomGraph {
        let mut pos = vec![u32::MAX; self.len()];
        for (i, &a) in keep.iter().enumerate() {
            pos[a as usize] = i as u32;
        }
        let mut outer: Vec<f64> = keep.iter().map(|&a| self.outer_m[a as usize]).collect();
        let mut edges = Vec::new();
        let mut kinds: HashMap<(u32, u32), EdgeKind> = HashMap::new();
        for e in &self.edges {
            let (pa, pb) = (pos[e.a as usize], pos[e.b as usize]);
            match (pa != u32::MAX, pb != u32::MAX) {
                (true, true) if !barriers.contains(&e.kind) => {
                    edges.push((pa, pb, e.length_m, e.kind.is_line()));
                    kinds.insert((pa.min(pb), pa.max(pb)), e.kind);
                }
                (true, true) => {
                    outer[pa as usize] += e.length_m;
                    outer[pb as usize] += e.length_m;
                }
                (true, false) => outer[pa as usize] += e.length_m,
                (false, true) => outer[pb as usize] += e.length_m,
                _ => {}
            }
        }
        let pick = |v: &[f64]| keep.iter().map(|&a| v[a as usize]).collect::<Vec<f64>>();
        let mut g = AtomGraph::new(
            keep.iter().map(|&a| self.households[a as usize]).collect(),
            keep.iter().map(|&a| self.centroid[a as usize].x).collect(),
            keep.iter().map(|&a| self.centroid[a as usize].y).collect(),
            pick(&self.area_m2),
            outer,
            &edges,
        );
        for a in 0..g.len() as u32 {
            for k in g.around(a) {
                let b = g.nbr[k];
                if let Some(kind) = kinds.get(&(a.min(b), a.max(b))) {
                    g.weight[k] = kind.default_weight();
                }
            }
        }
        g
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
    let snap = Snap::of(boundary);
    // Lines clipped to the region's box (grown a little): what lies beyond
    // cuts nothing, and the integer grid must reach every vertex.
    let pad = 1.0 + 0.01 * bbox.width().max(bbox.height());
    let frame = Rect::new(
        (bbox.min().x - pad, bbox.min().y - pad),
        (bbox.max().x + pad, bbox.max().y + pad),
    )
    .to_polygon();
    let clipped: Vec<Cut> = cuts
        .iter()
        .filter(|c| c.line.bounding_rect().is_some_and(|r| rect_meets(r, bbox)))
        .flat_map(|c| {
            frame
                .clip(&MultiLineString(vec![c.line.clone()]), false)
                .0
                .into_iter()
                .filter(|l| l.0.len() >= 2 && l.intersects(boundary))
                .map(|line| Cut { line, kind: c.kind })
        })
        .collect();
    let cuts: Vec<&Cut> = clipped.iter().collect();
    let (base, kind) = if cuts.is_empty() {
        (lattice_lines(bbox, opts.lattice_m), AtomKind::Lattice)
    } else {
        (
            cuts.iter().map(|c| c.line.clone()).collect(),
            AtomKind::Block,
        )
    };
    let faces_of = |lines: &[LineString<f64>]| {
        let mut faces: Vec<(Polygon<f64>, AtomKind)> = if lines.is_empty() {
            boundary.0.iter().map(|p| (p.clone(), kind)).collect()
        } else {
            slice(snap, boundary, lines.iter())
                .into_iter()
                .map(|p| (p, kind))
                .collect()
        };
        merge_slivers(snap, &mut faces, opts.sliver_m2);
        let members = place(&faces, dwellers);
        (faces, members)
    };
    let (mut faces, mut members) = faces_of(&base);

    // Split what is too heavy for one level-3 grid. The cuts are found
    // face by face, then the region is cut once more with every line, so
    // that a new vertex on a block's edge is its neighbour's vertex too.
    let cap = opts.group_households.max(1) as usize;
    let mut per_building: HashMap<i64, u32> = HashMap::new();
    for d in dwellers {
        if let Some(b) = d.building {
            *per_building.entry(b).or_default() += 1;
        }
    }
    let towers: std::collections::HashSet<i64> = per_building
        .into_iter()
        .filter(|&(_, n)| n > opts.max_households)
        .map(|(b, _)| b)
        .collect();
    let mut splits = Vec::new();
    let mut heavy = Vec::new();
    // Lattice cells (no lines known) are cut down to building-group size:
    // there no road says where a boundary belongs, and coarse cells would
    // leave level-3 grids no split in range.
    for ((poly, k), m) in faces.iter().zip(&members) {
        let limit = if *k == AtomKind::Lattice {
            cap
        } else {
            opts.max_households as usize
        };
        if m.len() > limit {
            let lines = split_heavy(
                snap,
                poly.clone(),
                m.clone(),
                dwellers,
                cap,
                &towers,
                opts.lattice_m,
            );
            if !lines.is_empty() {
                splits.extend(lines);
                heavy.push(poly.clone());
            }
        }
    }
    if !splits.is_empty() {
        let all: Vec<LineString<f64>> = base.into_iter().chain(splits).collect();
        (faces, members) = faces_of(&all);
        for (p, k) in &mut faces {
            if let Some(pt) = p.interior_point() {
                if heavy.iter().any(|h| h.intersects(&pt)) {
                    *k = AtomKind::BuildingGroup;
                }
            }
        }
    }
    finish(faces, members, dwellers.len(), &cuts, opts.max_households)
}

/// Atoms again from stored pieces (a saved plan's): households placed
/// anew, boundaries and their kinds measured anew.
pub fn rebuild(
    pieces: Vec<(Polygon<f64>, AtomKind)>,
    cuts: &[Cut],
    dwellers: &[Dweller],
    max_households: u32,
) -> Atoms {
    let members = place(&pieces, dwellers);
    let cuts: Vec<&Cut> = cuts.iter().collect();
    finish(pieces, members, dwellers.len(), &cuts, max_households)
}

fn finish(
    faces: Vec<(Polygon<f64>, AtomKind)>,
    members: Vec<Vec<usize>>,
    dwellers: usize,
    cuts: &[&Cut],
    max_households: u32,
) -> Atoms {
    let n = faces.len();
    let mut atoms = Atoms {
        households: members.iter().map(|m| m.len() as u32).collect(),
        of_household: vec![u32::MAX; dwellers],
        ..Atoms::default()
    };
    for (i, m) in members.iter().enumerate() {
        for &h in m {
            atoms.of_household[h] = i as u32;
        }
        if m.len() as u32 > max_households {
            atoms.towers.push(i as u32);
        }
    }
    for (p, k) in faces {
        atoms.area_m2.push(p.unsigned_area());
        atoms.centroid.push(centroid(&p));
        atoms.kind.push(k);
        atoms.geometry.push(p);
    }
    let (edges, shared) = adjacency(&atoms.geometry, cuts);
    atoms.outer_m = (0..n)
        .map(|i| (perimeter(&atoms.geometry[i]) - shared[i]).max(0.0))
        .collect();
    atoms.edges = edges;
    atoms
}

/// How far from the origin the grown frame of `bbox` reaches.
fn frame_reach(bbox: Rect<f64>) -> f64 {
    let pad = 1.0 + 0.01 * bbox.width().max(bbox.height());
    [bbox.min().x, bbox.min().y, bbox.max().x, bbox.max().y]
        .iter()
        .fold(0.0f64, |m, v| m.max(v.abs()))
        + pad
}

fn rect_meets(a: Rect<f64>, b: Rect<f64>) -> bool {
    a.min().x <= b.max().x
        && b.min().x <= a.max().x
        && a.min().y <= b.max().y
        && b.min().y <= a.max().y
}

/// Lines of square cells of `side` metres over the region's box.
fn lattice_lines(bbox: Rect<f64>, side: f64) -> Vec<LineString<f64>> {
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
            (x, y0 - 0.5),
            (x, bbox.max().y + 0.5),
        ]));
    }
    for j in 1..ny {
        let y = y0 + j as f64 * side;
        lines.push(LineString::from(vec![
            (x0 - 0.5, y),
            (bbox.max().x + 0.5, y),
        ]));
    }
    lines
}

/// Merges faces under `min_m2` into the neighbour they share most boundary
/// with (an isolated sliver stays).
fn merge_slivers(snap: Snap, faces: &mut Vec<(Polygon<f64>, AtomKind)>, min_m2: f64) {
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
        let mut mp = union(
            snap,
            std::iter::once(&faces[o].0).chain(ss.iter().map(|&s| &faces[s].0)),
        );
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
    let polys: Vec<&Polygon<f64>> = faces.iter().map(|(p, _)| p).collect();
    place_in(&polys, dwellers)
}

/// The households of each face, by index into `dwellers`: the face that
/// holds the point (the lowest index on a shared boundary), else the
/// nearest. One household's face never depends on another's, so a plan's
/// figures can be counted again after a write without cutting atoms.
pub(crate) fn place_in(faces: &[&Polygon<f64>], dwellers: &[Dweller]) -> Vec<Vec<usize>> {
    let tree = RTree::bulk_load(
        faces
            .iter()
            .enumerate()
            .filter_map(|(i, p)| {
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
            .filter(|&i| faces[i].intersects(&pt))
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

/// The straight cuts between a heavy face's buildings (recursive bisection
/// across the longer extent) that leave pieces of about `cap` households
/// or of one building each, clipped to the piece they cut.
fn split_heavy(
    snap: Snap,
    poly: Polygon<f64>,
    members: Vec<usize>,
    dwellers: &[Dweller],
    cap: usize,
    towers: &std::collections::HashSet<i64>,
    lattice_m: f64,
) -> Vec<LineString<f64>> {
    let mut out = Vec::new();
    let mut stack = vec![(poly, members)];
    while let Some((poly, members)) = stack.pop() {
        if members.len() <= cap {
            continue;
        }
        // Groups: a building's households together, unless the building
        // alone is heavier than a level-3 grid may be (a tower: cut between
        // its households, as its entrances would be); households without a
        // building grouped by lattice cell.
        let mut groups: HashMap<(u8, i64, i64), (f64, f64, usize)> = HashMap::new();
        for &h in &members {
            let d = dwellers[h];
            let key = match d.building {
                Some(b) if towers.contains(&b) => (2, h as i64, 0),
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
        // One building is never cut unless it is a tower; loose households are.
        let loose = members
            .iter()
            .all(|&h| dwellers[h].building.is_none_or(|b| towers.contains(&b)));
        let cut = cut.or_else(|| loose.then(|| point_cut(&members, dwellers)).flatten());
        let Some((vertical, at)) = cut else {
            continue;
        };
        let side = |c: Coord<f64>| if vertical { c.x < at } else { c.y < at };
        let below = members.iter().filter(|&&h| side(dwellers[h].at)).count();
        if below == 0 || below == members.len() {
            continue;
        }
        let Some(r) = poly.bounding_rect() else {
            continue;
        };
        let pad = 0.5;
        let line = if vertical {
            LineString::from(vec![(at, r.min().y - pad), (at, r.max().y + pad)])
        } else {
            LineString::from(vec![(r.min().x - pad, at), (r.max().x + pad, at)])
        };
        let parts: Vec<(Polygon<f64>, AtomKind)> = slice(
            snap,
            &MultiPolygon(vec![poly.clone()]),
            std::iter::once(&line),
        )
        .into_iter()
        .map(|p| (p, AtomKind::BuildingGroup))
        .collect();
        if parts.len() < 2 {
            continue;
        }
        // The cut within this piece only, a hair longer at both ends so
        // it surely crosses the piece's edge.
        for seg in poly.clip(&MultiLineString(vec![line]), false) {
            out.push(lengthen(seg, 1e-3));
        }
        let local: Vec<Dweller> = members.iter().map(|&h| dwellers[h]).collect();
        for (k, m) in place(&parts, &local).into_iter().enumerate() {
            let m: Vec<usize> = m.into_iter().map(|i| members[i]).collect();
            stack.push((parts[k].0.clone(), m));
        }
    }
    out
}

/// The line with its first and last segments lengthened by `by` metres.
fn lengthen(mut l: LineString<f64>, by: f64) -> LineString<f64> {
    let n = l.0.len();
    if n >= 2 {
        let stretch = |a: Coord<f64>, b: Coord<f64>| {
            let d = (b.x - a.x).hypot(b.y - a.y);
            if d > 0.0 {
                Coord {
                    x: b.x + (b.x - a.x) / d * by,
                    y: b.y + (b.y - a.y) / d * by,
                }
            } else {
                b
            }
        };
        l.0[n - 1] = stretch(l.0[n - 2], l.0[n - 1]);
        l.0[0] = stretch(l.0[1], l.0[0]);
    }
    l
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

pub fn perimeter(p: &Polygon<f64>) -> f64 {
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
