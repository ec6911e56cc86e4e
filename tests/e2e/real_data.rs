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

/// The bounding box (west, south, east, north) of a GeoJSON file's lines.
fn lines_bbox(file: &Path) -> [f64; 4] {
    let fc: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    let mut bbox = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
    for f in fc["features"].as_array().unwrap() {
        let g = &f["geometry"];
        let lines: Vec<&Value> = match g["type"].as_str() {
            Some("LineString") => vec![&g["coordinates"]],
            Some("MultiLineString") => g["coordinates"].as_array().unwrap().iter().collect(),
            _ => continue,
        };
        for c in lines.iter().flat_map(|l| l.as_array().unwrap()) {
            let (x, y) = (c[0].as_f64().unwrap(), c[1].as_f64().unwrap());
            bbox = [
                bbox[0].min(x),
                bbox[1].min(y),
                bbox[2].max(x),
                bbox[3].max(y),
            ];
        }
    }
    bbox
}

/// Segments of the ring edges of `polys` (WGS-84), each with how many of
/// `polys` have it: an inner boundary is shared by two.
fn ring_segments<'a>(
    polys: impl Iterator<Item = (&'a geo_types::MultiPolygon<f64>, u32)>,
) -> std::collections::HashMap<[i64; 4], Vec<u32>> {
    let key = |c: Coord<f64>| ((c.x * 1e8).round() as i64, (c.y * 1e8).round() as i64);
    let mut out: std::collections::HashMap<[i64; 4], Vec<u32>> = std::collections::HashMap::new();
    for (mp, label) in polys {
        for p in &mp.0 {
            for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
                for l in ring.lines() {
                    let (a, b) = (key(l.start), key(l.end));
                    let k = if a <= b {
                        [a.0, a.1, b.0, b.1]
                    } else {
                        [b.0, b.1, a.0, a.1]
                    };
                    out.entry(k).or_default().push(label);
                }
            }
        }
    }
    out
}

/// Metres of `lines` (local plane) that run within `tol` m of a segment of
/// `edges` and farther than `tol` from every line of `explained` (a
/// boundary along the line that nothing at street level accounts for), in
/// all and the longest unbroken stretch.
fn along(
    lines: &[LineString<f64>],
    edges: &[geo_types::Line<f64>],
    explained: &[geo_types::Line<f64>],
    tol: f64,
) -> (f64, f64) {
    use rstar::primitives::GeomWithData;
    use rstar::RTree;
    let tree = |ls: &[geo_types::Line<f64>]| {
        RTree::bulk_load(
            ls.iter()
                .map(|l| {
                    GeomWithData::new(
                        rstar::primitives::Line::new([l.start.x, l.start.y], [l.end.x, l.end.y]),
                        (),
                    )
                })
                .collect::<Vec<_>>(),
        )
    };
    let (edges, explained) = (tree(edges), tree(explained));
    let near = |t: &RTree<GeomWithData<rstar::primitives::Line<[f64; 2]>, ()>>, p: [f64; 2]| {
        t.locate_within_distance(p, tol * tol).next().is_some()
    };
    let step = 1.0;
    let (mut metres, mut longest) = (0.0, 0.0_f64);
    for l in lines {
        let mut run = 0.0;
        for seg in l.lines() {
            let len = Euclidean.distance(seg.start, seg.end);
            let n = (len / step).ceil().max(1.0) as usize;
            for i in 0..n {
                let t = (i as f64 + 0.5) / n as f64;
                let p = [
                    seg.start.x + (seg.end.x - seg.start.x) * t,
                    seg.start.y + (seg.end.y - seg.start.y) * t,
                ];
                if near(&edges, p) && !near(&explained, p) {
                    metres += len / n as f64;
                    run += len / n as f64;
                    longest = longest.max(run);
                } else {
                    run = 0.0;
                }
            }
        }
    }
    (metres, longest)
}

/// Tunnels run under the blocks: on the real Bund (the Yan'an Road,
/// Renmin Road and Bund tunnels, metro lines 2, 4, 9, 10 and 12), no atom
/// boundary and no level-1 grid boundary of 黄浦区 follows one, beyond
/// where a street-level line (road, railway, river, the district border)
/// runs on top.
#[test]
fn real_shanghai_tunnels_bound_no_atom_and_no_level1_grid() {
    use wangge::domain::{Grade, Road};
    use wangge::store::Store;
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s.gpkg");
    let path = store.to_str().unwrap();
    let bund = real_data("shanghai_bund_osm.geojson");
    let out = import(&store, "all", &bund, "wgs84");
    // What the reader passed over is counted and printed.
    assert!(out.contains("feature(s) passed over"), "{out}");
    // 409 label, address and entrance points of buildings, 494 POIs, 16
    // ferries: counted and printed, not dropped unsaid.
    assert!(
        out.contains("  409 buildings: a point (not a shape of this layer)"),
        "{out}"
    );
    assert!(out.contains("  494 pois (a layer not imported)"), "{out}");
    assert!(
        out.contains("  16 roads: ferry (not a road we draw)"),
        "{out}"
    );
    // The district cut to the extract, as scripts/bench does.
    let [west, south, east, north] = lines_bbox(&bund);
    let clip = format!("{west},{south},{east},{north}");
    let (ok, out, err) = wangge(&[
        "import",
        "regions",
        real_data("shanghai_districts_gcj02.geojson")
            .to_str()
            .unwrap(),
        "--store",
        path,
        "--crs",
        "gcj02",
        "--clip",
        &clip,
    ]);
    assert!(ok, "{out}{err}");
    let (ok, out, err) = wangge(&["estimate", "buildings", "--store", path]);
    assert!(ok, "{out}{err}");
    let (ok, out, err) = wangge(&["partition", "--store", path, "--region", "310101"]);
    assert!(ok, "{out}{err}");
    // Blocks of banks, hotels and offices with no homes, each left to one
    // grid (issue 24 item 6), counted and printed.
    let areas: usize = out
        .lines()
        .find_map(|l| l.strip_prefix("land without homes left to one grid: "))
        .and_then(|l| l.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("the partition reports land without homes:\n{out}"));
    eprintln!("黄浦区: {areas} area(s) without homes left to one grid");
    assert!(areas > 0, "{out}");

    let d = wangge::store::gpkg::GeoPackage::open(&store)
        .unwrap()
        .load()
        .unwrap();
    let code: wangge::domain::RegionCode = "310101".parse().unwrap();
    let region = d.regions.iter().find(|r| r.code == code).unwrap();
    let proj = LocalProjection::new(Coord {
        x: f64::midpoint(west, east),
        y: f64::midpoint(south, north),
    });
    let local = |l: &LineString<f64>| LineString(l.0.iter().map(|c| proj.forward(*c)).collect());
    let tunnels: Vec<LineString<f64>> = d
        .roads
        .iter()
        .filter(|r| r.grade == Grade::Tunnel)
        .filter(|r| geo::Intersects::intersects(&r.geometry, &region.boundary))
        .map(|r: &Road| local(&r.geometry))
        .collect();
    let tunnel_m: f64 = tunnels
        .iter()
        .flat_map(LineString::lines)
        .map(|seg| Euclidean.distance(seg.start, seg.end))
        .sum();
    assert!(tunnels.len() > 50, "{} tunnels in 黄浦区", tunnels.len());
    // Street-level lines: roads and railways not in tunnels, water edges,
    // the district's own border.
    let mut explained: Vec<geo_types::Line<f64>> = d
        .roads
        .iter()
        .filter(|r| r.grade != Grade::Tunnel)
        .flat_map(|r| local(&r.geometry).lines().collect::<Vec<_>>())
        .collect();
    for wtr in &d.water {
        let rings: Vec<LineString<f64>> = match &wtr.geometry {
            geo_types::Geometry::LineString(l) => vec![l.clone()],
            geo_types::Geometry::MultiPolygon(m) => m
                .0
                .iter()
                .flat_map(|p| std::iter::once(p.exterior().clone()).chain(p.interiors().to_vec()))
                .collect(),
            _ => vec![],
        };
        explained.extend(
            rings
                .iter()
                .flat_map(|l| local(l).lines().collect::<Vec<_>>()),
        );
    }
    for p in &region.boundary.0 {
        for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
            explained.extend(local(ring).lines());
        }
    }
    // Atom edges, and level-1 edges: those between atoms of two level-1
    // grids, or on one atom only (the district's border).
    let atoms: Vec<&wangge::domain::Atom> = d.atoms.iter().filter(|a| a.region == code).collect();
    assert!(atoms.len() > 100, "{} atoms", atoms.len());
    let plan = d.plans.iter().find(|p| p.version.region == code).unwrap();
    let label: std::collections::HashMap<u32, u32> = plan
        .atoms
        .iter()
        .zip(&plan.labels)
        .map(|(a, l)| (*a, l.0[0]))
        .collect();
    let segs = ring_segments(atoms.iter().map(|a| (&a.geometry, label[&a.id])));
    let to_line = |k: &[i64; 4]| {
        geo_types::Line::new(
            proj.forward(Coord {
                x: k[0] as f64 / 1e8,
                y: k[1] as f64 / 1e8,
            }),
            proj.forward(Coord {
                x: k[2] as f64 / 1e8,
                y: k[3] as f64 / 1e8,
            }),
        )
    };
    let atom_edges: Vec<geo_types::Line<f64>> = segs.keys().map(to_line).collect();
    let level1_edges: Vec<geo_types::Line<f64>> = segs
        .iter()
        .filter(|(_, owners)| owners.len() == 1 || owners.iter().any(|o| *o != owners[0]))
        .map(|(k, _)| to_line(k))
        .collect();
    let tol = 1.0;
    let (by_atoms, atoms_run) = along(&tunnels, &atom_edges, &explained, tol);
    let (by_level1, level1_run) = along(&tunnels, &level1_edges, &explained, tol);
    // Crossings: a boundary crossing a tunnel meets it for about 2 × tol.
    // Anything like a boundary along a tunnel would be hundreds of metres.
    println!(
        "{tunnel_m:.0} m of tunnels; unexplained atom edges along them {by_atoms:.1} m (longest {atoms_run:.1} m), level-1 {by_level1:.1} m (longest {level1_run:.1} m)"
    );
    // Measured: 15,936 m of tunnels, 207 m of atom edges (longest 6 m) and
    // 28 m of level-1 edges (longest 6 m) meet them, all crossings; with
    // tunnels as cuts (before issue 24), 12.4 km of atom edges (longest
    // 371 m) and 1.9 km of level-1 edges (longest 177 m) ran along them.
    assert!(
        atoms_run < 10.0,
        "an atom edge runs {atoms_run:.1} m along a tunnel"
    );
    assert!(
        level1_run < 10.0,
        "a level-1 edge runs {level1_run:.1} m along a tunnel"
    );
    assert!(
        by_atoms < 0.02 * tunnel_m,
        "{by_atoms:.1} m of atom edges along {tunnel_m:.0} m of tunnels"
    );
    assert!(
        by_level1 < 0.005 * tunnel_m,
        "{by_level1:.1} m of level-1 edges along {tunnel_m:.0} m of tunnels"
    );
}
