//! Buildings and roads over HTTP (issue 20: "planner writes ground"): a
//! planner creates, reads with its ETag, changes and deletes a building
//! and a road in their scope; every bad input (bad geometry, swapped or
//! far-off coordinates, an unknown CRS, another scope, a role that writes
//! no ground, no or a stale If-Match) gets a 4xx problem with a stable
//! code and stores nothing; the tile over the building gets a new ETag
//! while a far tile keeps its own; the OGC collection shows the building.
//! On a GeoPackage and on PostGIS.

use serde_json::{json, Value};

use super::ledger::{call, fresh_url, last_seq};
use crate::common::{generated, user_with_token, user_with_token_in, wangge, Server};

/// Features of a layer the server holds.
fn count(s: &Server, layer: &str) -> u64 {
    let (st, v, _) = s.get_json(&format!("/api/layers/{layer}?limit=1"));
    assert_eq!(st, 200, "{v}");
    v["numberMatched"].as_u64().unwrap()
}

/// A square footprint `d` degrees wide with its south-west corner at `at`.
fn square(at: (f64, f64), d: f64) -> Value {
    let (x, y) = at;
    json!({"type": "Polygon", "coordinates": [[[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]]})
}

/// The basemap tile of zoom 16 holding a lon/lat: (status, ETag).
fn tile(s: &Server, at: (f64, f64)) -> (u16, String) {
    let z = 16u8;
    let n = f64::from(1u32 << z);
    let r = at.1.to_radians();
    let y = (1.0 - (r.tan() + 1.0 / r.cos()).ln() / std::f64::consts::PI) / 2.0 * n;
    let x = (at.0 + 180.0) / 360.0 * n;
    let path = format!("/tiles/basemap/{z}/{}/{}.mvt", x as u32, y as u32);
    let (st, etag, _) = s.get_with(&path, Some(&s.token), &[], "etag");
    (st, etag)
}

/// Stored counts and the change log, unchanged by a refusal.
fn unchanged(s: &Server, before: (u64, u64, i64), what: &str) {
    assert_eq!(
        (count(s, "buildings"), count(s, "roads"), last_seq(s)),
        before,
        "{what}: nothing stored"
    );
}

/// Each bad building or road is refused with its code and stores nothing.
fn refusals(s: &Server, planner: &str, other: &str, office: &str, at: (f64, f64)) {
    let before = (count(s, "buildings"), count(s, "roads"), last_seq(s));
    let (x, y) = at;
    let open = json!({"type": "Polygon", "coordinates": [[[x, y], [x + 0.0002, y], [x + 0.0002, y + 0.0002], [x, y + 0.0002]]]});
    let bowtie = json!({"type": "Polygon", "coordinates": [[[x, y], [x + 0.0002, y + 0.0002], [x + 0.0002, y], [x, y + 0.0002], [x, y]]]});
    let swapped = json!({"type": "Polygon", "coordinates": [[[y, x], [y + 0.0002, x], [y + 0.0002, x + 0.0002], [y, x]]]});
    for (body, code, at) in [
        (
            json!({"geometry": open}),
            "unclosed_ring",
            json!({"polygon": 0, "ring": 0}),
        ),
        (
            json!({"geometry": bowtie}),
            "self_intersection",
            json!({"polygon": 0, "ring": 0}),
        ),
        (
            json!({"geometry": swapped}),
            "swapped_coordinates",
            json!({"polygon": 0, "ring": 0, "vertex": 0}),
        ),
        (
            json!({"geometry": square((2.35, 48.85), 0.0002)}),
            "outside_regions",
            Value::Null,
        ),
        (
            json!({"geometry": square(at, 0.0002), "crs": "mars"}),
            "unknown_crs",
            json!({}),
        ),
        (
            json!({"geometry": square((500_000.0, 3_400_000.0), 10.0)}),
            "projected_coordinates",
            json!({"polygon": 0, "ring": 0, "vertex": 0}),
        ),
        (
            json!({"geometry": {"type": "Point", "coordinates": [x, y]}}),
            "wrong_geometry_type",
            json!({}),
        ),
        (
            json!({"geometry": square(at, 0.0002), "levels": 0}),
            "levels_out_of_range",
            Value::Null,
        ),
        (json!({"levels": 3}), "missing_field", Value::Null),
    ] {
        let (st, _, _, b) = call(s, "POST", "/api/buildings", planner, None, Some(&body));
        assert_eq!((st, b["code"].as_str()), (422, Some(code)), "{body}: {b}");
        if !at.is_null() {
            assert_eq!(b["where"], at, "{b}");
        }
        assert!(b["detail"].is_string(), "{b}");
    }
    let line = json!({"type": "LineString", "coordinates": [[x, y], [x + 0.001, y + 0.001]]});
    for (body, code) in [
        (json!({"geometry": line, "class": "canal"}), "unknown_class"),
        (
            json!({"geometry": {"type": "LineString", "coordinates": [[x, y]]}, "class": "residential"}),
            "short_line",
        ),
        (json!({"geometry": line}), "missing_field"),
    ] {
        let (st, _, _, b) = call(s, "POST", "/api/roads", planner, None, Some(&body));
        assert_eq!((st, b["code"].as_str()), (422, Some(code)), "{body}: {b}");
    }
    let good = json!({"geometry": square(at, 0.0002), "levels": 6});
    let (st, _, _, b) = call(s, "POST", "/api/buildings", other, None, Some(&good));
    assert_eq!((st, b["code"].as_str()), (403, Some("out_of_scope")), "{b}");
    let (st, _, _, b) = call(s, "POST", "/api/buildings", office, None, Some(&good));
    assert_eq!(st, 403, "an office writes no ground: {b}");
    unchanged(s, before, "refusals");
}

/// The journey on a running server holding a generated city; `planner`
/// is scoped to the community holding `at`, `other` to another one.
fn journey(s: &Server, planner: &str, other: &str, office: &str, at: (f64, f64), far: (f64, f64)) {
    refusals(s, planner, other, office, at);
    let (b0, r0, seq0) = (count(s, "buildings"), count(s, "roads"), last_seq(s));
    let (st, far_tag) = tile(s, far);
    assert_eq!(st, 200, "a far tile with content");
    let (_, near_tag) = tile(s, at);
    assert_ne!(near_tag, far_tag, "two tiles");

    // A building: created, read with its ETag, shown by the layers and OGC.
    let body = json!({"geometry": square(at, 0.0002), "levels": 6, "height_m": 18.5, "kind": "residential"});
    let (st, tag, loc, b) = call(s, "POST", "/api/buildings", planner, None, Some(&body));
    assert_eq!(st, 201, "{b}");
    let id = b["id"].as_i64().unwrap();
    assert_eq!(loc, format!("/api/buildings/{id}"));
    assert!(tag.starts_with(&format!("\"buildings-{id}-")), "{tag}");
    assert_eq!(b["properties"]["levels"], 6, "{b}");
    let (st, tag2, _, _) = call(s, "GET", &loc, planner, None, None);
    assert_eq!((st, &tag2), (200, &tag));
    assert_eq!(count(s, "buildings"), b0 + 1);
    let (st, v, _) = s.get_json(&format!("/ogc/collections/buildings/items/{id}"));
    assert_eq!(st, 200, "the OGC collection shows it: {v}");
    let (_, log, _) = s.get_json(&format!("/api/changes?since={seq0}"));
    assert_eq!(log["changes"][0]["layer"], "buildings", "{log}");
    assert_eq!(log["changes"][0]["op"], "create", "{log}");
    assert!(log["changes"][0]["region"].is_string(), "{log}");

    // Tiles: the one over the building changes, a far one keeps its ETag.
    let (st, near_after) = tile(s, at);
    assert_eq!(st, 200);
    assert_ne!(
        near_after, near_tag,
        "the tile over the new building is cut again"
    );
    assert_eq!(tile(s, far).1, far_tag, "a far tile keeps its ETag");

    // Update: If-Match required, stale refused with the current record.
    let (st, _, _, b) = call(s, "PATCH", &loc, planner, None, Some(&json!({"levels": 7})));
    assert_eq!(
        (st, b["code"].as_str()),
        (428, Some("precondition_required")),
        "{b}"
    );
    let (st, tag3, _, b) = call(
        s,
        "PATCH",
        &loc,
        planner,
        Some(&tag),
        Some(&json!({"levels": 7})),
    );
    assert_eq!(st, 200, "{b}");
    assert_eq!(b["properties"]["levels"], 7);
    let (st, _, _, b) = call(
        s,
        "PATCH",
        &loc,
        planner,
        Some(&tag),
        Some(&json!({"levels": 9})),
    );
    assert_eq!((st, b["code"].as_str()), (412, Some("stale")), "{b}");
    assert_eq!(b["current"]["properties"]["levels"], 7, "{b}");
    let seq1 = last_seq(s);
    // Bad geometry on update, or moving it out of scope: nothing stored.
    let (x, y) = at;
    let bowtie = json!({"type": "Polygon", "coordinates": [[[x, y], [x + 0.0002, y + 0.0002], [x + 0.0002, y], [x, y + 0.0002], [x, y]]]});
    let (st, _, _, b) = call(
        s,
        "PATCH",
        &loc,
        planner,
        Some(&tag3),
        Some(&json!({"geometry": bowtie})),
    );
    assert_eq!(
        (st, b["code"].as_str()),
        (422, Some("self_intersection")),
        "{b}"
    );
    let (st, _, _, b) = call(
        s,
        "PATCH",
        &loc,
        other,
        Some(&tag3),
        Some(&json!({"levels": 2})),
    );
    assert_eq!(st, 403, "another community's planner: {b}");
    assert_eq!(last_seq(s), seq1);

    // A road through the same place; then both deleted.
    // (Across the building's square, which lies in the planner's scope.)
    let line =
        json!({"type": "LineString", "coordinates": [[x, y + 0.0001], [x + 0.0002, y + 0.0001]]});
    let (st, rtag, rloc, r) = call(
        s,
        "POST",
        "/api/roads",
        planner,
        None,
        Some(&json!({"geometry": line, "class": "residential", "name": "新建路"})),
    );
    assert_eq!(st, 201, "{r}");
    assert_eq!(count(s, "roads"), r0 + 1);
    let (st, rtag2, _, r) = call(
        s,
        "PATCH",
        &rloc,
        planner,
        Some(&rtag),
        Some(&json!({"class": "service", "grade": "bridge"})),
    );
    assert_eq!(st, 200, "{r}");
    assert_eq!(r["properties"]["class"], "service", "{r}");
    let (st, _, _, _) = call(s, "DELETE", &rloc, planner, None, None);
    assert_eq!(st, 428);
    let (st, _, _, _) = call(s, "DELETE", &rloc, planner, Some(&rtag2), None);
    assert_eq!(st, 204);
    let (st, _, _, _) = call(s, "DELETE", &loc, planner, Some(&tag3), None);
    assert_eq!(st, 204);
    assert_eq!((count(s, "buildings"), count(s, "roads")), (b0, r0));
    let (st, _, _, _) = call(s, "GET", &loc, planner, None, None);
    assert_eq!(st, 404);
    let (_, log, _) = s.get_json(&format!("/api/changes?since={seq0}"));
    let ops: Vec<(String, String)> = log["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["layer"].as_str().unwrap().into(),
                c["op"].as_str().unwrap().into(),
            )
        })
        .collect();
    let want = [
        ("buildings", "create"),
        ("buildings", "update"),
        ("roads", "create"),
        ("roads", "update"),
        ("roads", "delete"),
        ("buildings", "delete"),
    ]
    .map(|(l, o)| (l.to_string(), o.to_string()));
    assert_eq!(ops, want);
    let (_, audit, _) = s.get_json("/api/audit?limit=1000");
    assert!(audit.to_string().contains("levels: 6 → 7"), "{audit}");
}

/// A household's place in the store's first community, the place of the
/// household farthest from it (another tile), that community and another.
fn places(store: &str) -> ((f64, f64), (f64, f64), String, String) {
    let s = wangge::store::open(store).unwrap();
    let d = s.load().unwrap();
    let p = |h: &wangge::domain::Household| (h.location.x(), h.location.y());
    let first = d.households.iter().min_by_key(|h| h.id).unwrap();
    let home = first.region.unwrap();
    let gap = |h: &wangge::domain::Household| (p(h).0 - p(first).0).hypot(p(h).1 - p(first).1);
    let far = d
        .households
        .iter()
        .max_by(|a, b| gap(a).total_cmp(&gap(b)))
        .unwrap();
    let other = d
        .regions
        .iter()
        .map(|r| r.code)
        .find(|c| *c != home && c.to_string().len() == 12 && !c.to_string().ends_with("000"))
        .unwrap();
    (p(first), p(far), home.to_string(), other.to_string())
}

#[test]
fn ground_a_planner_keeps_buildings_and_roads_on_a_geopackage() {
    let dir = tempfile::tempdir().unwrap();
    let store = generated(dir.path(), "3000", "7");
    let (at, far, community, other) = places(store.to_str().unwrap());
    let planner = user_with_token(&store, "planner1", "planner", &community);
    let other = user_with_token(&store, "planner2", "planner", &other);
    let office = user_with_token(&store, "office1", "office", &community);
    let s = Server::start(&store, &[]);
    journey(&s, &planner, &other, &office, at, far);
}

#[test]
fn ground_a_planner_keeps_buildings_and_roads_on_postgis() {
    let dir = tempfile::tempdir().unwrap();
    let a = generated(dir.path(), "3000", "7");
    let a = a.to_str().unwrap();
    let (at, far, community, other) = places(a);
    let url = fresh_url("ground");
    let (ok, out, err) = wangge(&["copy", "--from", a, "--to", &url, "--quiet"]);
    assert!(ok, "copy: {out}{err}");
    let admin = user_with_token_in(&url, "admin1", "admin", "*");
    let planner = user_with_token_in(&url, "planner1", "planner", &community);
    let other = user_with_token_in(&url, "planner2", "planner", &other);
    let office = user_with_token_in(&url, "office1", "office", &community);
    let s = Server::start_with(&["--database", &url], admin);
    journey(&s, &planner, &other, &office, at, far);
}
