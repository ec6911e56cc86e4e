//! Vector tiles over real HTTP, read by real clients: GDAL's MVT driver and
//! Mapbox's JS decoder find the expected layers, features and attributes
//! (and nothing personal); ETags revalidate; a new plan for one community
//! changes the tiles over it at once and leaves the others' ETags alone.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use wangge::store::gpkg::GeoPackage;
use wangge::store::Store;

use crate::common::{partitioned_city, repo_root, user_with_token, Server};

/// GET a tile: (status, ETag, body).
fn fetch(
    server: &Server,
    path: &str,
    token: &str,
    if_none_match: Option<&str>,
) -> (u16, String, Vec<u8>) {
    let headers: Vec<(&str, &str)> = if_none_match
        .map(|e| ("If-None-Match", e))
        .into_iter()
        .collect();
    server.get_with(path, Some(token), &headers, "etag")
}

/// The z/x/y tile holding a lon/lat.
fn tile_of(z: u8, lon: f64, lat: f64) -> (u8, u32, u32) {
    let n = f64::from(1u32 << z);
    let r = lat.to_radians();
    let y = (1.0 - (r.tan() + 1.0 / r.cos()).ln() / std::f64::consts::PI) / 2.0 * n;
    (z, ((lon + 180.0) / 360.0 * n) as u32, y as u32)
}

/// Saves a tile as DIR/z/x/y.mvt (GDAL georeferences by that path).
fn save(dir: &Path, (z, x, y): (u8, u32, u32), body: &[u8]) -> PathBuf {
    let p = dir.join(format!("{z}/{x}/{y}.mvt"));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, body).unwrap();
    p
}

/// `ogrinfo -al` of a tile: layer name → (feature count, field names).
fn ogr_layers(path: &Path) -> std::collections::BTreeMap<String, (usize, BTreeSet<String>)> {
    let out = Command::new("ogrinfo")
        .args(["-ro", "-al", "-q", "-oo", "CLIP=NO"])
        .arg(path)
        .output()
        .expect("ogrinfo (gdal-bin) is installed");
    assert!(
        out.status.success(),
        "ogrinfo: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let mut layers = std::collections::BTreeMap::new();
    let mut current = String::new();
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("Layer name: ") {
            current = name.trim().to_string();
            layers.insert(current.clone(), (0, BTreeSet::new()));
        } else if line.starts_with("OGRFeature(") {
            layers.get_mut(&current).unwrap().0 += 1;
        } else if let Some((field, _)) = line.trim().split_once(" (") {
            // GDAL shows the MVT feature id as the field `mvt_id`.
            if line.starts_with("  ")
                && !field.contains(' ')
                && line.contains(") = ")
                && field != "mvt_id"
            {
                layers
                    .get_mut(&current)
                    .unwrap()
                    .1
                    .insert(field.to_string());
            }
        }
    }
    layers
}

/// Mapbox's decoder on tiles: "z/x/y" → layer → summary.
fn js_decode(paths: &[PathBuf]) -> Value {
    let out = Command::new("node")
        .arg(repo_root().join("tests/reference/mvt_decode.mjs"))
        .args(paths)
        .current_dir(repo_root().join("tests"))
        .output()
        .expect("node runs");
    assert!(
        out.status.success(),
        "mvt_decode: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn tiles_are_read_by_gdal_and_mapbox_and_a_new_plan_changes_only_its_tiles() {
    let (dir, store) = partitioned_city(6000, 5);
    let d = GeoPackage::open(&store).unwrap().load().unwrap();
    let leaves: Vec<_> = d.plans.iter().map(|p| p.version.region).collect();
    assert!(leaves.len() >= 2, "at least two planned communities");
    let planner = user_with_token(&store, "tile-planner", "planner", "*");
    let server = Server::start(&store, &[]);
    let token = server.token.clone();

    // Sources and TileJSON.
    let (status, list, _) = server.get_json("/tiles");
    assert_eq!(status, 200);
    let names: Vec<_> = list["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "regions",
            "grids",
            "atoms",
            "households",
            "people",
            "gaps",
            "basemap"
        ]
    );
    let (status, tj, _) = server.get_json("/tiles/grids");
    assert_eq!(status, 200);
    assert_eq!(tj["tilejson"], "3.0.0");
    assert_eq!(tj["tiles"][0], server.url("/tiles/grids/{z}/{x}/{y}.mvt"));

    // A community's centre, and a community far from it.
    let region = |code| d.regions.iter().find(|r| r.code == code).unwrap();
    let centre = |code| geo::InteriorPoint::interior_point(&region(code).boundary).unwrap();
    let a = leaves[0];
    let pa = centre(a);
    let b = *leaves
        .iter()
        .max_by(|x, y| {
            let dist = |c| {
                let p = centre(c);
                (p.x() - pa.x()).hypot(p.y() - pa.y())
            };
            dist(**x).total_cmp(&dist(**y))
        })
        .unwrap();
    let pb = centre(b);

    // Grids at z14 over community a: GDAL and Mapbox's decoder agree.
    let ta = tile_of(14, pa.x(), pa.y());
    let path = |t: (u8, u32, u32), src: &str| format!("/tiles/{src}/{}/{}/{}.mvt", t.0, t.1, t.2);
    let (status, etag_a, body) = fetch(&server, &path(ta, "grids"), &token, None);
    assert_eq!(status, 200);
    assert!(etag_a.starts_with('"'), "strong ETag {etag_a}");
    let file = save(dir.path(), ta, &body);
    let ogr = ogr_layers(&file);
    let js = js_decode(std::slice::from_ref(&file));
    let js = &js[format!("{}/{}/{}", ta.0, ta.1, ta.2)];
    for layer in ["grid1", "grid2", "grid3", "grid_labels"] {
        let (n, fields) = ogr
            .get(layer)
            .unwrap_or_else(|| panic!("GDAL finds no {layer}: {ogr:?}"));
        assert!(*n > 0, "{layer} empty");
        assert_eq!(
            *n as u64,
            js[layer]["count"].as_u64().unwrap(),
            "{layer}: GDAL and the JS decoder disagree"
        );
        for f in ["code", "households", "balance", "region"] {
            assert!(fields.contains(f), "{layer} lacks {f}: {fields:?}");
        }
    }
    for t in js["grid3"]["types"].as_array().unwrap() {
        assert!(t == "Polygon" || t == "MultiPolygon", "grid3 geometry {t}");
    }
    // Codes of community a's grids begin with its code; their bounds meet the tile's place.
    let code_a = a.to_string();
    let ours: Vec<&Value> = js["grid3"]["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["properties"]["region"] == code_a.as_str())
        .collect();
    assert!(!ours.is_empty());
    for f in &ours {
        assert!(f["properties"]["code"]
            .as_str()
            .unwrap()
            .starts_with(&code_a));
        let bb = f["bbox"].as_array().unwrap();
        assert!(bb[0].as_f64().unwrap() < pa.x() + 0.05 && bb[2].as_f64().unwrap() > pa.x() - 0.05);
    }

    // Households: counts at z12 add up with what GDAL reads; points at z16 carry an id only.
    let (status, _, body) = fetch(
        &server,
        &path(tile_of(16, pa.x(), pa.y()), "households"),
        &token,
        None,
    );
    assert!(status == 200 || status == 204);
    if status == 200 {
        let f = save(dir.path(), tile_of(16, pa.x(), pa.y()), &body);
        let ogr = ogr_layers(&f);
        assert_eq!(ogr["households"].1, BTreeSet::from(["id".to_string()]));
    }
    let t12 = tile_of(12, pa.x(), pa.y());
    let (status, _, body) = fetch(&server, &path(t12, "households"), &token, None);
    assert_eq!(status, 200);
    let f12 = save(&dir.path().join("h"), t12, &body);
    let js12 = js_decode(&[f12]);
    let cells = &js12[format!("{}/{}/{}", t12.0, t12.1, t12.2)]["household_cells"];
    assert_eq!(cells["keys"], serde_json::json!(["count"]));
    assert!(cells["count"].as_u64().unwrap() > 0);
    // People and basemap tiles name no one.
    let (status, _, body) = fetch(&server, &path(ta, "people"), &token, None);
    if status == 200 {
        let f = save(&dir.path().join("p"), ta, &body);
        let fields = &ogr_layers(&f)["people"].1;
        for personal in ["name", "phone", "skills", "team"] {
            assert!(!fields.contains(personal), "{personal} in a people tile");
        }
    }
    let (status, _, body) = fetch(&server, &path(ta, "basemap"), &token, None);
    assert_eq!(status, 200);
    let f = save(&dir.path().join("b"), ta, &body);
    let base = ogr_layers(&f);
    assert!(
        base.contains_key("roads") && base.contains_key("buildings"),
        "{base:?}"
    );

    // Revalidation: the same ETag answers 304 with no body.
    let (status, _, body) = fetch(&server, &path(ta, "grids"), &token, Some(&etag_a));
    assert_eq!((status, body.len()), (304, 0));

    // A tile over community b, cut before the edit.
    let tb = tile_of(15, pb.x(), pb.y());
    assert_ne!(
        tile_of(12, pb.x(), pb.y()),
        t12,
        "the far community lies in another z12 tile"
    );
    let (status, etag_b, _) = fetch(&server, &path(tb, "grids"), &token, None);
    assert_eq!(status, 200);

    // A new plan for community a alone (another seed, one level-1 grid
    // more through a seed point) through the API.
    let body = serde_json::json!({
        "seed": 99,
        "message": "tiles test",
        "seed_points": [[pa.x(), pa.y()]],
    });
    let resp = ureq::post(&server.url(&format!("/api/regions/{a}/plans")))
        .header("Authorization", &format!("Bearer {planner}"))
        .header("Content-Type", "application/json")
        .config()
        .http_status_as_error(false)
        .build()
        .send(body.to_string())
        .unwrap();
    assert_eq!(resp.status().as_u16(), 202);
    let job: Value = serde_json::from_str(&resp.into_body().read_to_string().unwrap()).unwrap();
    let url = job["url"].as_str().unwrap().to_string();
    let started = Instant::now();
    loop {
        let (_, v, _) = server.get_as(&url, Some(&planner));
        match v["status"].as_str() {
            Some("done") => break,
            Some("failed") => panic!("plan job failed: {v}"),
            _ => {}
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "job never ended"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // At once: the tile over a is cut again with the new grids ...
    let (status, etag_a2, body) = fetch(&server, &path(ta, "grids"), &token, Some(&etag_a));
    assert_eq!(
        status, 200,
        "the old ETag over the edited community no longer holds"
    );
    assert_ne!(etag_a2, etag_a);
    let file = save(&dir.path().join("after"), ta, &body);
    let js = js_decode(&[file]);
    let after = &js[format!("{}/{}/{}", ta.0, ta.1, ta.2)]["grid1"]["features"];
    let before_codes: BTreeSet<_> = ours
        .iter()
        .map(|f| f["properties"]["code"].as_str().unwrap().to_string())
        .collect();
    assert!(!after.as_array().unwrap().is_empty() && !before_codes.is_empty());
    // ... and the far community's tile keeps its ETag.
    let (status, _, _) = fetch(&server, &path(tb, "grids"), &token, Some(&etag_b));
    assert_eq!(status, 304, "a tile the edit does not touch keeps its ETag");

    // Bad addresses: what and where.
    let (status, v, _) = server.get_json("/tiles/roads/14/0/0.mvt");
    assert_eq!(status, 404, "{v}");
    assert!(v["detail"]
        .as_str()
        .unwrap()
        .contains("unknown tile source"));
    let (status, v, _) = server.get_json("/tiles/grids/3/9/0.mvt");
    assert_eq!(status, 400, "{v}");
    let (status, _, _) = server.get_json("/tiles/grids/3/1/1");
    assert_eq!(status, 400);

    // Scope: a caller of community b sees none of a's households or grids.
    let other = user_with_token(&store, "tile-office-b", "office", &b.significant());
    let (status, _, body) = fetch(&server, &path(t12, "households"), &other, None);
    if status == 200 {
        let f = save(&dir.path().join("scoped"), t12, &body);
        let js = js_decode(&[f]);
        let total: u64 = js[format!("{}/{}/{}", t12.0, t12.1, t12.2)]["household_cells"]
            ["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["properties"]["count"].as_u64().unwrap())
            .sum();
        let all: u64 = cells["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["properties"]["count"].as_u64().unwrap())
            .sum();
        assert!(total < all, "scoped counts {total} < all {all}");
    }
    let (status, _, body) = fetch(&server, &path(ta, "grids"), &other, None);
    if status == 200 {
        let f = save(&dir.path().join("scoped-grids"), ta, &body);
        let js = js_decode(&[f]);
        let layers = &js[format!("{}/{}/{}", ta.0, ta.1, ta.2)];
        for l in ["grid1", "grid2", "grid3"] {
            if let Some(fs) = layers[l]["features"].as_array() {
                assert!(
                    fs.iter()
                        .all(|f| f["properties"]["region"] != code_a.as_str()),
                    "{l} shows community a to b's office"
                );
            }
        }
    }
    // Without credentials: 401.
    let resp = ureq::get(&server.url(&path(ta, "grids")))
        .config()
        .http_status_as_error(false)
        .build()
        .call()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
}
