//! A written feature's geometry as a client sends it (GeoJSON, WGS-84 or
//! a declared CRS as imports take), checked before anything is stored:
//! each fault has a stable code and says where it is (polygon, ring,
//! vertex), so a client can point at it.

use geo_types::{Coord, LineString, MultiPolygon, Polygon};
use geojson::Position;
use serde_json::{json, Value};

use crate::io::validate;
use crate::spatial::crs::Crs;

/// Vertices one written feature may have at most.
pub const MAX_VERTICES: usize = 20_000;

/// What is wrong with a geometry, and where.
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    pub code: &'static str,
    pub detail: String,
    /// `{polygon, ring, vertex}` as far as known.
    pub at: Value,
}

fn fault(code: &'static str, detail: impl Into<String>, at: Value) -> Fault {
    Fault {
        code,
        detail: detail.into(),
        at,
    }
}

/// The CRS a request declares (`wgs84` when none).
pub fn crs(name: Option<&str>) -> Result<Crs, Fault> {
    name.map_or(Ok(Crs::Wgs84), |n| {
        n.parse().map_err(|e: crate::spatial::crs::UnknownCrs| {
            fault("unknown_crs", e.to_string(), json!({}))
        })
    })
}

/// One position checked in `crs` and converted to WGS-84.
fn position(p: &[f64], crs: Crs, at: Value) -> Result<Coord<f64>, Fault> {
    let [x, y, ..] = p else {
        return Err(fault(
            "bad_coordinate",
            format!(
                "a position needs longitude and latitude, got {} numbers",
                p.len()
            ),
            at,
        ));
    };
    validate::check_position(*x, *y, crs).map_err(|e| {
        let code = if e.contains("swapped") {
            "swapped_coordinates"
        } else if e.contains("projected") {
            "projected_coordinates"
        } else {
            "bad_coordinate"
        };
        fault(code, e, at)
    })?;
    Ok(crs.to_wgs84(Coord { x: *x, y: *y }))
}

fn too_many(n: usize) -> Result<(), Fault> {
    if n > MAX_VERTICES {
        return Err(fault(
            "too_many_vertices",
            format!("{n} vertices; a written feature has at most {MAX_VERTICES}"),
            json!({}),
        ));
    }
    Ok(())
}

/// One polygon's rings as sent: positions valid, each ring closed with at
/// least 4 positions and not crossing itself, holes inside the shell.
fn polygon(rings: &[Vec<Position>], crs: Crs, pi: usize) -> Result<Polygon<f64>, Fault> {
    if rings.is_empty() {
        return Err(fault(
            "empty_geometry",
            "a polygon has no rings",
            json!({"polygon": pi}),
        ));
    }
    let mut out = Vec::with_capacity(rings.len());
    for (ri, ring) in rings.iter().enumerate() {
        let at = json!({"polygon": pi, "ring": ri});
        let coords = ring
            .iter()
            .enumerate()
            .map(|(vi, p)| {
                position(
                    p.as_slice(),
                    crs,
                    json!({"polygon": pi, "ring": ri, "vertex": vi}),
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        if coords.len() < 4 {
            return Err(fault(
                "short_ring",
                format!(
                    "ring {ri} has {} positions; a ring needs at least 4",
                    coords.len()
                ),
                at,
            ));
        }
        if ring.first().map(Position::as_slice) != ring.last().map(Position::as_slice) {
            return Err(fault(
                "unclosed_ring",
                format!("ring {ri} is not closed: its last position differs from its first"),
                at,
            ));
        }
        let alone = Polygon::new(LineString(coords), vec![]);
        validate::check_polygon(&alone).map_err(|e| {
            let code = if e.contains("crosses itself") {
                "self_intersection"
            } else {
                "degenerate_ring"
            };
            fault(code, format!("ring {ri}: {e}"), at.clone())
        })?;
        out.push(alone.into_inner().0);
    }
    let mut rings = out.into_iter();
    let shell = rings.next().expect("checked: at least one ring");
    let p = Polygon::new(shell, rings.collect());
    validate::check_polygon(&p).map_err(|e| {
        let code = if e.contains("outside the exterior") {
            "hole_outside"
        } else {
            "rings_cross"
        };
        fault(code, e, json!({"polygon": pi}))
    })?;
    Ok(p)
}

/// A building's footprint: a GeoJSON Polygon or MultiPolygon.
pub fn footprint(g: &geojson::Geometry, crs: Crs) -> Result<MultiPolygon<f64>, Fault> {
    use geojson::GeometryValue as G;
    let polys: Vec<&Vec<Vec<Position>>> = match &g.value {
        G::Polygon { coordinates } => vec![coordinates],
        G::MultiPolygon { coordinates } => coordinates.iter().collect(),
        other => {
            return Err(fault(
                "wrong_geometry_type",
                format!(
                    "a building is a Polygon or MultiPolygon, not a {}",
                    other.type_name()
                ),
                json!({}),
            ))
        }
    };
    too_many(polys.iter().flat_map(|p| p.iter()).map(Vec::len).sum())?;
    if polys.is_empty() {
        return Err(fault(
            "empty_geometry",
            "a MultiPolygon with no polygon",
            json!({}),
        ));
    }
    let out = polys
        .iter()
        .enumerate()
        .map(|(pi, rings)| polygon(rings, crs, pi))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(MultiPolygon(out))
}

/// A road's centre line: a GeoJSON LineString of at least two distinct
/// positions.
pub fn centre_line(g: &geojson::Geometry, crs: Crs) -> Result<LineString<f64>, Fault> {
    let geojson::GeometryValue::LineString { coordinates } = &g.value else {
        return Err(fault(
            "wrong_geometry_type",
            format!("a road is a LineString, not a {}", g.value.type_name()),
            json!({}),
        ));
    };
    too_many(coordinates.len())?;
    let coords = coordinates
        .iter()
        .enumerate()
        .map(|(vi, p)| position(p.as_slice(), crs, json!({"vertex": vi})))
        .collect::<Result<Vec<_>, _>>()?;
    let distinct = coords.windows(2).any(|w| w[0] != w[1]);
    if coords.len() < 2 || !distinct {
        return Err(fault(
            "short_line",
            format!(
                "a line needs at least 2 distinct positions, has {}",
                coords.len()
            ),
            json!({}),
        ));
    }
    Ok(LineString(coords))
}

#[cfg(test)]
mod test {
    use super::*;

    fn geom(v: Value) -> geojson::Geometry {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn faults_have_codes_and_say_where() {
        let sq = json!({"type": "Polygon", "coordinates": [[[109.0, 32.6], [109.001, 32.6], [109.001, 32.601], [109.0, 32.601], [109.0, 32.6]]]});
        assert_eq!(footprint(&geom(sq), Crs::Wgs84).unwrap().0.len(), 1);
        let open = json!({"type": "Polygon", "coordinates": [[[109.0, 32.6], [109.001, 32.6], [109.001, 32.601], [109.0, 32.601]]]});
        let f = footprint(&geom(open), Crs::Wgs84).unwrap_err();
        assert_eq!(
            (f.code, f.at.clone()),
            ("unclosed_ring", json!({"polygon": 0, "ring": 0}))
        );
        let bow = json!({"type": "Polygon", "coordinates": [[[109.0, 32.6], [109.001, 32.601], [109.001, 32.6], [109.0, 32.601], [109.0, 32.6]]]});
        assert_eq!(
            footprint(&geom(bow), Crs::Wgs84).unwrap_err().code,
            "self_intersection"
        );
        let swapped = json!({"type": "Polygon", "coordinates": [[[32.6, 109.0], [32.6, 109.001], [32.601, 109.001], [32.6, 109.0]]]});
        let f = footprint(&geom(swapped), Crs::Wgs84).unwrap_err();
        assert_eq!(f.code, "swapped_coordinates");
        assert_eq!(f.at, json!({"polygon": 0, "ring": 0, "vertex": 0}));
        let metres = json!({"type": "LineString", "coordinates": [[500000.0, 3400000.0], [500010.0, 3400000.0]]});
        assert_eq!(
            centre_line(&geom(metres), Crs::Wgs84).unwrap_err().code,
            "projected_coordinates"
        );
        let point = json!({"type": "Point", "coordinates": [109.0, 32.6]});
        assert_eq!(
            centre_line(&geom(point), Crs::Wgs84).unwrap_err().code,
            "wrong_geometry_type"
        );
        assert_eq!(crs(Some("mars")).unwrap_err().code, "unknown_crs");
        // GCJ-02 is converted: the stored line lies some hundred metres off.
        let l = json!({"type": "LineString", "coordinates": [[109.0, 32.6], [109.01, 32.6]]});
        let g = centre_line(&geom(l), Crs::Gcj02).unwrap();
        assert!((g.0[0].x - 109.0).abs() > 1e-4, "{g:?}");
    }
}
