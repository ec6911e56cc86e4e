//! The current plan as real layers (issue 24): GDAL lists
//! `plan_grids_current` and `plan_grids_published` in our GeoPackage as
//! feature layers with every grid of each region's newest (published)
//! version, valid shapes and an extent, copies them to FlatGeobuf; a file
//! without shapes gets them when the server starts, and the layer follows
//! an edit saved over HTTP.

use std::path::Path;

use crate::common::{partitioned_city, wangge, Server};
use crate::ogc::{feature_count, gdal};

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

/// Grids of each region's newest plan version, from the plan tables.
const PLAN_GRIDS: &str =
    "SELECT count(*) AS n FROM plan_grids g JOIN plan_versions v ON v.id = g.version
     WHERE v.number = (SELECT max(number) FROM plan_versions w WHERE w.region = v.region)";

#[test]
fn plan_layers_list_the_current_plan_export_it_and_follow_an_edit() {
    let (dir, store) = partitioned_city(1500, 4);
    let file = store.to_str().unwrap();
    let (list, _) = gdal("ogrinfo", None, &["-ro", "-q", file]);
    for layer in ["plan_grids_current", "plan_grids_published"] {
        assert!(
            list.lines()
                .any(|l| l.contains(&format!(": {layer} (Multi Polygon)"))),
            "{layer} listed as a polygon layer:\n{list}"
        );
    }
    let grids: u64 = sql_value(&store, PLAN_GRIDS).parse().unwrap();
    assert!(grids > 3, "{grids}");
    let (summary, _) = gdal("ogrinfo", None, &["-ro", "-so", file, "plan_grids_current"]);
    assert_eq!(feature_count(&summary), grids, "{summary}");
    assert!(summary.contains("Extent: ("), "{summary}");
    for field in [
        "version",
        "level",
        "code",
        "parent",
        "households",
        "balance",
    ] {
        assert!(
            summary.contains(&format!("{field}: ")),
            "{field}:\n{summary}"
        );
    }
    // Valid shapes, every level present, households summing per level.
    let invalid = sql_value(
        &store,
        "SELECT count(*) AS n FROM plan_grids_current WHERE geom IS NULL OR ST_IsEmpty(geom)",
    );
    assert_eq!(invalid, "0");
    let valid = sql_value(
        &store,
        "SELECT count(*) AS n FROM plan_grids_current WHERE ST_IsValid(geom)",
    );
    assert_eq!(valid, grids.to_string(), "every shape valid (GEOS)");
    let levels = sql_value(
        &store,
        "SELECT count(DISTINCT level) AS n FROM plan_grids_current",
    );
    assert_eq!(levels, "3");
    let per_level = |l: u8| -> u64 {
        sql_value(
            &store,
            &format!("SELECT sum(households) AS n FROM plan_grids_current WHERE level = {l}"),
        )
        .parse()
        .unwrap()
    };
    assert!(per_level(1) > 0);
    assert_eq!(
        per_level(1),
        per_level(3),
        "every household in one grid per level"
    );
    let out = dir.path().join("current.fgb");
    let (_, err) = gdal(
        "ogr2ogr",
        None,
        &[
            "-f",
            "FlatGeobuf",
            out.to_str().unwrap(),
            file,
            "plan_grids_current",
        ],
    );
    assert!(!err.contains("ERROR"), "{err}");
    let (copied, _) = gdal(
        "ogrinfo",
        None,
        &["-ro", "-so", out.to_str().unwrap(), "plan_grids_current"],
    );
    assert_eq!(feature_count(&copied), grids);
    // An edit saved over HTTP: the region's rows are the new version's.
    let region = sql_value(&store, "SELECT min(region) AS r FROM plan_grids_current");
    let id: i64 = sql_value(
        &store,
        &format!("SELECT max(version) AS v FROM plan_grids_current WHERE region = '{region}'"),
    )
    .parse()
    .unwrap();
    let before = sql_value(
        &store,
        &format!("SELECT count(*) AS n FROM plan_grids_current WHERE region = '{region}'"),
    );
    // Shapes stored: a server start draws grid tiles without evaluating.
    {
        let d = wangge::store::open(file).unwrap().load().unwrap();
        let h = d.households.iter().find(|h| h.region.is_some()).unwrap();
        let s = Server::start(&store, &[]);
        let (x, y) = tile_xy(15, h.location.x(), h.location.y());
        let (status, _, body) =
            s.get_bytes(&format!("/tiles/grids/15/{x}/{y}.mvt"), Some(&s.token));
        assert_eq!(status, 200);
        assert!(!body.is_empty(), "the tile holds grids");
        let (_, ready, _) = s.get_json("/health/ready");
        assert_eq!(ready["plans_evaluated"], 0, "{ready}");
    }
    // A file from before shapes were kept: the server fills them in.
    gdal(
        "ogrinfo",
        None,
        &[file, "-sql", "DELETE FROM plan_grids_current"],
    );
    gdal(
        "ogrinfo",
        None,
        &[file, "-sql", "DELETE FROM plan_grid_shapes"],
    );
    assert_eq!(local_count(&store), 0);
    let s = Server::start(&store, &[]);
    let started = std::time::Instant::now();
    while local_count(&store) != grids {
        assert!(
            started.elapsed().as_secs() < 120,
            "shapes filled in at start: {} of {grids}",
            local_count(&store)
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let body = format!(r#"{{"edit":{{"op":"restore","version":{id}}},"message":"layers"}}"#);
    let (status, _, text) = s.post_with(
        &format!("/api/plans/{id}/edits"),
        Some(&s.token),
        &[("If-Match", &format!("\"plan-{id}\""))],
        &body,
        "etag",
    );
    assert_eq!(status, 201, "{text}");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let saved = v["version"]["id"].as_i64().unwrap();
    assert_ne!(saved, id);
    let versions = sql_value(
        &store,
        &format!("SELECT group_concat(DISTINCT version) AS v FROM plan_grids_current WHERE region = '{region}'"),
    );
    assert_eq!(
        versions,
        saved.to_string(),
        "the current layer shows the saved version"
    );
    let after = sql_value(
        &store,
        &format!("SELECT count(*) AS n FROM plan_grids_current WHERE region = '{region}'"),
    );
    assert_eq!(after, before);
    let total: u64 = sql_value(&store, PLAN_GRIDS).parse().unwrap();
    assert_eq!(local_count(&store), total);
}

fn local_count(store: &Path) -> u64 {
    feature_count(
        &gdal(
            "ogrinfo",
            None,
            &["-ro", "-so", store.to_str().unwrap(), "plan_grids_current"],
        )
        .0,
    )
}

/// A URL to a PostGIS schema of its own.
fn fresh_pg_url(tag: &str) -> String {
    let base = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}schema=e2e_{tag}_{}_{nanos}", std::process::id())
}

/// GDAL's `PG:` connection string for a `postgres://user[:pw]@host[:port]/db?schema=s`
/// URL: that schema's tables and views.
fn pg_conn(url: &str) -> String {
    let rest = url.split_once("://").unwrap().1;
    let (main, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (auth, at) = main.rsplit_once('@').unwrap_or(("", main));
    let (hostport, db) = at.split_once('/').unwrap();
    let (host, port) = hostport.split_once(':').unwrap_or((hostport, "5432"));
    let mut s = format!("PG:host={host} port={port} dbname={db}");
    if !auth.is_empty() {
        let (user, pw) = auth.split_once(':').unwrap_or((auth, ""));
        s += &format!(" user={user}");
        if !pw.is_empty() {
            s += &format!(" password={pw}");
        }
    }
    if let Some(schema) = query.split('&').find_map(|kv| kv.strip_prefix("schema=")) {
        s += &format!(" schemas={schema}");
    }
    s
}

/// Features of a layer (a PostGIS view keyed by `fid`) as `ogrinfo` counts them.
fn pg_count(conn: &str, layer: &str) -> u64 {
    let (out, _) = gdal(
        "ogrinfo",
        None,
        &[
            "--config",
            "PGSQL_OGR_FID",
            "fid",
            "-ro",
            "-so",
            conn,
            layer,
        ],
    );
    feature_count(&out)
}

/// PostGIS keeps the same shapes: `wangge copy` carries every version's
/// grid shapes from a GeoPackage into PostGIS and back; GDAL lists the
/// `plan_grids_current` and `plan_grids_published` views with the plan's
/// grid count (a publish from the command line fills the published one);
/// a server started on the database answers grid tiles having evaluated
/// no plan.
#[test]
fn plan_layers_on_postgis_survive_copies_both_ways_and_serve_tiles_unevaluated() {
    let (dir, store) = partitioned_city(1500, 4);
    let grids: u64 = sql_value(&store, PLAN_GRIDS).parse().unwrap();
    let file = store.to_str().unwrap();
    let shapes = |spec: &str| {
        let s = wangge::store::open(spec).unwrap();
        assert!(s.versions_without_shapes().unwrap().is_empty(), "{spec}");
        wangge::store::dump(&*s).unwrap().shapes
    };
    let want = shapes(file);
    assert!(!want.is_empty());
    let url = fresh_pg_url("layers");
    let (ok, out, err) = wangge(&["copy", "--from", file, "--to", &url, "--quiet"]);
    assert!(ok, "{out}{err}");
    assert_eq!(shapes(&url), want, "shapes copied into PostGIS");
    let conn = pg_conn(&url);
    let (list, _) = gdal("ogrinfo", None, &["-ro", "-q", &conn]);
    for layer in ["plan_grids_current", "plan_grids_published"] {
        assert!(list.contains(layer), "{layer} listed:\n{list}");
    }
    assert_eq!(pg_count(&conn, "plan_grids_current"), grids);
    assert_eq!(pg_count(&conn, "plan_grids_published"), 0);
    // Publish one region's newest version: the published view shows it.
    let db = wangge::store::open(&url).unwrap();
    let newest = db.load().unwrap().plans;
    let plan = newest.iter().max_by_key(|p| p.atoms.len()).unwrap();
    let of_plan: u64 = plan.codes.iter().map(|c| c.len() as u64).sum();
    drop(db);
    let (ok, out, err) = wangge(&[
        "plan",
        "--store",
        &url,
        "publish",
        &plan.version.id.to_string(),
    ]);
    assert!(ok, "{out}{err}");
    assert_eq!(pg_count(&conn, "plan_grids_published"), of_plan);
    assert_eq!(pg_count(&conn, "plan_grids_current"), grids);
    let with_published = shapes(&url);
    assert_eq!(with_published.len(), want.len() + 1);
    // And back into a new GeoPackage: its layers hold the same.
    let back = dir.path().join("back.gpkg");
    let b = back.to_str().unwrap();
    let (ok, out, err) = wangge(&["copy", "--from", &url, "--to", b, "--quiet"]);
    assert!(ok, "{out}{err}");
    assert_eq!(shapes(b), with_published, "shapes copied back");
    assert_eq!(local_count(&back), grids);
    let published =
        feature_count(&gdal("ogrinfo", None, &["-ro", "-so", b, "plan_grids_published"]).0);
    assert_eq!(published, of_plan);

    // A server on the database: a grid tile answers, no plan evaluated.
    let token = crate::common::user_with_token_in(&url, "layers-admin", "admin", "*");
    let s = Server::start_with(&["--database", &url], token);
    let d = wangge::store::open(&url).unwrap().load().unwrap();
    let h = d
        .households
        .iter()
        .find(|h| h.region == Some(plan.version.region))
        .unwrap();
    let (x, y) = tile_xy(15, h.location.x(), h.location.y());
    let (status, _, body) = s.get_bytes(&format!("/tiles/grids/15/{x}/{y}.mvt"), Some(&s.token));
    assert_eq!(status, 200);
    assert!(!body.is_empty(), "the tile holds grids");
    let (status, ready, _) = s.get_json("/health/ready");
    assert_eq!(status, 200, "{ready}");
    assert_eq!(ready["plans_evaluated"], 0, "{ready}");
}

/// The tile holding a point at zoom `z`.
fn tile_xy(z: u8, lon: f64, lat: f64) -> (u32, u32) {
    let n = f64::from(1u32 << z);
    let r = lat.to_radians();
    let y = (1.0 - (r.tan() + 1.0 / r.cos()).ln() / std::f64::consts::PI) / 2.0 * n;
    (((lon + 180.0) / 360.0 * n) as u32, y as u32)
}
