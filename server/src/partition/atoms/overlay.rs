//! The integer grid every cut and union of a region's atoms snaps to, and
//! the i_overlay calls that cut, join and compare polygons on it.

use geo::{Area, BoundingRect};
use geo_types::{Coord, LineString, MultiPolygon, Polygon};
use i_overlay::core::fill_rule::FillRule;
use i_overlay::core::overlay::ShapeType;
use i_overlay::core::overlay_rule::OverlayRule;
use i_overlay::float::overlay::{FloatOverlay, OverlayOptions};
use i_overlay::float::string_overlay::FloatStringOverlay;
use i_overlay::i_float::adapter::FloatPointAdapter;
use i_overlay::i_float::float::rect::FloatRect;
use i_overlay::string::rule::StringRule;

use super::frame_reach;

pub(super) fn ring_path(ring: &LineString<f64>) -> Vec<[f64; 2]> {
    let mut pts: Vec<[f64; 2]> = ring.0.iter().map(|c| [c.x, c.y]).collect();
    if pts.len() > 1 && pts.first() == pts.last() {
        pts.pop();
    }
    pts
}

/// A polygon as i_overlay contours: the exterior, then the holes.
pub(super) fn polygon_paths(p: &Polygon<f64>) -> Vec<Vec<[f64; 2]>> {
    std::iter::once(p.exterior())
        .chain(p.interiors())
        .map(ring_path)
        .collect()
}

pub(super) fn shapes_of(mp: &MultiPolygon<f64>) -> Vec<Vec<Vec<[f64; 2]>>> {
    mp.0.iter()
        .map(|p| {
            std::iter::once(p.exterior())
                .chain(p.interiors())
                .map(ring_path)
                .collect()
        })
        .collect()
}

pub(super) fn polygon_of(shape: &[Vec<[f64; 2]>]) -> Option<Polygon<f64>> {
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

/// One integer grid for every cut and union in a region's local plane:
/// origin fixed, step a power of two fitted to the region's extent (about
/// 30 µm for a 30 km region). A vertex snapped once stays where it is, so
/// pieces cut at different times still share their edges exactly.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Snap {
    scale: f64,
    reach: f64,
    origin: [f64; 2],
}

impl Snap {
    /// For coordinates within `reach` metres of the origin.
    pub fn within(reach: f64) -> Self {
        let reach = reach.abs().max(1.0) * 2.0;
        let e = 29 - reach.log2().ceil() as i32;
        Self {
            scale: 2f64.powi(e),
            reach,
            origin: [0.0, 0.0],
        }
    }

    /// For coordinates within `reach` of `origin` (e.g. degrees around a
    /// region's centre).
    pub fn around(origin: Coord<f64>, reach: f64) -> Self {
        Self {
            origin: [origin.x, origin.y],
            ..Self::within(reach)
        }
    }

    /// For a region in its local plane (what [`super::build`] uses).
    pub fn of(region: &MultiPolygon<f64>) -> Self {
        Self::within(region.bounding_rect().map_or(1.0, frame_reach))
    }

    fn adapter(self) -> FloatPointAdapter<[f64; 2], f64> {
        FloatPointAdapter {
            dir_scale: self.scale,
            inv_scale: 1.0 / self.scale,
            offset: self.origin,
            rect: FloatRect::new(
                self.origin[0] - self.reach,
                self.origin[0] + self.reach,
                self.origin[1] - self.reach,
                self.origin[1] + self.reach,
            ),
        }
    }
}

/// The faces the lines cut the region into.
pub(super) fn slice<'a>(
    snap: Snap,
    boundary: &MultiPolygon<f64>,
    lines: impl Iterator<Item = &'a LineString<f64>>,
) -> Vec<Polygon<f64>> {
    let paths: Vec<Vec<[f64; 2]>> = lines
        .map(|l| l.0.iter().map(|c| [c.x, c.y]).collect::<Vec<_>>())
        .filter(|p| p.len() >= 2)
        .collect();
    let shapes = shapes_of(boundary);
    let cap = shapes.iter().flatten().map(Vec::len).sum::<usize>()
        + paths.iter().map(Vec::len).sum::<usize>();
    FloatStringOverlay::with_adapter(snap.adapter(), cap)
        .unsafe_add_shapes(&shapes)
        .unsafe_add_string_lines(&paths)
        .build_graph_view(FillRule::EvenOdd)
        .map(|g| g.extract_shapes_custom(StringRule::Slice, OverlayOptions::ogc()))
        .unwrap_or_default()
        .iter()
        .filter_map(|s| polygon_of(s))
        .filter(|p| p.unsigned_area() > 0.0)
        .collect()
}

/// The pieces `line` cuts `piece` into, on the region's grid: the piece
/// itself when the line does not cross it.
pub fn cut(snap: Snap, piece: &Polygon<f64>, line: &LineString<f64>) -> Vec<Polygon<f64>> {
    let mut out = slice(
        snap,
        &MultiPolygon(vec![piece.clone()]),
        std::iter::once(line),
    );
    if out.len() < 2 {
        out = vec![piece.clone()];
    }
    out
}

/// The union of pieces on the region's grid (OGC-valid: holes touching
/// at a point stay separate rings).
pub fn union<'a>(
    snap: Snap,
    pieces: impl IntoIterator<Item = &'a Polygon<f64>>,
) -> MultiPolygon<f64> {
    let shapes: Vec<Vec<Vec<[f64; 2]>>> = pieces.into_iter().map(polygon_paths).collect();
    let cap = shapes.iter().flatten().map(Vec::len).sum::<usize>();
    let out = FloatOverlay::new_custom(
        snap.adapter(),
        OverlayOptions::ogc(),
        Default::default(),
        cap,
    )
    .unsafe_add_source(&shapes, ShapeType::Subject)
    .overlay(OverlayRule::Subject, FillRule::NonZero);
    MultiPolygon(out.iter().filter_map(|s| polygon_of(s)).collect())
}

/// Area (m²) of the symmetric difference between the pieces' union and
/// the region: 0 when they tile it.
pub fn tiling_error(snap: Snap, pieces: &[Polygon<f64>], region: &MultiPolygon<f64>) -> f64 {
    let subj: Vec<Vec<Vec<[f64; 2]>>> = pieces.iter().map(polygon_paths).collect();
    let clip = shapes_of(region);
    let cap = subj
        .iter()
        .chain(&clip)
        .flatten()
        .map(Vec::len)
        .sum::<usize>();
    let mut ov = FloatOverlay::new_custom(
        snap.adapter(),
        OverlayOptions::ogc(),
        Default::default(),
        cap,
    )
    .unsafe_add_source(&subj, ShapeType::Subject)
    .unsafe_add_source(&clip, ShapeType::Clip);
    ov.overlay(OverlayRule::Xor, FillRule::NonZero)
        .iter()
        .filter_map(|s| polygon_of(s))
        .map(|p| p.unsigned_area())
        .sum()
}
