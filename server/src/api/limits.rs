//! How much work one request may ask for, in one place.
//!
//! Every bound a request can hit is a constant here, with why it is what it
//! is; the README lists them. A request over a bound gets a problem
//! document naming it (`limit`, `max`, `got`): 413 when the body itself is
//! too large, 422 when it is well-formed but asks for too much. The checks
//! are cheap and come first (count vertices before validating geometry),
//! so refusing costs far less than a millisecond.

use serde_json::{json, Value};

use super::ApiError;

/// Largest JSON request body. Every route that takes a body takes a small
/// JSON document (edits, areas, logins); the largest accepted hazard
/// polygon ([`POLYGON_VERTICES`] points) is about 300 KiB.
pub const JSON_BODY_BYTES: usize = 1024 * 1024;

/// Largest uploaded table (`POST /api/uploads`, `/api/households/bulk`):
/// 100,000 households as CSV are about 10 MiB, as a JSON array about
/// 20 MiB; a street's ledger is a few thousand rows.
pub const UPLOAD_BYTES: usize = 64 * 1024 * 1024;

/// Paths whose body is an upload, held to [`UPLOAD_BYTES`] instead of
/// [`JSON_BODY_BYTES`].
pub fn body_limit(path: &str) -> (usize, &'static str) {
    if path == "/api/uploads" || path == "/api/households/bulk" {
        (UPLOAD_BYTES, "upload_bytes")
    } else {
        (JSON_BODY_BYTES, "json_body_bytes")
    }
}

/// Points of a hazard polygon (all rings and parts). A hand-drawn area has
/// tens; a flood model's outline a few thousand. Each point costs a test
/// per household in the area's bounding box.
pub const POLYGON_VERTICES: usize = 10_000;

/// Area of a hazard polygon or circle, km². A street office's territory is
/// 2–20 km²; a whole city in one request is what stalled the server.
pub const HAZARD_AREA_KM2: f64 = 100.0;

/// Vulnerable households one dispatch plan may pair: a flood night's
/// re-plan (issue 22: 2,000 households × 5,000 volunteers within 1 s;
/// `scripts/bench incident` times it over HTTP). The flow's work grows
/// with households × volunteers.
pub const DISPATCH_HOUSEHOLDS: usize = 2_000;

/// Volunteers one dispatch plan may consider (in the area or within
/// reach), and one confirmed dispatch may send.
pub const DISPATCH_VOLUNTEERS: usize = 5_000;

/// `k` of `/api/emergency/nearest`: more than a dispatcher can call.
pub const NEAREST_K: usize = 100;

/// `radius_m` of `/api/emergency/nearest`, and how far its walk search goes
/// when no radius is given.
pub const NEAREST_RADIUS_M: f64 = 20_000.0;

/// Households one volunteer takes in a plan (`capacity`).
pub const CAPACITY: usize = 50;

/// Farthest a volunteer is sent (`max_distance_m`): 10 km is two hours on
/// foot, already more than a visit in an emergency allows.
pub const MAX_DISTANCE_M: f64 = 10_000.0;

/// How far beyond the area volunteers are looked for (`margin_m`).
pub const MARGIN_M: f64 = 10_000.0;

/// Items in one page of `/api/layers/{layer}` and OGC `items` (`limit`).
pub const PAGE_ITEMS: usize = 10_000;

/// Results of one search (`limit`).
pub const SEARCH_RESULTS: usize = 100;

/// Width and height of a `bbox` filter, degrees (about 500 km): the service
/// covers a city, and a wider box only makes the page-by-page walk longer.
pub const BBOX_SPAN_DEG: f64 = 5.0;

/// Suggested carer places of one coverage analysis (`suggest`).
pub const COVERAGE_SUGGESTIONS: usize = 200;

/// A request over a limit: which one, its bound and what was asked.
#[derive(Debug, Clone)]
pub struct OverLimit {
    /// 413 (the body) or 422 (what the body asks).
    pub status: u16,
    /// The limit's name, stable for clients (`polygon_vertices`, ...).
    pub limit: &'static str,
    pub max: Value,
    pub got: Value,
    pub detail: String,
}

impl std::fmt::Display for OverLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.detail)
    }
}

impl OverLimit {
    /// The members added to the problem document.
    pub fn members(&self) -> Value {
        json!({ "limit": self.limit, "max": self.max, "got": self.got })
    }
}

/// 422: `got` exceeds `max` for the limit `limit`; `what` says it in words.
pub fn over(
    limit: &'static str,
    what: &str,
    max: impl Into<Value>,
    got: impl Into<Value>,
) -> ApiError {
    let (max, got) = (max.into(), got.into());
    ApiError::OverLimit(OverLimit {
        status: 422,
        limit,
        detail: format!("{what} is {got}, over the limit of {max} ({limit})"),
        max,
        got,
    })
}

/// 413: a body of `got` bytes (when known) over [`JSON_BODY_BYTES`].
pub fn body_too_large(got: Option<u64>) -> ApiError {
    too_large(got, JSON_BODY_BYTES, "json_body_bytes")
}

/// 413: an upload of `got` bytes (when known) over [`UPLOAD_BYTES`].
pub fn upload_too_large(got: Option<u64>) -> ApiError {
    too_large(got, UPLOAD_BYTES, "upload_bytes")
}

/// 413: a body over `max` bytes, the limit named `limit`.
pub fn too_large(got: Option<u64>, max: usize, limit: &'static str) -> ApiError {
    let detail = match got {
        Some(n) => format!("the request body has {n} bytes, over the limit of {max} ({limit})"),
        None => format!("the request body is over the limit of {max} bytes ({limit})"),
    };
    ApiError::OverLimit(OverLimit {
        status: 413,
        limit,
        max: max.into(),
        got: got.map_or(Value::Null, Value::from),
        detail,
    })
}

/// `Ok` when `got ≤ max`, else [`over`].
pub fn at_most_usize(
    limit: &'static str,
    what: &str,
    max: usize,
    got: usize,
) -> Result<(), ApiError> {
    if got > max {
        return Err(over(limit, what, max, got));
    }
    Ok(())
}

/// `Ok` when `got ≤ max`, else [`over`] (the figures rounded for reading).
pub fn at_most_f64(limit: &'static str, what: &str, max: f64, got: f64) -> Result<(), ApiError> {
    if got > max {
        let round = |x: f64| (x * 100.0).round() / 100.0;
        return Err(over(limit, what, round(max), round(got)));
    }
    Ok(())
}

/// A `bbox` wider or taller than [`BBOX_SPAN_DEG`].
pub fn check_bbox(b: &geo_types::Rect<f64>) -> Result<(), ApiError> {
    let span = b.width().max(b.height());
    at_most_f64(
        "bbox_span_deg",
        "the bbox's larger side (degrees)",
        BBOX_SPAN_DEG,
        span,
    )
}

/// Positions (`[x, y]` arrays) in a JSON text, counted on the raw bytes:
/// an opening bracket followed by a number. Far cheaper than parsing, so a
/// huge polygon is refused before it is deserialized.
pub fn positions_in(json: &[u8]) -> usize {
    let mut n = 0;
    let mut i = 0;
    while i < json.len() {
        if json[i] == b'[' {
            let mut j = i + 1;
            while j < json.len() && json[j].is_ascii_whitespace() {
                j += 1;
            }
            if j < json.len() && (json[j].is_ascii_digit() || json[j] == b'-' || json[j] == b'.') {
                n += 1;
            }
            i = j;
        } else {
            i += 1;
        }
    }
    n
}

/// Points of a GeoJSON geometry, counted without building it.
pub fn vertices(g: &geojson::GeometryValue) -> usize {
    use geojson::GeometryValue as G;
    match g {
        G::Point { .. } => 1,
        G::MultiPoint { coordinates } | G::LineString { coordinates } => coordinates.len(),
        G::MultiLineString { coordinates } | G::Polygon { coordinates } => {
            coordinates.iter().map(Vec::len).sum()
        }
        G::MultiPolygon { coordinates } => coordinates.iter().flatten().map(Vec::len).sum(),
        G::GeometryCollection { geometries } => geometries.iter().map(|g| vertices(&g.value)).sum(),
    }
}

/// Area in km² of GeoJSON polygons in lon/lat, on a sphere (the shoelace
/// formula with longitudes scaled by the cosine of each edge's latitude):
/// within a fraction of a percent for city-sized areas, which is all a
/// limit needs. Holes are subtracted; other geometries have no area.
pub fn area_km2(g: &geojson::GeometryValue) -> f64 {
    use geojson::GeometryValue as G;
    const R_KM: f64 = 6_371.008_8;
    let ring = |r: &Vec<geojson::Position>| -> f64 {
        // Latitudes from the ring's first, so that the sum does not lean on
        // how far from the equator the ring is.
        let lat0 = r
            .first()
            .and_then(|p| p.as_slice().get(1))
            .copied()
            .unwrap_or(0.0);
        let mut twice = 0.0;
        for w in r.windows(2) {
            let (a, b) = (w[0].as_slice(), w[1].as_slice());
            if a.len() < 2 || b.len() < 2 {
                continue;
            }
            let lat = a[1].midpoint(b[1]).to_radians();
            twice +=
                (b[0] - a[0]).to_radians() * lat.cos() * (b[1] + a[1] - 2.0 * lat0).to_radians();
        }
        (twice / 2.0).abs() * R_KM * R_KM
    };
    let polygon = |p: &Vec<Vec<geojson::Position>>| -> f64 {
        let mut rings = p.iter().map(ring);
        let outer = rings.next().unwrap_or(0.0);
        (outer - rings.sum::<f64>()).max(0.0)
    };
    match g {
        G::Polygon { coordinates } => polygon(coordinates),
        G::MultiPolygon { coordinates } => coordinates.iter().map(polygon).sum(),
        _ => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(side_deg: f64) -> Vec<geojson::Position> {
        let (x, y) = (116.4, 39.9);
        [
            [x, y],
            [x + side_deg, y],
            [x + side_deg, y + side_deg],
            [x, y + side_deg],
            [x, y],
        ]
        .into_iter()
        .map(|p| geojson::Position::from(p.to_vec()))
        .collect()
    }

    fn square(side_deg: f64) -> geojson::GeometryValue {
        geojson::GeometryValue::Polygon {
            coordinates: vec![ring(side_deg)],
        }
    }

    #[test]
    fn area_of_a_square_near_beijing() {
        // 0.1° of latitude is 11.12 km; of longitude at 39.95° N, 8.52 km.
        let a = area_km2(&square(0.1));
        assert!((a - 11.12 * 8.52).abs() < 1.0, "{a}");
        assert!(area_km2(&square(0.01)) < 1.0);
        assert_eq!(vertices(&square(0.1)), 5);
    }

    #[test]
    fn holes_are_subtracted() {
        let a = area_km2(&geojson::GeometryValue::Polygon {
            coordinates: vec![ring(0.1), ring(0.05)],
        });
        assert!((a - 0.75 * 11.12 * 8.52).abs() < 1.0, "{a}");
    }

    #[test]
    fn over_a_limit_names_it_with_max_and_got() {
        let e = at_most_usize("polygon_vertices", "points of the polygon", 10, 11).unwrap_err();
        let ApiError::OverLimit(o) = e else {
            panic!("{e:?}")
        };
        assert_eq!(o.status, 422);
        assert_eq!(
            o.members(),
            json!({"limit": "polygon_vertices", "max": 10, "got": 11})
        );
        assert!(o.detail.contains("polygon_vertices"), "{}", o.detail);
        assert!(at_most_usize("k", "k", 10, 10).is_ok());
        assert!(at_most_f64("x", "x", 1.0, 1.0).is_ok());
        let ApiError::OverLimit(b) = body_too_large(Some(2_000_000)) else {
            panic!()
        };
        assert_eq!((b.status, b.limit), (413, "json_body_bytes"));
    }

    #[test]
    fn positions_are_counted_on_the_raw_text() {
        let body = br#"{"polygon":{"type":"Polygon","coordinates":[[[1,2],[ 3.5,4],[-1,2],[1,2]]]},"skills":["a"]}"#;
        assert_eq!(positions_in(body), 4);
        assert_eq!(positions_in(b"{}"), 0);
    }

    #[test]
    fn bbox_span() {
        let ok = geo_types::Rect::new((116.0, 39.0), (117.0, 40.0));
        assert!(check_bbox(&ok).is_ok());
        let wide = geo_types::Rect::new((100.0, 39.0), (117.0, 40.0));
        assert!(
            matches!(check_bbox(&wide), Err(ApiError::OverLimit(o)) if o.limit == "bbox_span_deg")
        );
    }
}
