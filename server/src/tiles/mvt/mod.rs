//! Mapbox Vector Tile 2.1: features in WGS-84 become tile coordinates (Web
//! Mercator, [`EXTENT`] units a side), clipped to the tile and a buffer,
//! simplified below a pixel and written as the specification's commands.
//!
//! The protobuf schema is the specification's `vector_tile.proto`, declared
//! with prost's derive (seven small messages; no code generation step).
//! Clipping is Sutherland–Hodgman against an axis-aligned box, the choice of
//! geojson-vt and tippecanoe: a general polygon overlay per feature and tile
//! would cost far more and buys nothing inside a tile's buffer.

use std::borrow::Cow;

use foldhash::HashMap;

use geo::Simplify;
use geo_types::{Coord, LineString, MultiPolygon};
use prost::Message;

/// Tile coordinates per side, as MapLibre, GDAL and PostGIS default to.
pub const EXTENT: u32 = 4096;
/// Units beyond the tile's edge kept so strokes and fills join seamlessly.
pub const BUFFER: f64 = 64.0;
/// Douglas–Peucker tolerance in tile units (1/8 of a pixel at 512 px).
const TOLERANCE: f64 = 1.0;

#[derive(Clone, PartialEq, Message)]
pub struct Tile {
    #[prost(message, repeated, tag = "3")]
    pub layers: Vec<Layer>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Value {
    #[prost(string, optional, tag = "1")]
    pub string_value: Option<String>,
    #[prost(float, optional, tag = "2")]
    pub float_value: Option<f32>,
    #[prost(double, optional, tag = "3")]
    pub double_value: Option<f64>,
    #[prost(int64, optional, tag = "4")]
    pub int_value: Option<i64>,
    #[prost(uint64, optional, tag = "5")]
    pub uint_value: Option<u64>,
    #[prost(sint64, optional, tag = "6")]
    pub sint_value: Option<i64>,
    #[prost(bool, optional, tag = "7")]
    pub bool_value: Option<bool>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Feature {
    #[prost(uint64, optional, tag = "1")]
    pub id: Option<u64>,
    #[prost(uint32, repeated, tag = "2")]
    pub tags: Vec<u32>,
    #[prost(enumeration = "GeomType", optional, tag = "3")]
    pub r#type: Option<i32>,
    #[prost(uint32, repeated, tag = "4")]
    pub geometry: Vec<u32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum GeomType {
    Unknown = 0,
    Point = 1,
    Linestring = 2,
    Polygon = 3,
}

#[derive(Clone, PartialEq, Message)]
pub struct Layer {
    #[prost(uint32, required, tag = "15")]
    pub version: u32,
    #[prost(string, required, tag = "1")]
    pub name: String,
    #[prost(message, repeated, tag = "2")]
    pub features: Vec<Feature>,
    #[prost(string, repeated, tag = "3")]
    pub keys: Vec<String>,
    #[prost(message, repeated, tag = "4")]
    pub values: Vec<Value>,
    #[prost(uint32, optional, tag = "5")]
    pub extent: Option<u32>,
}

/// An attribute value of a feature; text is borrowed from the feature when
/// it can be (most values repeat within a layer and are never copied).
#[derive(Debug, Clone, PartialEq)]
pub enum Prop<'a> {
    Str(Cow<'a, str>),
    Int(i64),
    Num(f64),
    Bool(bool),
}

impl<'a> From<&'a str> for Prop<'a> {
    fn from(s: &'a str) -> Self {
        Self::Str(Cow::Borrowed(s))
    }
}
impl From<String> for Prop<'_> {
    fn from(s: String) -> Self {
        Self::Str(Cow::Owned(s))
    }
}
impl From<i64> for Prop<'_> {
    fn from(v: i64) -> Self {
        Self::Int(v)
    }
}
impl From<u32> for Prop<'_> {
    fn from(v: u32) -> Self {
        Self::Int(i64::from(v))
    }
}
impl From<f64> for Prop<'_> {
    fn from(v: f64) -> Self {
        Self::Num(v)
    }
}
impl From<bool> for Prop<'_> {
    fn from(v: bool) -> Self {
        Self::Bool(v)
    }
}

/// Values other than strings are shared within a layer by this identity
/// (strings by their text, looked up without an allocation).
#[derive(PartialEq, Eq, Hash)]
enum ValueKey {
    Int(i64),
    Num(u64),
    Bool(bool),
}

/// One layer being filled: keys and values interned as the spec wants.
pub struct LayerBuilder {
    layer: Layer,
    // foldhash: these maps are looked up for every attribute of every
    // feature, and their keys are the layer's own (no flooding to fear).
    keys: HashMap<String, u32>,
    strings: HashMap<String, u32>,
    values: HashMap<ValueKey, u32>,
}

impl LayerBuilder {
    pub fn new(name: &str) -> Self {
        Self {
            layer: Layer {
                version: 2,
                name: name.to_owned(),
                extent: Some(EXTENT),
                ..Layer::default()
            },
            keys: HashMap::default(),
            strings: HashMap::default(),
            values: HashMap::default(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.layer.features.is_empty()
    }

    pub fn len(&self) -> usize {
        self.layer.features.len()
    }

    /// Adds a feature whose geometry is already encoded ([`Frame`]).
    pub fn add(&mut self, id: Option<u64>, geometry: Encoded, props: &[(&str, Prop)]) {
        let mut tags = Vec::with_capacity(props.len() * 2);
        for (k, v) in props {
            let ki = if let Some(&i) = self.keys.get(*k) {
                i
            } else {
                let i = self.layer.keys.len() as u32;
                self.layer.keys.push((*k).to_owned());
                self.keys.insert((*k).to_owned(), i);
                i
            };
            let vi = match v {
                Prop::Str(text) => {
                    if let Some(&i) = self.strings.get(text.as_ref()) {
                        i
                    } else {
                        let next = self.layer.values.len() as u32;
                        self.layer.values.push(Value {
                            string_value: Some(text.to_string()),
                            ..Value::default()
                        });
                        self.strings.insert(text.to_string(), next);
                        next
                    }
                }
                Prop::Int(i) if *i < 0 => self.intern(
                    ValueKey::Int(*i),
                    Value {
                        sint_value: Some(*i),
                        ..Value::default()
                    },
                ),
                Prop::Int(i) => self.intern(
                    ValueKey::Int(*i),
                    Value {
                        uint_value: Some(*i as u64),
                        ..Value::default()
                    },
                ),
                Prop::Num(f) => self.intern(
                    ValueKey::Num(f.to_bits()),
                    Value {
                        double_value: Some(*f),
                        ..Value::default()
                    },
                ),
                Prop::Bool(b) => self.intern(
                    ValueKey::Bool(*b),
                    Value {
                        bool_value: Some(*b),
                        ..Value::default()
                    },
                ),
            };
            tags.push(ki);
            tags.push(vi);
        }
        self.layer.features.push(Feature {
            id,
            tags,
            r#type: Some(geometry.kind as i32),
            geometry: geometry.commands,
        });
    }

    /// The index of a value that is not a string, added when new.
    fn intern(&mut self, key: ValueKey, value: Value) -> u32 {
        let values = &mut self.layer.values;
        *self.values.entry(key).or_insert_with(|| {
            values.push(value);
            values.len() as u32 - 1
        })
    }

    pub fn finish(self) -> Layer {
        self.layer
    }
}

/// Layers to bytes; an empty list gives an empty tile (no bytes).
///
/// # Examples
///
/// One household as a point feature of a zoom-14 tile, and the bytes
/// read back with the same schema:
///
/// ```
/// use geo_types::Coord;
/// use prost::Message;
/// use wangge::tiles::mvt::{encode, mercator, Frame, LayerBuilder, Prop, Tile};
///
/// let home = Coord { x: 108.9, y: 32.7 }; // Ankang
/// // The tile holding it: the unit-square Mercator position times 2^14.
/// let m = mercator(home);
/// let frame = Frame::new(14, (m.x * 16_384.0) as u32, (m.y * 16_384.0) as u32).unwrap();
/// let mut layer = LayerBuilder::new("households");
/// let geometry = frame.points([home]).expect("the point is inside its tile");
/// layer.add(Some(7), geometry, &[("care", Prop::from("cared")), ("size", Prop::from(3u32))]);
/// let bytes = encode(vec![layer.finish()]);
///
/// let tile = Tile::decode(&bytes[..])?;
/// assert_eq!(tile.layers[0].name, "households");
/// assert_eq!(tile.layers[0].features[0].id, Some(7));
/// assert_eq!(tile.layers[0].keys, ["care", "size"]);
/// // Empty layers are left out; no layer at all is no bytes.
/// assert!(encode(vec![LayerBuilder::new("empty").finish()]).is_empty());
/// # Ok::<(), prost::DecodeError>(())
/// ```
pub fn encode(layers: Vec<Layer>) -> Vec<u8> {
    Tile {
        layers: layers
            .into_iter()
            .filter(|l| !l.features.is_empty())
            .collect(),
    }
    .encode_to_vec()
}

/// A feature's geometry as commands, with its type.
#[derive(Debug, Clone, PartialEq)]
pub struct Encoded {
    pub kind: GeomType,
    pub commands: Vec<u32>,
}

/// One tile: where lon/lat land in its coordinates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Frame {
    pub z: u8,
    pub x: u32,
    pub y: u32,
    scale: f64,
}

/// Web Mercator stops here (EPSG:3857's square world).
const MAX_LAT: f64 = 85.051_128_779_806_59;

impl Frame {
    /// `None` when x or y is outside the zoom level's range.
    pub fn new(z: u8, x: u32, y: u32) -> Option<Self> {
        if z > 24 {
            return None;
        }
        let n = 1u32 << z;
        (x < n && y < n).then(|| Self {
            z,
            x,
            y,
            scale: f64::from(n) * f64::from(EXTENT),
        })
    }

    /// Tile coordinates of a WGS-84 position.
    pub fn project(&self, c: Coord<f64>) -> Coord<f64> {
        self.place(mercator(c))
    }

    /// Tile coordinates of a [`mercator`] position: a multiply and a
    /// subtraction, for shapes projected once and cut into many tiles.
    pub fn place(&self, m: Coord<f64>) -> Coord<f64> {
        Coord {
            x: m.x * self.scale - f64::from(self.x) * f64::from(EXTENT),
            y: m.y * self.scale - f64::from(self.y) * f64::from(EXTENT),
        }
    }

    /// WGS-84 position of tile coordinates.
    fn unproject(&self, x: f64, y: f64) -> Coord<f64> {
        let mx = (x + f64::from(self.x) * f64::from(EXTENT)) / self.scale;
        let my = (y + f64::from(self.y) * f64::from(EXTENT)) / self.scale;
        let lat = (std::f64::consts::PI * (1.0 - 2.0 * my)).sinh().atan();
        Coord {
            x: mx * 360.0 - 180.0,
            y: lat.to_degrees(),
        }
    }

    /// The tile and its buffer in WGS-84: what to ask the indexes for.
    pub fn bounds(&self) -> geo_types::Rect<f64> {
        let e = f64::from(EXTENT);
        geo_types::Rect::new(
            self.unproject(-BUFFER, e + BUFFER),
            self.unproject(e + BUFFER, -BUFFER),
        )
    }

    /// Points inside the tile proper (not its buffer: a point belongs to
    /// exactly one tile, so counts add up across tiles).
    pub fn points(&self, pts: impl IntoIterator<Item = Coord<f64>>) -> Option<Encoded> {
        let e = f64::from(EXTENT);
        let mut cur = (0i32, 0i32);
        let mut params = Vec::new();
        for c in pts {
            let p = self.project(c);
            if !(p.x >= 0.0 && p.x < e && p.y >= 0.0 && p.y < e) {
                continue;
            }
            let q = (p.x.floor() as i32, p.y.floor() as i32);
            params.push(zigzag(q.0 - cur.0));
            params.push(zigzag(q.1 - cur.1));
            cur = q;
        }
        if params.is_empty() {
            return None;
        }
        let n = params.len() / 2;
        let mut commands = Vec::with_capacity(params.len() + 1);
        commands.push(command(1, n));
        commands.extend(params);
        Some(Encoded {
            kind: GeomType::Point,
            commands,
        })
    }

    /// A point given in tile coordinates (cell centres and the like).
    pub fn tile_point(p: (u32, u32)) -> Encoded {
        Encoded {
            kind: GeomType::Point,
            commands: vec![command(1, 1), zigzag(p.0 as i32), zigzag(p.1 as i32)],
        }
    }

    /// Lines clipped to the buffered tile; a line leaving and re-entering
    /// becomes several parts.
    pub fn lines<'a>(
        &self,
        lines: impl IntoIterator<Item = &'a LineString<f64>>,
    ) -> Option<Encoded> {
        let (lo, hi) = (-BUFFER, f64::from(EXTENT) + BUFFER);
        let mut w = Writer::default();
        for l in lines {
            let pts: Vec<Coord<f64>> = l.0.iter().map(|&c| self.project(c)).collect();
            for part in clip_line(&pts, lo, hi) {
                let part = LineString(part).simplify(TOLERANCE);
                let q = quantize(&part.0, false);
                if q.len() >= 2 {
                    w.line(&q, false);
                }
            }
        }
        w.finish(GeomType::Linestring)
    }

    /// Polygons clipped to the buffered tile and simplified.
    pub fn polygons(&self, mp: &MultiPolygon<f64>) -> Option<Encoded> {
        let (lo, hi) = (-BUFFER, f64::from(EXTENT) + BUFFER);
        let mut w = Writer::default();
        for poly in &mp.0 {
            let ring = |r: &LineString<f64>| -> Option<Vec<(i32, i32)>> {
                let pts: Vec<Coord<f64>> = r.0.iter().map(|&c| self.project(c)).collect();
                let clipped = clip_ring(&pts, lo, hi);
                if clipped.len() < 3 {
                    return None;
                }
                let mut closed = clipped;
                closed.push(closed[0]);
                let s = LineString(closed).simplify(TOLERANCE);
                let q = quantize(&s.0, true);
                (q.len() >= 3 && area2(&q) != 0).then_some(q)
            };
            w.polygon(ring(poly.exterior()), poly.interiors().iter().map(ring));
        }
        w.finish(GeomType::Polygon)
    }

    /// [`Self::polygons`] of a shape projected and ranked once
    /// ([`Ranked`]): no projection and no simplification per tile.
    pub fn polygons_ranked(&self, shape: &Ranked) -> Option<Encoded> {
        let (lo, hi) = (-BUFFER, f64::from(EXTENT) + BUFFER);
        let tolerance = TOLERANCE / self.scale;
        let keep = tolerance * tolerance;
        let mut w = Writer::default();
        for poly in &shape.0 {
            let ring = |r: &RankedRing| -> Option<Vec<(i32, i32)>> {
                let pts: Vec<Coord<f64>> = r
                    .pts
                    .iter()
                    .zip(&r.rank)
                    .filter(|(_, &rank)| rank > keep)
                    .map(|(&c, _)| self.place(c))
                    .collect();
                let clipped = clip_ring(&pts, lo, hi);
                let q = quantize(&clipped, true);
                (q.len() >= 3 && area2(&q) != 0).then_some(q)
            };
            let Some((outer, holes)) = poly.split_first() else {
                continue;
            };
            w.polygon(ring(outer), holes.iter().map(ring));
        }
        w.finish(GeomType::Polygon)
    }
}

/// A multipolygon in [`mercator`] coordinates whose vertices carry their
/// Douglas–Peucker rank: the squared distance at which simplification would
/// first keep them (ends of a ring: always). A tile keeps the vertices
/// ranked above its zoom's tolerance, which is Douglas–Peucker at that
/// tolerance computed once for every zoom (geojson-vt's approach). Shapes
/// cut into many tiles (the grids) are ranked once when evaluated.
#[derive(Debug, Clone, Default)]
pub struct Ranked(Vec<Vec<RankedRing>>);

#[derive(Debug, Clone)]
struct RankedRing {
    pts: Vec<Coord<f64>>,
    rank: Vec<f64>,
}

impl Ranked {
    /// Projects `mp` (WGS-84) and ranks its vertices.
    pub fn new(mp: &MultiPolygon<f64>) -> Self {
        let ring = |r: &LineString<f64>| {
            let pts: Vec<Coord<f64>> = r.0.iter().map(|&c| mercator(c)).collect();
            let rank = dp_rank(&pts);
            RankedRing { pts, rank }
        };
        Self(
            mp.0.iter()
                .map(|p| {
                    std::iter::once(p.exterior())
                        .chain(p.interiors())
                        .map(ring)
                        .collect()
                })
                .collect(),
        )
    }
}

/// Douglas–Peucker ranks of a line's vertices (see [`Ranked`]); the ends
/// rank infinite. A closed ring's first and last point are both ends.
fn dp_rank(pts: &[Coord<f64>]) -> Vec<f64> {
    let n = pts.len();
    let mut rank = vec![0.0; n];
    if n == 0 {
        return rank;
    }
    rank[0] = f64::INFINITY;
    rank[n - 1] = f64::INFINITY;
    let mut stack = vec![(0, n - 1)];
    while let Some((first, last)) = stack.pop() {
        if last <= first + 1 {
            continue;
        }
        let (mut far, mut far_d) = (first, -1.0);
        for i in first + 1..last {
            let d = sq_seg_dist(pts[i], pts[first], pts[last]);
            if d > far_d {
                (far, far_d) = (i, d);
            }
        }
        // A vertex found later (on a smaller span) never outranks the
        // vertex that split its span, so a tolerance keeps whole prefixes
        // of the splitting order, as Douglas–Peucker would.
        let parent = rank[first].min(rank[last]);
        rank[far] = far_d.min(parent);
        stack.push((first, far));
        stack.push((far, last));
    }
    rank
}

/// Squared distance from `p` to the segment `a`–`b`.
fn sq_seg_dist(p: Coord<f64>, a: Coord<f64>, b: Coord<f64>) -> f64 {
    let d = b - a;
    let len2 = d.x * d.x + d.y * d.y;
    let mut near = a;
    if len2 > 0.0 {
        let along = (((p.x - a.x) * d.x + (p.y - a.y) * d.y) / len2).clamp(0.0, 1.0);
        near = a + d * along;
    }
    let off = p - near;
    off.x * off.x + off.y * off.y
}

/// Web Mercator in the unit square (x east, y south, as tiles count):
/// where a WGS-84 position lies on the map at every zoom.
pub fn mercator(c: Coord<f64>) -> Coord<f64> {
    let lat = c.y.clamp(-MAX_LAT, MAX_LAT).to_radians();
    Coord {
        x: (c.x + 180.0) / 360.0,
        y: (1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / std::f64::consts::PI) / 2.0,
    }
}

fn command(id: u32, count: usize) -> u32 {
    (id & 7) | ((count as u32) << 3)
}

fn zigzag(n: i32) -> u32 {
    ((n << 1) ^ (n >> 31)) as u32
}

/// Rounds to integers and drops repeated points (and, for rings, the
/// closing point: ClosePath draws it).
fn quantize(pts: &[Coord<f64>], ring: bool) -> Vec<(i32, i32)> {
    let mut out: Vec<(i32, i32)> = Vec::with_capacity(pts.len());
    for c in pts {
        let q = (c.x.round() as i32, c.y.round() as i32);
        if out.last() != Some(&q) {
            out.push(q);
        }
    }
    if ring && out.len() > 1 && out.first() == out.last() {
        out.pop();
    }
    out
}

/// Twice the signed area (surveyor's formula) in tile coordinates.
fn area2(r: &[(i32, i32)]) -> i64 {
    let n = r.len();
    (0..n)
        .map(|i| {
            let (a, b) = (r[i], r[(i + 1) % n]);
            i64::from(a.0) * i64::from(b.1) - i64::from(b.0) * i64::from(a.1)
        })
        .sum()
}

/// Commands of one feature, with the cursor carried between parts.
#[derive(Default)]
struct Writer {
    commands: Vec<u32>,
    cur: (i32, i32),
}

impl Writer {
    fn line(&mut self, pts: &[(i32, i32)], close: bool) {
        self.commands.push(command(1, 1));
        self.delta(pts[0]);
        self.commands.push(command(2, pts.len() - 1));
        for &p in &pts[1..] {
            self.delta(p);
        }
        if close {
            self.commands.push(command(7, 1));
        }
    }

    /// One polygon, its rings oriented as the spec says (exterior positive
    /// area in tile coordinates, holes negative); nothing when the
    /// exterior vanished in this tile.
    fn polygon(
        &mut self,
        exterior: Option<Vec<(i32, i32)>>,
        holes: impl Iterator<Item = Option<Vec<(i32, i32)>>>,
    ) {
        let Some(mut outer) = exterior else {
            return;
        };
        if area2(&outer) < 0 {
            outer.reverse();
        }
        self.line(&outer, true);
        for mut h in holes.flatten() {
            if area2(&h) > 0 {
                h.reverse();
            }
            self.line(&h, true);
        }
    }

    fn delta(&mut self, p: (i32, i32)) {
        self.commands.push(zigzag(p.0 - self.cur.0));
        self.commands.push(zigzag(p.1 - self.cur.1));
        self.cur = p;
    }

    fn finish(self, kind: GeomType) -> Option<Encoded> {
        (!self.commands.is_empty()).then_some(Encoded {
            kind,
            commands: self.commands,
        })
    }
}

/// Sutherland–Hodgman: the ring (open, no closing point) cut to the square
/// `[lo, hi]²`. Concave rings may gain edges along the square's sides,
/// which lie in the buffer and never show.
fn clip_ring(ring: &[Coord<f64>], lo: f64, hi: f64) -> Vec<Coord<f64>> {
    let mut pts: Vec<Coord<f64>> = ring.to_vec();
    if pts.len() > 1 && pts.first() == pts.last() {
        pts.pop();
    }
    // Fully inside: nothing to do (the common case at high zoom).
    if pts
        .iter()
        .all(|c| c.x >= lo && c.x <= hi && c.y >= lo && c.y <= hi)
    {
        return pts;
    }
    type Edge = (
        fn(Coord<f64>, f64) -> bool,
        fn(Coord<f64>, Coord<f64>, f64) -> Coord<f64>,
        f64,
    );
    let x_at = |a: Coord<f64>, b: Coord<f64>, x: f64| Coord {
        x,
        y: a.y + (b.y - a.y) * (x - a.x) / (b.x - a.x),
    };
    let y_at = |a: Coord<f64>, b: Coord<f64>, y: f64| Coord {
        x: a.x + (b.x - a.x) * (y - a.y) / (b.y - a.y),
        y,
    };
    let edges: [Edge; 4] = [
        (|c, v| c.x >= v, x_at, lo),
        (|c, v| c.x <= v, x_at, hi),
        (|c, v| c.y >= v, y_at, lo),
        (|c, v| c.y <= v, y_at, hi),
    ];
    for (inside, cross, v) in edges {
        if pts.is_empty() {
            break;
        }
        let mut out = Vec::with_capacity(pts.len() + 4);
        let mut prev = pts[pts.len() - 1];
        for &cur in &pts {
            match (inside(cur, v), inside(prev, v)) {
                (true, true) => out.push(cur),
                (true, false) => {
                    out.push(cross(prev, cur, v));
                    out.push(cur);
                }
                (false, true) => out.push(cross(prev, cur, v)),
                (false, false) => {}
            }
            prev = cur;
        }
        pts = out;
    }
    pts
}

/// A line cut to the square `[lo, hi]²` (Liang–Barsky per segment): the
/// parts inside, in order.
fn clip_line(line: &[Coord<f64>], lo: f64, hi: f64) -> Vec<Vec<Coord<f64>>> {
    let mut parts: Vec<Vec<Coord<f64>>> = Vec::new();
    let mut open = false;
    for w in line.windows(2) {
        let (a, b) = (w[0], w[1]);
        let (dx, dy) = (b.x - a.x, b.y - a.y);
        let (mut t0, mut t1) = (0.0f64, 1.0f64);
        let mut keep = true;
        for (p, q) in [
            (-dx, a.x - lo),
            (dx, hi - a.x),
            (-dy, a.y - lo),
            (dy, hi - a.y),
        ] {
            if p == 0.0 {
                if q < 0.0 {
                    keep = false;
                    break;
                }
            } else {
                let r = q / p;
                if p < 0.0 {
                    t0 = t0.max(r);
                } else {
                    t1 = t1.min(r);
                }
            }
        }
        if !keep || t0 > t1 {
            open = false;
            continue;
        }
        let at = |t: f64| Coord {
            x: a.x + dx * t,
            y: a.y + dy * t,
        };
        if !open || t0 > 0.0 {
            parts.push(vec![at(t0)]);
        }
        parts.last_mut().expect("a part is open").push(at(t1));
        open = t1 >= 1.0;
    }
    parts
}

#[cfg(test)]
mod tests;
