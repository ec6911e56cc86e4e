//! Checks on coordinates and geometry, with messages that say what is wrong
//! and where, and that recognise the two classic mistakes: latitude and
//! longitude swapped, and projected metres given as degrees.

use geo_types::{Coord, Line, Polygon};

use crate::spatial::crs::Crs;

/// China's extent, generously: GCJ-02 and BD-09 exist only inside it.
const CHINA_LON: (f64, f64) = (73.0, 136.0);
const CHINA_LAT: (f64, f64) = (3.0, 54.0);

fn in_china(lon: f64, lat: f64) -> bool {
    (CHINA_LON.0..=CHINA_LON.1).contains(&lon) && (CHINA_LAT.0..=CHINA_LAT.1).contains(&lat)
}

/// Checks one lon/lat position in `crs` degrees.
pub fn check_position(lon: f64, lat: f64, crs: Crs) -> Result<(), String> {
    if !lon.is_finite() || !lat.is_finite() {
        return Err(format!("coordinate ({lon}, {lat}) is not a finite number"));
    }
    if lon.abs() > 360.0 || lat.abs() > 360.0 {
        return Err(format!(
            "coordinate ({lon}, {lat}) looks like metres in a projected CRS, not degrees; \
             imports take longitude/latitude degrees in wgs84, cgcs2000, gcj02 or bd09"
        ));
    }
    let china_only = matches!(crs, Crs::Gcj02 | Crs::Bd09);
    let swapped_fits = (-180.0..=180.0).contains(&lat) && (-90.0..=90.0).contains(&lon);
    if lat.abs() > 90.0 || lon.abs() > 180.0 {
        if swapped_fits {
            return Err(format!(
                "latitude {lat} is out of range: longitude and latitude look swapped (lon={lon}, lat={lat}); \
                 positions are longitude first"
            ));
        }
        return Err(format!(
            "coordinate ({lon}, {lat}) is outside longitude -180..180 / latitude -90..90"
        ));
    }
    if china_only && !in_china(lon, lat) {
        if in_china(lat, lon) {
            return Err(format!(
                "({lon}, {lat}) is outside China but ({lat}, {lon}) is inside: longitude and latitude look swapped"
            ));
        }
    }
    Ok(())
}

fn ring_name(i: usize) -> String {
    if i == 0 {
        "exterior ring".into()
    } else {
        format!("interior ring {i}")
    }
}

/// Checks raw rings (as read, before any closing) of one polygon.
pub fn check_rings(rings: &[Vec<Coord<f64>>], crs: Crs) -> Result<(), String> {
    if rings.is_empty() {
        return Err("polygon has no rings".into());
    }
    for (ri, ring) in rings.iter().enumerate() {
        for (vi, c) in ring.iter().enumerate() {
            check_position(c.x, c.y, crs)
                .map_err(|e| format!("{} vertex {vi}: {e}", ring_name(ri)))?;
        }
        if ring.len() < 4 {
            return Err(format!(
                "{} has {} positions; a ring needs at least 4",
                ring_name(ri),
                ring.len()
            ));
        }
        let (first, last) = (ring[0], ring[ring.len() - 1]);
        if first != last {
            return Err(format!(
                "{} is not closed: it starts at ({}, {}) and ends at ({}, {})",
                ring_name(ri),
                first.x,
                first.y,
                last.x,
                last.y
            ));
        }
    }
    Ok(())
}

/// Checks the raw rings of a GeoJSON (Multi)Polygon in WGS-84 as sent:
/// converting to `geo` closes open rings silently, so a request's polygon
/// is checked here first. Other geometry types pass (callers refuse them).
pub fn check_geojson_rings(g: &geojson::Geometry) -> Result<(), String> {
    let to_rings = |p: &[Vec<geojson::Position>]| -> Vec<Vec<Coord<f64>>> {
        p.iter()
            .map(|r| {
                r.iter()
                    .map(|pos| {
                        let (x, y) = if pos.len() >= 2 {
                            (pos[0], pos[1])
                        } else {
                            (f64::NAN, f64::NAN)
                        };
                        Coord { x, y }
                    })
                    .collect()
            })
            .collect()
    };
    match &g.value {
        geojson::GeometryValue::Polygon { coordinates: p } => check_rings(&to_rings(p), Crs::Wgs84),
        geojson::GeometryValue::MultiPolygon { coordinates: m } => {
            m.iter().enumerate().try_for_each(|(i, p)| {
                check_rings(&to_rings(p), Crs::Wgs84).map_err(|e| format!("polygon {i}: {e}"))
            })
        }
        _ => Ok(()),
    }
}

/// Checks a polygon's validity (OGC): rings that cross themselves or each
/// other, holes outside the shell; says where. Segments go into an R-tree,
/// so a boundary with 100,000 vertices is checked in milliseconds (geo's
/// `Validation` compares every pair of segments).
pub fn check_polygon(p: &Polygon<f64>) -> Result<(), String> {
    use geo::line_intersection::{line_intersection, LineIntersection};
    use rstar::primitives::{GeomWithData, Rectangle};
    use rstar::RTree;

    let rings: Vec<Vec<Line<f64>>> = std::iter::once(p.exterior())
        .chain(p.interiors())
        .map(|r| r.lines().filter(|l| l.start != l.end).collect())
        .collect();
    for (ri, ring) in rings.iter().enumerate() {
        if ring.len() < 3 {
            return Err(format!(
                "{} has fewer than 3 distinct positions",
                ring_name(ri)
            ));
        }
    }
    let entries: Vec<GeomWithData<Rectangle<[f64; 2]>, (usize, usize)>> = rings
        .iter()
        .enumerate()
        .flat_map(|(ri, ring)| {
            ring.iter().enumerate().map(move |(si, l)| {
                GeomWithData::new(
                    Rectangle::from_corners([l.start.x, l.start.y], [l.end.x, l.end.y]),
                    (ri, si),
                )
            })
        })
        .collect();
    let tree = RTree::bulk_load(entries);
    for (ri, ring) in rings.iter().enumerate() {
        let n = ring.len();
        for (si, seg) in ring.iter().enumerate() {
            let env = rstar::AABB::from_corners([seg.start.x, seg.start.y], [seg.end.x, seg.end.y]);
            for other in tree.locate_in_envelope_intersecting(&env) {
                let (rj, sj) = other.data;
                if (rj, sj) <= (ri, si) {
                    continue;
                }
                let Some(hit) = line_intersection(*seg, rings[rj][sj]) else {
                    continue;
                };
                let adjacent = ri == rj && (sj == si + 1 || (si == 0 && sj == n - 1));
                let (point, bad) = match hit {
                    LineIntersection::Collinear { intersection } => (intersection.start, true),
                    LineIntersection::SinglePoint { intersection, .. } => {
                        (intersection, !adjacent && ri == rj)
                    }
                };
                // Different rings may touch at a point, but not cross.
                let crosses = ri != rj
                    && matches!(
                        hit,
                        LineIntersection::SinglePoint {
                            is_proper: true,
                            ..
                        }
                    );
                if ri == rj && bad {
                    return Err(format!(
                        "{} crosses itself: segment {si} meets segment {sj} near ({:.7}, {:.7})",
                        ring_name(ri),
                        point.x,
                        point.y
                    ));
                }
                if ri != rj && (crosses || bad) {
                    return Err(format!(
                        "{} and {} cross near ({:.7}, {:.7})",
                        ring_name(ri),
                        ring_name(rj),
                        point.x,
                        point.y
                    ));
                }
            }
        }
    }
    let shell = Polygon::new(p.exterior().clone(), vec![]);
    for (i, hole) in p.interiors().iter().enumerate() {
        use geo::Intersects;
        let inside = hole.0.iter().any(|c| {
            use geo::Contains;
            shell.contains(c)
        }) || hole.0.iter().all(|c| shell.intersects(c));
        if !inside {
            return Err(format!(
                "{} lies outside the exterior ring",
                ring_name(i + 1)
            ));
        }
    }
    Ok(())
}

/// Checks a line: at least two positions, each valid.
pub fn check_line(line: &[Coord<f64>], crs: Crs) -> Result<(), String> {
    for (vi, c) in line.iter().enumerate() {
        check_position(c.x, c.y, crs).map_err(|e| format!("vertex {vi}: {e}"))?;
    }
    if line.len() < 2 {
        return Err(format!(
            "a line needs at least 2 positions, has {}",
            line.len()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod test {
    use super::*;
    use geo_types::{coord, polygon};

    #[test]
    fn swapped_and_projected_coordinates_are_explained() {
        assert!(check_position(121.47, 31.23, Crs::Wgs84).is_ok());
        let e = check_position(31.23, 121.47, Crs::Wgs84).unwrap_err();
        assert!(e.contains("swapped"), "{e}");
        // Outside China GCJ-02 equals WGS-84 (nothing is shifted there).
        assert!(check_position(2.35, 48.85, Crs::Gcj02).is_ok());
        let e = check_position(32.6, 109.0, Crs::Gcj02).unwrap_err();
        assert!(e.contains("swapped"), "{e}");
        let e = check_position(500_000.0, 3_400_000.0, Crs::Wgs84).unwrap_err();
        assert!(e.contains("projected"), "{e}");
        assert!(check_position(f64::NAN, 1.0, Crs::Wgs84)
            .unwrap_err()
            .contains("finite"));
    }

    #[test]
    fn unclosed_short_and_crossing_rings_say_where() {
        let c = |x: f64, y: f64| coord! { x: x, y: y };
        let open = vec![c(0.0, 0.0), c(1.0, 0.0), c(1.0, 1.0), c(0.0, 1.0)];
        let e = check_rings(&[open], Crs::Wgs84).unwrap_err();
        assert!(e.contains("not closed") && e.contains("(0, 1)"), "{e}");
        let e =
            check_rings(&[vec![c(0.0, 0.0), c(1.0, 0.0), c(0.0, 0.0)]], Crs::Wgs84).unwrap_err();
        assert!(e.contains("at least 4"), "{e}");
        let bowtie = polygon![(x: 0.0, y: 0.0), (x: 2.0, y: 2.0), (x: 2.0, y: 0.0), (x: 0.0, y: 2.0), (x: 0.0, y: 0.0)];
        let e = check_polygon(&bowtie).unwrap_err();
        assert!(
            e.contains("crosses itself") && e.contains("(1.0000000, 1.0000000)"),
            "{e}"
        );
        let ok = polygon![(x: 0.0, y: 0.0), (x: 2.0, y: 0.0), (x: 2.0, y: 2.0), (x: 0.0, y: 0.0)];
        assert!(check_polygon(&ok).is_ok());
    }
}
