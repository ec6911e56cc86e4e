//! Desktop GIS against our files and server, as an analyst would use them
//! (issue 24): GDAL finds the GeoPackage's spatial index on every layer
//! and copies every layer to Shapefile and FlatGeobuf without an error;
//! GDAL reads the OGC API with HTTP Basic (user and API token) and our
//! vector tiles over `/vsicurl`; QGIS itself (Debian's python3-qgis,
//! headless) opens the GeoPackage, the OGC API with Basic auth and the
//! vector tiles, and renders them to `target/gis/qgis.png`.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::common::{repo_root, user_with_token, Server};
use crate::ogc::{city, feature_count, gdal, LAYERS, PLAN_COLLECTIONS};

/// Runs a GDAL tool with HTTP Basic credentials; (success, stdout, stderr).
fn gdal_basic(tool: &str, userpwd: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(tool)
        .args(["--config", "GDAL_HTTP_AUTH", "BASIC"])
        .args(["--config", "GDAL_HTTP_USERPWD", userpwd])
        .args(args)
        .env("GDAL_HTTP_TIMEOUT", "60")
        .output()
        .unwrap_or_else(|e| panic!("{tool} runs ({e}): install gdal-bin (scripts/test does)"));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// GDAL's own count of a layer of a local file.
fn local_count(file: &Path, layer: &str) -> u64 {
    feature_count(
        &gdal(
            "ogrinfo",
            None,
            &["-ro", "-so", file.to_str().unwrap(), layer],
        )
        .0,
    )
}

/// The one value an `ogrinfo -sql` query prints (`name (Type) = value`).
fn sql_value(file: &Path, query: &str) -> String {
    let (out, _) = gdal(
        "ogrinfo",
        None,
        &["-ro", "-q", file.to_str().unwrap(), "-sql", query],
    );
    out.lines()
        .find_map(|l| l.split_once(") = ").map(|(_, v)| v.trim().to_string()))
        .unwrap_or_else(|| panic!("no value for {query}:\n{out}"))
}

#[test]
fn gis_gdal_finds_every_spatial_index_and_exports_every_layer() {
    let dir = tempfile::tempdir().unwrap();
    let store = city(dir.path());
    // One index per geometry column, registered as the standard says.
    let indexed = sql_value(
        &store,
        "SELECT count(*) AS n FROM gpkg_extensions WHERE extension_name = 'gpkg_rtree_index'",
    );
    let columns = sql_value(&store, "SELECT count(*) AS n FROM gpkg_geometry_columns");
    assert_eq!(indexed, columns, "every geometry column has its index");
    for layer in LAYERS {
        let has = sql_value(
            &store,
            &format!("SELECT HasSpatialIndex('{layer}', 'geom') AS has"),
        );
        assert_eq!(has, "1", "{layer}: GDAL finds the spatial index");
        // The index holds every feature.
        let n = local_count(&store, layer);
        let rows = sql_value(
            &store,
            &format!("SELECT count(*) AS n FROM rtree_{layer}_geom"),
        );
        assert_eq!(rows, n.to_string(), "{layer}: index rows");
    }
    // Ids unique per layer: atoms repeat their ids across regions, their fids do not.
    let atoms = local_count(&store, "atoms");
    let distinct = sql_value(&store, "SELECT count(DISTINCT fid) AS n FROM atoms");
    assert_eq!(distinct, atoms.to_string());
    let regions = sql_value(&store, "SELECT count(DISTINCT region) AS n FROM atoms");
    assert!(
        regions.parse::<u64>().unwrap() > 1,
        "atoms of several regions"
    );
    // One geometry type per layer: every layer goes to a Shapefile and
    // to FlatGeobuf with no error, feature for feature.
    // The plan's grids too: every version's, the current and the published.
    let plan_layers = [
        "plan_grid_shapes",
        "plan_grids_current",
        "plan_grids_published",
    ];
    assert!(
        local_count(&store, "plan_grids_current") > 0,
        "the plan's grids are a layer"
    );
    for (driver, ext) in [("ESRI Shapefile", "shp"), ("FlatGeobuf", "fgb")] {
        for layer in LAYERS.iter().chain(&plan_layers) {
            let out = dir.path().join(format!("{layer}.{ext}"));
            let (_, err) = gdal(
                "ogr2ogr",
                None,
                &[
                    "-f",
                    driver,
                    out.to_str().unwrap(),
                    store.to_str().unwrap(),
                    layer,
                ],
            );
            assert!(!err.contains("ERROR"), "{layer} to {driver}:\n{err}");
            assert_eq!(
                local_count(&out, layer),
                local_count(&store, layer),
                "{layer} to {driver}"
            );
        }
    }
}

/// The tile (x, y) holding (lon, lat) at zoom z.
fn tile_of(lon: f64, lat: f64, z: u32) -> (u32, u32) {
    let n = f64::from(1u32 << z);
    let x = ((lon + 180.0) / 360.0 * n).floor() as u32;
    let r = lat.to_radians();
    let y = ((1.0 - (r.tan() + 1.0 / r.cos()).ln() / std::f64::consts::PI) / 2.0 * n).floor();
    (x, y as u32)
}

/// The centre of the households' extent.
fn centre(server: &Server) -> (f64, f64) {
    let (status, v, _) = server.get_json("/ogc/collections/households");
    assert_eq!(status, 200, "{v}");
    let b: Vec<f64> = v["extent"]["spatial"]["bbox"][0]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    ((b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0)
}

/// GET with Basic credentials: (status, WWW-Authenticate, body as JSON).
fn get_basic(server: &Server, path: &str, user: &str, token: &str) -> (u16, String, Value) {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{token}"));
    let (status, www, body) = server.get_with(
        path,
        None,
        &[("Authorization", &format!("Basic {b64}"))],
        "www-authenticate",
    );
    (
        status,
        www,
        serde_json::from_slice(&body).unwrap_or(Value::Null),
    )
}

#[test]
fn gis_gdal_reads_ogc_with_basic_auth_and_tiles_over_vsicurl() {
    let dir = tempfile::tempdir().unwrap();
    let store = city(dir.path());
    let token = user_with_token(&store, "gis-analyst", "admin", "*");
    let server = Server::start(&store, &[]);
    let userpwd = format!("gis-analyst:{token}");
    let url = format!("OAPIF:{}", server.url("/ogc"));

    // Every collection over Basic holds what the GeoPackage holds; the
    // plan collections as many grids as its plan layers (nothing is
    // published in this city).
    for layer in LAYERS.iter().chain(&PLAN_COLLECTIONS) {
        let (ok, out, err) = gdal_basic("ogrinfo", &userpwd, &["-ro", "-so", &url, layer]);
        assert!(ok && !err.contains("ERROR"), "{layer}:\n{out}\n{err}");
        assert_eq!(feature_count(&out), local_count(&store, layer), "{layer}");
    }
    assert!(local_count(&store, "plan_grids_current") > 0);
    let (status, _, v) = get_basic(
        &server,
        "/ogc/collections/plan_grids_current/items?limit=1",
        "gis-analyst",
        &token,
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        v["numberMatched"].as_u64(),
        Some(local_count(&store, "plan_grids_current"))
    );
    // Atom ids are unique in the collection, and each names one atom.
    let (ok, out, err) = gdal_basic(
        "ogrinfo",
        &userpwd,
        &["-ro", "-al", "-oo", "PAGE_SIZE=1000", &url, "atoms"],
    );
    assert!(ok, "{err}");
    let ids: Vec<&str> = out
        .lines()
        .filter_map(|l| l.strip_prefix("OGRFeature(atoms):"))
        .map(str::trim)
        .collect();
    let distinct: BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(ids.len() as u64, local_count(&store, "atoms"));
    assert_eq!(distinct.len(), ids.len(), "atom ids repeat");
    let some = ids[ids.len() / 2];
    let (status, _, f) = get_basic(
        &server,
        &format!("/ogc/collections/atoms/items/{some}"),
        "gis-analyst",
        &token,
    );
    assert_eq!(status, 200, "{f}");
    assert_eq!(f["id"].to_string(), some);
    assert!(f["properties"]["atom"].is_u64(), "{f}");

    // Basic with another user's name, or no credentials: 401 offering Basic.
    let (status, www, v) = get_basic(&server, "/ogc/collections", "someone-else", &token);
    assert_eq!(status, 401, "{v}");
    assert!(www.starts_with("Basic realm="), "{www}");
    let (status, www, _) = server.get_with("/ogc/collections", None, &[], "www-authenticate");
    assert_eq!((status, www.starts_with("Basic")), (401, true), "{www}");

    // Vector tiles over /vsicurl, with the same credentials.
    let (lon, lat) = centre(&server);
    let (x, y) = tile_of(lon, lat, 14);
    for (source, layers) in [
        ("atoms", &["atoms"][..]),
        ("basemap", &["roads", "buildings"][..]),
        ("regions", &["regions"][..]),
    ] {
        let tile = format!(
            "/vsicurl/{}",
            server.url(&format!("/tiles/{source}/14/{x}/{y}.mvt"))
        );
        let (ok, out, err) = gdal_basic("ogrinfo", &userpwd, &["-ro", "-so", "-al", &tile]);
        assert!(ok && !err.contains("ERROR"), "{source}:\n{out}\n{err}");
        for l in layers {
            assert!(
                out.contains(&format!("Layer name: {l}")),
                "{source}: {l}\n{out}"
            );
        }
    }

    // Unknown paths under the API's prefixes: a 404 problem, never the viewer.
    for path in [
        "/tiles/basemap/metadata.json",
        "/tiles/",
        "/ogc/collections/atoms/queryables",
        "/api/nothing-here",
    ] {
        let (status, ctype, body) = server.get_bytes(path, Some(&token));
        let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        assert_eq!(status, 404, "{path}: {v}");
        assert!(
            ctype.starts_with("application/problem+json"),
            "{path}: {ctype}"
        );
        assert_eq!(v["code"], "no_route", "{path}: {v}");
    }
}

/// QGIS itself, when Debian's python3-qgis is installed (scripts/test
/// installs it and then sets WANGGE_REQUIRE_QGIS=1, which turns a missing
/// QGIS into a failure).
#[test]
fn gis_qgis_opens_the_geopackage_the_ogc_api_with_basic_auth_and_the_tiles() {
    let python = "/usr/bin/python3";
    let has_qgis = Command::new(python)
        .args(["-c", "import qgis.core"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_qgis {
        assert!(
            std::env::var_os("WANGGE_REQUIRE_QGIS").is_none(),
            "QGIS is required but `import qgis.core` fails"
        );
        eprintln!("SKIPPED: QGIS is not installed (Debian python3-qgis; scripts/test installs it)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let store = city(dir.path());
    let token = user_with_token(&store, "qgis-analyst", "admin", "*");
    let server = Server::start(&store, &[]);
    // The current plan's grids too: QGIS loads them from both, and draws
    // the OGC API's.
    let counts: serde_json::Map<String, Value> = LAYERS
        .iter()
        .chain(&["plan_grids_current"])
        .map(|l| (l.to_string(), local_count(&store, l).into()))
        .collect();
    let out_dir = repo_root().join("target/gis");
    std::fs::create_dir_all(&out_dir).unwrap();
    let png = out_dir.join("qgis.png");
    let _ = std::fs::remove_file(&png);
    let out = Command::new(python)
        .arg(repo_root().join("tests/gis/qgis_client.py"))
        .args([
            store.to_str().unwrap(),
            &server.url("/ogc"),
            &server.url("/tiles"),
            "qgis-analyst",
            &token,
            png.to_str().unwrap(),
            &Value::Object(counts.clone()).to_string(),
        ])
        .env("QT_QPA_PLATFORM", "offscreen")
        .env("HOME", dir.path())
        .env("XDG_RUNTIME_DIR", dir.path())
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "QGIS script failed:\n{stdout}\n{stderr}"
    );
    let v: Value = serde_json::from_str(stdout.lines().last().unwrap_or(""))
        .unwrap_or_else(|e| panic!("{e}: the script prints JSON last:\n{stdout}\n{stderr}"));
    eprintln!("QGIS read and drew: {v}");
    for layer in counts.keys() {
        assert_eq!(v["gpkg"][layer], counts[layer], "GeoPackage {layer}: {v}");
        assert_eq!(v["ogc"][layer], counts[layer], "OGC API {layer}: {v}");
    }
    // ... and as many as our own API answers.
    let (status, ours, _) = server.get_json("/ogc/collections/plan_grids_current/items?limit=1");
    assert_eq!(status, 200, "{ours}");
    assert!(ours["numberMatched"].as_u64().unwrap() > 0);
    assert_eq!(v["ogc"]["plan_grids_current"], ours["numberMatched"], "{v}");
    for source in ["basemap", "regions", "atoms"] {
        assert_eq!(v["tiles"][source], true, "vector tiles {source}: {v}");
    }
    assert_eq!(v["tiles"]["grids"], true, "vector tiles grids: {v}");
    // QGIS fetched and decoded each source: drawn alone it paints the map,
    // the plan's grids too; refused (no credentials), nothing.
    for source in ["basemap", "regions", "atoms", "grids"] {
        let painted = v["tile_painted"][source].as_u64().unwrap();
        assert!(painted > 500, "QGIS draws tiles {source}: {v}");
    }
    assert_eq!(
        v["tile_painted_anonymous"], 0,
        "refused tiles draw nothing: {v}"
    );
    assert!(v["painted"].as_u64().unwrap() > 1000, "a drawn map: {v}");
    assert!(png.is_file(), "{}", png.display());
}
