//! GeoPackage geometry blobs: the `GP` header with an envelope, then ISO
//! WKB (little-endian). Only the types our layers hold are written; every
//! 2D WKB type is read.

use geo_types::{
    Coord, Geometry, GeometryCollection, LineString, MultiLineString, MultiPoint, MultiPolygon,
    Point, Polygon,
};

/// Why a blob could not be decoded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("geometry blob: {0}")]
pub struct BlobError(pub String);

const SRS_WGS84: i32 = 4326;

/// Encodes a geometry as a GeoPackage blob with an xy envelope.
pub fn encode(g: &Geometry<f64>) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(b"GP");
    out.push(0); // version 1
    let env = envelope(g);
    // flags: little-endian (bit 0), envelope kind 1 = xy (bits 1-3), or
    // empty geometry (bit 4) with no envelope.
    let flags: u8 = if env.is_some() {
        0b0000_0011
    } else {
        0b0001_0001
    };
    out.push(flags);
    out.extend_from_slice(&SRS_WGS84.to_le_bytes());
    if let Some([minx, maxx, miny, maxy]) = env {
        for v in [minx, maxx, miny, maxy] {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    write_wkb(&mut out, g);
    out
}

/// Encodes a point without going through `Geometry` (the hot path of
/// household imports).
pub fn encode_point(p: Point<f64>) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + 32 + 21);
    out.extend_from_slice(b"GP");
    out.push(0);
    out.push(0b0000_0011);
    out.extend_from_slice(&SRS_WGS84.to_le_bytes());
    for v in [p.x(), p.x(), p.y(), p.y()] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.push(1);
    out.extend_from_slice(&1u32.to_le_bytes());
    out.extend_from_slice(&p.x().to_le_bytes());
    out.extend_from_slice(&p.y().to_le_bytes());
    out
}

/// [minx, maxx, miny, maxy] as GeoPackage orders them.
pub fn envelope(g: &Geometry<f64>) -> Option<[f64; 4]> {
    use geo::BoundingRect;
    g.bounding_rect()
        .map(|r| [r.min().x, r.max().x, r.min().y, r.max().y])
}

fn write_wkb(out: &mut Vec<u8>, g: &Geometry<f64>) {
    let coord = |out: &mut Vec<u8>, c: Coord<f64>| {
        out.extend_from_slice(&c.x.to_le_bytes());
        out.extend_from_slice(&c.y.to_le_bytes());
    };
    let header = |out: &mut Vec<u8>, t: u32| {
        out.push(1);
        out.extend_from_slice(&t.to_le_bytes());
    };
    let count = |out: &mut Vec<u8>, n: usize| out.extend_from_slice(&(n as u32).to_le_bytes());
    let line = |out: &mut Vec<u8>, l: &LineString<f64>| {
        count(out, l.0.len());
        for c in &l.0 {
            coord(out, *c);
        }
    };
    let poly = |out: &mut Vec<u8>, p: &Polygon<f64>| {
        if p.exterior().0.is_empty() {
            count(out, 0);
            return;
        }
        count(out, 1 + p.interiors().len());
        line(out, p.exterior());
        for r in p.interiors() {
            line(out, r);
        }
    };
    match g {
        Geometry::Point(p) => {
            header(out, 1);
            coord(out, p.0);
        }
        Geometry::LineString(l) => {
            header(out, 2);
            line(out, l);
        }
        Geometry::Polygon(p) => {
            header(out, 3);
            poly(out, p);
        }
        Geometry::MultiPoint(mp) => {
            header(out, 4);
            count(out, mp.0.len());
            for p in &mp.0 {
                header(out, 1);
                coord(out, p.0);
            }
        }
        Geometry::MultiLineString(ml) => {
            header(out, 5);
            count(out, ml.0.len());
            for l in &ml.0 {
                header(out, 2);
                line(out, l);
            }
        }
        Geometry::MultiPolygon(mp) => {
            header(out, 6);
            count(out, mp.0.len());
            for p in &mp.0 {
                header(out, 3);
                poly(out, p);
            }
        }
        Geometry::GeometryCollection(gc) => {
            header(out, 7);
            count(out, gc.0.len());
            for g in &gc.0 {
                write_wkb(out, g);
            }
        }
        Geometry::Line(l) => {
            write_wkb(out, &Geometry::LineString(LineString(vec![l.start, l.end])))
        }
        Geometry::Rect(r) => write_wkb(out, &Geometry::Polygon(r.to_polygon())),
        Geometry::Triangle(t) => write_wkb(out, &Geometry::Polygon(t.to_polygon())),
    }
}

/// Plain ISO WKB (little-endian), the body of a blob without its header;
/// the PostGIS store wraps it as EWKB.
pub(crate) fn wkb(g: &Geometry<f64>) -> Vec<u8> {
    let mut out = Vec::new();
    write_wkb(&mut out, g);
    out
}

/// Decodes plain ISO WKB (either byte order).
pub(crate) fn decode_wkb(b: &[u8]) -> Result<Geometry<f64>, BlobError> {
    Reader { b, i: 0 }.geometry(0)
}

/// Decodes a GeoPackage blob.
pub fn decode(blob: &[u8]) -> Result<Geometry<f64>, BlobError> {
    if blob.len() < 8 || &blob[..2] != b"GP" {
        return Err(BlobError("missing the GP magic".into()));
    }
    let flags = blob[3];
    let env_len = match (flags >> 1) & 0b111 {
        0 => 0,
        1 => 32,
        2 | 3 => 48,
        4 => 64,
        k => return Err(BlobError(format!("invalid envelope kind {k}"))),
    };
    let start = 8 + env_len;
    if blob.len() < start {
        return Err(BlobError("truncated header".into()));
    }
    let mut r = Reader { b: blob, i: start };
    let g = r.geometry(0)?;
    Ok(g)
}

struct Reader<'a> {
    b: &'a [u8],
    i: usize,
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], BlobError> {
        let s = self
            .b
            .get(self.i..self.i + N)
            .ok_or_else(|| BlobError(format!("truncated WKB at byte {}", self.i)))?;
        self.i += N;
        Ok(s.try_into().expect("slice of N bytes"))
    }

    fn u32(&mut self, le: bool) -> Result<u32, BlobError> {
        let b = self.take::<4>()?;
        Ok(if le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    }

    fn f64(&mut self, le: bool) -> Result<f64, BlobError> {
        let b = self.take::<8>()?;
        Ok(if le {
            f64::from_le_bytes(b)
        } else {
            f64::from_be_bytes(b)
        })
    }

    fn count(&mut self, le: bool) -> Result<usize, BlobError> {
        let n = self.u32(le)? as usize;
        // Each element needs at least 16 bytes: refuse absurd counts
        // before allocating for them.
        if n > (self.b.len() - self.i.min(self.b.len())) {
            return Err(BlobError(format!("count {n} exceeds the blob")));
        }
        Ok(n)
    }

    fn coord(&mut self, le: bool) -> Result<Coord<f64>, BlobError> {
        Ok(Coord {
            x: self.f64(le)?,
            y: self.f64(le)?,
        })
    }

    fn line(&mut self, le: bool) -> Result<LineString<f64>, BlobError> {
        let n = self.count(le)?;
        (0..n)
            .map(|_| self.coord(le))
            .collect::<Result<_, _>>()
            .map(LineString)
    }

    fn polygon(&mut self, le: bool) -> Result<Polygon<f64>, BlobError> {
        let n = self.count(le)?;
        if n == 0 {
            return Ok(Polygon::new(LineString(vec![]), vec![]));
        }
        let ext = self.line(le)?;
        let holes = (1..n).map(|_| self.line(le)).collect::<Result<_, _>>()?;
        Ok(Polygon::new(ext, holes))
    }

    fn geometry(&mut self, depth: u32) -> Result<Geometry<f64>, BlobError> {
        if depth > 8 {
            return Err(BlobError("geometry nested too deeply".into()));
        }
        let le = match self.take::<1>()?[0] {
            0 => false,
            1 => true,
            b => return Err(BlobError(format!("invalid byte order {b}"))),
        };
        let t = self.u32(le)?;
        Ok(match t {
            1 => Geometry::Point(Point(self.coord(le)?)),
            2 => Geometry::LineString(self.line(le)?),
            3 => Geometry::Polygon(self.polygon(le)?),
            4 | 5 | 6 | 7 => {
                let n = self.count(le)?;
                let parts = (0..n)
                    .map(|_| self.geometry(depth + 1))
                    .collect::<Result<Vec<_>, _>>()?;
                match t {
                    4 => Geometry::MultiPoint(MultiPoint(
                        parts
                            .into_iter()
                            .map(|g| match g {
                                Geometry::Point(p) => Ok(p),
                                _ => Err(BlobError("multipoint member is not a point".into())),
                            })
                            .collect::<Result<_, _>>()?,
                    )),
                    5 => Geometry::MultiLineString(MultiLineString(
                        parts
                            .into_iter()
                            .map(|g| match g {
                                Geometry::LineString(l) => Ok(l),
                                _ => Err(BlobError(
                                    "multilinestring member is not a linestring".into(),
                                )),
                            })
                            .collect::<Result<_, _>>()?,
                    )),
                    6 => Geometry::MultiPolygon(MultiPolygon(
                        parts
                            .into_iter()
                            .map(|g| match g {
                                Geometry::Polygon(p) => Ok(p),
                                _ => Err(BlobError("multipolygon member is not a polygon".into())),
                            })
                            .collect::<Result<_, _>>()?,
                    )),
                    _ => Geometry::GeometryCollection(GeometryCollection(parts)),
                }
            }
            other => return Err(BlobError(format!("unsupported WKB type {other}"))),
        })
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use geo_types::{line_string, point, polygon};

    #[test]
    fn every_type_round_trips() {
        let poly = polygon!(
            exterior: [(x: 109.0, y: 32.0), (x: 110.0, y: 32.0), (x: 110.0, y: 33.0), (x: 109.0, y: 32.0)],
            interiors: [[(x: 109.5, y: 32.2), (x: 109.7, y: 32.2), (x: 109.6, y: 32.4), (x: 109.5, y: 32.2)]],
        );
        let cases: Vec<Geometry<f64>> = vec![
            point!(x: 109.1, y: 32.7).into(),
            line_string![(x: 1.0, y: 2.0), (x: 3.0, y: 4.0)].into(),
            poly.clone().into(),
            MultiPolygon(vec![poly.clone(), poly]).into(),
            MultiLineString(vec![line_string![(x: 1.0, y: 2.0), (x: 3.0, y: 4.0)]]).into(),
        ];
        for g in cases {
            assert_eq!(decode(&encode(&g)).unwrap(), g);
        }
        let p = point!(x: 121.5, y: 31.2);
        assert_eq!(encode_point(p), encode(&p.into()));
    }

    #[test]
    fn malformed_blobs_are_errors_not_panics() {
        let good = encode(&point!(x: 1.0, y: 2.0).into());
        assert!(decode(b"XX").is_err());
        assert!(decode(&good[..good.len() - 3]).is_err());
        let mut bad_type = good.clone();
        bad_type[8 + 32 + 1] = 99;
        assert!(decode(&bad_type).is_err());
        let mut huge = encode(&line_string![(x: 1.0, y: 2.0)].into());
        let at = 8 + 32 + 5;
        huge[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode(&huge).is_err());
    }
}
