//! The current plan as real layers (issue 24): GDAL lists
//! `plan_grids_current` and `plan_grids_published` in our GeoPackage as
//! feature layers with every grid of each region's newest (published)
//! version, valid shapes and an extent, copies them to FlatGeobuf; a file
//! without shapes gets them when the server starts, and the layer follows
//! an edit saved over HTTP.

use std::path::Path;

use crate::common::{partitioned_city, Server};
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
