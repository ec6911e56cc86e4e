//! Real data from `../shared/data/real/` (see its README): Shanghai's Bund
//! (Tilezen GeoJSON), central Helsinki (OSM PBF, checked against GDAL's OSM
//! driver), Macau's parishes and China's admin boundaries as GCJ-02, and a
//! real-ground check of the GCJ-02 conversion against OSM's district lines.

use std::path::Path;
use std::process::Command;

use geo::{Distance, Euclidean};
use geo_types::{Coord, LineString, Point};
use serde_json::Value;
use wangge::spatial::projection::LocalProjection;

use crate::common::{real_data, wangge, Server};

fn import(store: &Path, layer: &str, file: &Path, crs: &str) -> String {
    let (ok, out, err) = wangge(&[
        "import",
        layer,
        file.to_str().unwrap(),
        "--store",
        store.to_str().unwrap(),
        "--crs",
        crs,
    ]);
    assert!(ok, "importing {}: {out}{err}", file.display());
    out
}

#[test]
fn real_shanghai_bund_tilezen_layers() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s.gpkg");
    let out = import(
        &store,
        "all",
        &real_data("shanghai_bund_osm.geojson"),
        "wgs84",
    );
    // 1,572 building polygons (10 of them carry Tilezen's numeric `layer`),
    // label points passed over; 1,778 road features minus 16 ferries, with
    // 143 multi-lines split into their parts; water lines and areas.
    assert!(out.contains("buildings: 1572 stored"), "{out}");
    assert!(out.contains("roads: 1937 stored"), "{out}");
    assert!(out.contains("water: 120 stored"), "{out}");
    let server = Server::start(&store, &[]);
    let (_, v, _) = server.get_json("/api/layers/buildings?limit=2000");
    let with_height = v["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["properties"]["height_m"].is_number())
        .count();
    // Every footprint that has a height in the file keeps it (770 polygons;
    // the README's 968 counts the label points too).
    let file: Value = serde_json::from_str(
        &std::fs::read_to_string(real_data("shanghai_bund_osm.geojson")).unwrap(),
    )
    .unwrap();
    let expected = file["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["geometry"]["type"].as_str().unwrap().ends_with("Polygon"))
        .filter(|f| {
            f["properties"]["layer"] == "buildings"
                || f["properties"]["kind"]
                    .as_str()
                    .is_some_and(|k| k.starts_with("building"))
        })
        .filter(|f| f["properties"]["height"].is_number())
        .count();
    assert_eq!(with_height, expected);
    assert_eq!(with_height, 770);
    let (_, v, _) = server.get_json("/api/layers/roads?limit=3000");
    let classes: std::collections::BTreeSet<&str> = v["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"]["class"].as_str().unwrap())
        .collect();
    for c in ["path", "primary", "residential", "railway"] {
        assert!(classes.contains(c), "no {c} roads: {classes:?}");
    }
}

#[test]
fn real_helsinki_pbf_agrees_with_gdal() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("h.gpkg");
    let pbf = real_data("helsinki_center.osm.pbf");
    let out = import(&store, "all", &pbf, "wgs84");
    // GDAL's OSM driver finds 494 building multipolygons (431 ways, 63
    // relations); 48 ways and 2 relations have nodes outside the extract and
    // are passed over here, so 446 remain.
    assert!(out.contains("buildings: 446 stored"), "{out}");
    assert!(out.contains("roads: 2487 stored"), "{out}");
    assert!(out.contains("water: 17 stored"), "{out}");
    let gdal = Command::new("ogr2ogr")
        .args(["-f", "CSV", "/vsistdout/"])
        .arg(&pbf)
        .args([
            "multipolygons",
            "-where",
            "building IS NOT NULL",
            "-select",
            "osm_id",
        ])
        .output()
        .expect("ogr2ogr (gdal-bin) is installed");
    let rows = String::from_utf8_lossy(&gdal.stdout).lines().count() - 1;
    assert_eq!(rows, 494, "GDAL's building count changed");
    // Levels come through from building:levels.
    let server = Server::start(&store, &[]);
    let (_, v, _) = server.get_json("/api/layers/buildings?limit=1000");
    let with_levels = v["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["properties"]["levels"].is_number())
        .count();
    assert!(with_levels > 100, "{with_levels} buildings with levels");
}

#[test]
fn real_macau_parishes_and_china_admin_as_gcj02() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("m.gpkg");
    let out = import(
        &store,
        "regions",
        &real_data("macau_parishes_gcj02.geojson"),
        "gcj02",
    );
    assert!(out.contains("regions: 8 stored"), "{out}");
    let out = import(
        &store,
        "regions",
        &real_data("china_admin_seed_cities_gcj02.geojson"),
        "gcj02",
    );
    assert!(out.contains("regions: 39 stored"), "{out}");
    let server = Server::start(&store, &[]);
    let (_, v, _) = server.get_json("/api/regions");
    let regions = v["regions"].as_array().unwrap();
    assert_eq!(regions.len(), 47);
    let hanbin = regions
        .iter()
        .find(|r| r["code"] == "610902000000")
        .expect("汉滨区 610902");
    assert_eq!(hanbin["name"], "汉滨区");
    // Converted to WGS-84: Macau's parishes moved west/north by GCJ-02's shift.
    let (_, v, _) = server.get_json("/api/regions/820001");
    assert!(
        v["bbox"][0].as_f64().unwrap() > 113.5 && v["bbox"][2].as_f64().unwrap() < 113.6,
        "{v}"
    );
}

#[test]
fn real_macau_invalid_parishes_are_refused_feature_by_feature() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("bad.gpkg");
    let file = real_data("macau_parishes_osm_invalid.geojson");
    let (ok, out, err) = wangge(&[
        "import",
        "regions",
        file.to_str().unwrap(),
        "--store",
        store.to_str().unwrap(),
        "--crs",
        "wgs84",
    ]);
    assert!(!ok, "{out}");
    assert!(err.contains("8 bad record(s), nothing was stored"), "{err}");
    let unclosed = err
        .lines()
        .filter(|l| {
            l.contains("macau_parishes_osm_invalid.geojson: feature ") && l.contains("not closed")
        })
        .count();
    assert_eq!(
        unclosed, 7,
        "the README says 7 of 8 rings are unclosed:\n{err}"
    );
    let (ok, info, _) = wangge(&["info", "--store", store.to_str().unwrap()]);
    assert!(ok);
    assert!(info.lines().skip(1).all(|l| l.ends_with(" 0")), "{info}");
}

/// Median distance (m) from OSM's district-line vertices naming `district`
/// to that district's boundary.
fn median_offset(server: &Server, code: &str, district: &str, osm: &Value) -> f64 {
    let (_, v, _) = server.get_json(&format!("/api/regions/{code}"));
    let proj = LocalProjection::new(Coord {
        x: 121.49,
        y: 31.24,
    });
    let rings: Vec<LineString<f64>> = v["boundary"]["coordinates"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|poly| poly.as_array().unwrap().iter())
        .map(|ring| {
            LineString(
                ring.as_array()
                    .unwrap()
                    .iter()
                    .map(|c| {
                        proj.forward(Coord {
                            x: c[0].as_f64().unwrap(),
                            y: c[1].as_f64().unwrap(),
                        })
                    })
                    .collect(),
            )
        })
        .collect();
    let mut d: Vec<f64> = osm["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["properties"]["layer"] == "boundaries")
        .filter(|f| {
            f["properties"]["name:left:zh"] == district
                || f["properties"]["name:right:zh"] == district
        })
        .flat_map(|f| f["geometry"]["coordinates"].as_array().unwrap().clone())
        .map(|c| {
            let p = Point(proj.forward(Coord {
                x: c[0].as_f64().unwrap(),
                y: c[1].as_f64().unwrap(),
            }));
            rings
                .iter()
                .map(|r| Euclidean.distance(&p, r))
                .fold(f64::INFINITY, f64::min)
        })
        .collect();
    assert!(d.len() >= 10, "{district}: only {} OSM vertices", d.len());
    d.sort_by(f64::total_cmp);
    d[d.len() / 2]
}

#[test]
fn real_gcj02_districts_land_on_osm_lines_after_conversion() {
    let osm: Value = serde_json::from_str(
        &std::fs::read_to_string(real_data("shanghai_bund_osm.geojson")).unwrap(),
    )
    .unwrap();
    let file = real_data("shanghai_districts_gcj02.geojson");
    let dir = tempfile::tempdir().unwrap();
    let converted = dir.path().join("c.gpkg");
    let raw = dir.path().join("r.gpkg");
    import(&converted, "regions", &file, "gcj02");
    import(&raw, "regions", &file, "wgs84");
    let (c, r) = (Server::start(&converted, &[]), Server::start(&raw, &[]));
    for (code, name) in [
        ("310101", "黄浦区"),
        ("310109", "虹口区"),
        ("310115", "浦东新区"),
    ] {
        let after = median_offset(&c, code, name, &osm);
        let before = median_offset(&r, code, name, &osm);
        eprintln!("{name} {code}: median {before:.0} m raw, {after:.0} m converted");
        assert!(
            after <= 40.0,
            "{name}: median {after:.1} m after converting (≤ 40 m expected)"
        );
        assert!(
            before > 100.0,
            "{name}: the raw GCJ-02 lines should be off by > 100 m, were {before:.1} m"
        );
    }
}
