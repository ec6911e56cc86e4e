//! Grid plans end to end: `wangge partition` on a generated city (locks,
//! bad input), the plans API over real HTTP (a job with progress, grids as
//! GeoJSON, figures, roles), and real ground: Macau's parishes and
//! Shanghai's 黄浦区 with real roads, river and buildings.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde_json::Value;
use wangge::store::gpkg::GeoPackage;
use wangge::store::Store;

use crate::common::{generated, real_data, user_with_token, wangge, Server};

fn city(dir: &std::path::Path, households: &str) -> std::path::PathBuf {
    generated(dir, households, "5")
}

/// `wangge partition --format json`, parsed.
fn partition(store: &std::path::Path, extra: &[&str]) -> Value {
    let mut args = vec![
        "partition",
        "--store",
        store.to_str().unwrap(),
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    let (ok, out, err) = wangge(&args);
    assert!(ok, "{out}{err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// Every region: no grid in pieces, nesting holds, every grid valid, and
/// the atoms (so the level-3 grids) tile the region.
fn assert_sound(v: &Value) {
    for r in v["regions"].as_array().unwrap() {
        for l in r["levels"].as_array().unwrap() {
            for k in ["split", "nest", "invalid"] {
                assert_eq!(
                    l[k], 0,
                    "region {} level {}: {k} {l}",
                    r["region"], l["level"]
                );
            }
        }
        let (err, area) = (
            r["tiling_error_m2"].as_f64().unwrap(),
            r["area_m2"].as_f64().unwrap(),
        );
        assert!(
            err <= 1e-6 * area,
            "region {}: tiling off by {err} m² of {area}",
            r["region"]
        );
    }
}

fn level_total(v: &Value, level: usize, key: &str) -> f64 {
    v["total"][level][key].as_f64().unwrap()
}

#[test]
fn partition_plans_every_region_and_a_lock_keeps_its_grid_and_codes() {
    let dir = tempfile::tempdir().unwrap();
    let store = city(dir.path(), "12000");
    let first = partition(&store, &[]);
    assert_sound(&first);
    let regions = first["regions"].as_array().unwrap();
    assert!(regions.len() >= 3);
    let d = GeoPackage::open(&store).unwrap().load().unwrap();
    assert_eq!(d.plans.len(), regions.len(), "one plan per planned region");
    let hh: u64 = regions
        .iter()
        .map(|r| r["households"].as_u64().unwrap())
        .sum();
    assert_eq!(
        hh as usize,
        d.households.len(),
        "every household is planned"
    );
    assert!(
        level_total(&first, 2, "in_range") >= 0.95,
        "{}",
        first["total"]
    );

    // Lock one level-1 grid of the biggest region and re-solve with
    // another seed: that grid and its children keep atoms and codes.
    let plan = d
        .plans
        .iter()
        .max_by_key(|p| p.atoms.len())
        .unwrap()
        .clone();
    let region = plan.version.region.to_string();
    let locked = plan.codes[0][0].clone();
    let subtree = |p: &wangge::domain::Plan| -> BTreeMap<String, BTreeSet<u32>> {
        let mut m: BTreeMap<String, BTreeSet<u32>> = BTreeMap::new();
        for (a, lab) in p.atoms.iter().zip(&p.labels) {
            for l in 0..3 {
                let code = &p.codes[l][lab.0[l] as usize];
                if code.0.starts_with(&locked.0) {
                    m.entry(code.0.clone()).or_default().insert(*a);
                }
            }
        }
        m
    };
    let again = partition(
        &store,
        &["--region", &region, "--seed", "9", "--lock", &locked.0],
    );
    assert_sound(&again);
    let d2 = GeoPackage::open(&store).unwrap().load().unwrap();
    let plan2 = d2
        .plans
        .iter()
        .find(|p| p.version.region == plan.version.region)
        .unwrap();
    assert_eq!(plan2.version.number, 2);
    assert_eq!(plan2.version.parent, Some(plan.version.id));
    assert_eq!(subtree(&plan), subtree(plan2), "the locked grid changed");

    // Bad input says what is wrong and stores nothing.
    let s = store.to_str().unwrap();
    let (ok, _, err) = wangge(&["partition", "--store", s, "--region", "999999"]);
    assert!(!ok && err.contains("no region"), "{err}");
    let (ok, _, err) = wangge(&["partition", "--store", s, "--lock", "61090200100199999"]);
    assert!(!ok && err.contains("--lock"), "{err}");
    let (ok, _, err) = wangge(&["partition", "--store", s, "--format", "xml"]);
    assert!(!ok && err.contains("--format"), "{err}");
    let d3 = GeoPackage::open(&store).unwrap().load().unwrap();
    assert_eq!(
        d3.plans.iter().map(|p| p.version.id).collect::<Vec<_>>(),
        d2.plans.iter().map(|p| p.version.id).collect::<Vec<_>>()
    );
}

fn post(server: &Server, path: &str, token: &str, body: &str) -> (u16, Value) {
    let (status, _, text) = server.post_with(path, Some(token), &[], body, "content-type");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[test]
fn plans_api_runs_a_job_and_serves_grids_and_figures_without_personal_fields() {
    let dir = tempfile::tempdir().unwrap();
    let store = city(dir.path(), "6000");
    let d = GeoPackage::open(&store).unwrap().load().unwrap();
    // The parent of communities (regions without children).
    let parents = wangge::domain::region::parents(&d.regions);
    let has_children: BTreeSet<_> = parents.values().copied().collect();
    let street = *parents
        .iter()
        .find(|(c, _)| !has_children.contains(*c))
        .expect("a community")
        .1;
    let street_s = street.to_string();
    let leaves: Vec<_> = parents
        .iter()
        .filter(|(_, p)| **p == street)
        .map(|(c, _)| *c)
        .collect();
    let planner = user_with_token(&store, "pl", "planner", &street.significant());
    let office = user_with_token(&store, "of", "office", &street.significant());
    let server = Server::start(&store, &[]);

    let (status, job) = post(
        &server,
        &format!("/api/regions/{street_s}/plans"),
        &planner,
        r#"{"seed": 3, "message": "第一版"}"#,
    );
    assert_eq!(status, 202, "{job}");
    assert_eq!(job["total"].as_u64().unwrap() as usize, leaves.len());
    let url = job["url"].as_str().unwrap().to_string();
    let started = Instant::now();
    let done = loop {
        let (status, v, _) = server.get_as(&url, Some(&planner));
        assert_eq!(status, 200, "{v}");
        assert!(v["done"].as_u64().unwrap() <= v["total"].as_u64().unwrap());
        if v["status"] != "running" {
            break v;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "job did not finish: {v}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(done["status"], "done", "{done}");
    let plans = done["plans"].as_array().unwrap();
    assert_eq!(plans.len(), leaves.len());
    assert_eq!(done["done"], done["total"]);

    // One plan read every way.
    let id = plans[0]["id"].as_i64().unwrap();
    let (status, p, _) = server.get_as(&format!("/api/plans/{id}"), Some(&office));
    assert_eq!(status, 200, "{p}");
    assert_eq!(p["version"]["message"], "第一版");
    assert_eq!(p["version"]["author"], "pl");
    let levels = p["levels"].as_array().unwrap();
    assert_eq!(levels.len(), 3);
    for l in levels {
        assert_eq!(l["split"], 0, "{l}");
    }
    let region_hh = p["households"].as_u64().unwrap();
    let (status, g, ctype) =
        server.get_as(&format!("/api/plans/{id}/grids?level=3"), Some(&office));
    assert_eq!(status, 200);
    assert!(ctype.starts_with("application/geo+json"), "{ctype}");
    let feats = g["features"].as_array().unwrap();
    assert_eq!(feats.len() as u64, levels[2]["grids"].as_u64().unwrap());
    let sum: u64 = feats
        .iter()
        .map(|f| f["properties"]["metrics"]["households"].as_u64().unwrap())
        .sum();
    assert_eq!(sum, region_hh, "level-3 grids hold every household once");
    for f in feats {
        let props = f["properties"].to_string();
        for personal in ["head_name", "phone", "address", "\"name\""] {
            assert!(
                !props.contains(personal),
                "{personal} in a plan grid: {props}"
            );
        }
        assert!(f["geometry"]["type"] == "MultiPolygon" || f["geometry"]["type"] == "Polygon");
        let code = f["id"].as_str().unwrap();
        assert!(code.starts_with(&f["properties"]["parent"].as_str().unwrap()[..15]));
    }
    let (_, all, _) = server.get_as(&format!("/api/plans/{id}/grids"), Some(&office));
    let total_grids: u64 = levels.iter().map(|l| l["grids"].as_u64().unwrap()).sum();
    assert_eq!(
        all["features"].as_array().unwrap().len() as u64,
        total_grids
    );
    let (status, _, csv) = server.get_bytes(
        &format!("/api/plans/{id}/metrics?format=csv"),
        Some(&office),
    );
    assert_eq!(status, 200);
    assert!(
        csv.starts_with("\u{feff}".as_bytes()),
        "CSV with BOM for Excel"
    );
    let csv = String::from_utf8(csv).unwrap();
    assert_eq!(csv.lines().count() as u64, total_grids + 1);
    let (_, versions, _) = server.get_as(&format!("/api/regions/{street_s}/plans"), Some(&office));
    assert_eq!(versions["versions"].as_array().unwrap().len(), leaves.len());

    // Roles, scope and bad input.
    let (status, _) = post(
        &server,
        &format!("/api/regions/{street_s}/plans"),
        &office,
        "{}",
    );
    assert_eq!(status, 403, "office staff read plans but do not make them");
    let other = d
        .regions
        .iter()
        .find(|r| !r.code.to_string().starts_with(&street.significant()))
        .unwrap();
    let (status, _) = post(
        &server,
        &format!("/api/regions/{}/plans", other.code),
        &planner,
        "{}",
    );
    assert_eq!(status, 404, "out of scope looks absent");
    let (status, v, _) = server.get_as(&format!("/api/plans/{id}/grids?level=4"), Some(&office));
    assert_eq!(status, 400, "{v}");
    let (status, _, _) = server.get_as("/api/plans/99999", Some(&office));
    assert_eq!(status, 404);
    let (status, v) = post(
        &server,
        &format!("/api/regions/{street_s}/plans"),
        &planner,
        r#"{"locks": ["nope"]}"#,
    );
    assert_eq!(status, 400, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("nope"), "{v}");
    let (status, v) = post(
        &server,
        &format!("/api/regions/{street_s}/plans"),
        &planner,
        r#"{"seeds": 3}"#,
    );
    assert!(status == 400 || status == 422, "{status} {v}");
    assert_eq!(
        v["status"].as_u64().unwrap(),
        u64::from(status),
        "a problem document"
    );
    // The server is still serving.
    assert_eq!(server.get_json("/health").0, 200);
}

#[test]
fn real_macau_parishes_get_sound_plans_on_lattice_atoms() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("macau.gpkg");
    let data = real_data("macau_census_2021_population.json")
        .parent()
        .unwrap()
        .to_path_buf();
    let (ok, out, err) = wangge(&[
        "estimate",
        "macau",
        "--data",
        data.to_str().unwrap(),
        "--out",
        store.to_str().unwrap(),
    ]);
    assert!(ok, "{out}{err}");
    let v = partition(&store, &[]);
    assert_sound(&v);
    assert_eq!(v["regions"].as_array().unwrap().len(), 8);
    // In range but for the reclaimed land with nobody on it (one grid of
    // no households at each level).
    for l in 0..3 {
        assert!(level_total(&v, l, "in_range") >= 0.99, "{}", v["total"]);
    }
}

#[test]
fn real_shanghai_huangpu_follows_its_roads_and_river() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("sh.gpkg");
    let s = store.to_str().unwrap();
    let bund = real_data("shanghai_bund_osm.geojson");
    let (ok, out, err) = wangge(&[
        "import",
        "all",
        bund.to_str().unwrap(),
        "--store",
        s,
        "--crs",
        "wgs84",
    ]);
    assert!(ok, "{out}{err}");
    // The district, converted from GCJ-02 and cut to the extract's bounds.
    let d = GeoPackage::open(&store).unwrap().load().unwrap();
    let (mut w, mut so, mut e, mut n) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for r in &d.roads {
        for c in &r.geometry.0 {
            (w, so, e, n) = (w.min(c.x), so.min(c.y), e.max(c.x), n.max(c.y));
        }
    }
    let clip = format!("{w},{so},{e},{n}");
    let districts = real_data("shanghai_districts_gcj02.geojson");
    let (ok, out, err) = wangge(&[
        "import",
        "regions",
        districts.to_str().unwrap(),
        "--store",
        s,
        "--crs",
        "gcj02",
        "--clip",
        &clip,
    ]);
    assert!(ok, "{out}{err}");
    let (ok, out, err) = wangge(&["estimate", "buildings", "--store", s]);
    assert!(ok, "{out}{err}");
    let v = partition(&store, &["--region", "310101"]);
    assert_sound(&v);
    let r = &v["regions"][0];
    assert_eq!(r["region"], "310101000000");
    assert!(r["households"].as_u64().unwrap() > 10_000, "{r}");
    for l in 0..3 {
        assert!(level_total(&v, l, "in_range") >= 0.99, "{}", v["total"]);
    }
    // Level-1 boundaries run along roads and the river most of the way.
    assert!(level_total(&v, 0, "road_share") >= 0.6, "{}", v["total"]);
}
