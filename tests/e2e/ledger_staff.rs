//! Staff over HTTP (issue 20): a grid worker created, read with their
//! ETag, changed and assigned grids with If-Match by an office in its
//! scope; bad input refused with a code and nothing stored; coverage
//! follows the assignment at once. On a GeoPackage and on PostGIS.

use serde_json::{json, Value};

use super::ledger::{call, fresh_url, last_seq, survives_kill_9};
use crate::common::{generated, user_with_token, user_with_token_in, wangge, Server};

fn coverage(s: &Server, street: &str, token: &str) -> Value {
    let (st, v, _) = s.get_as(&format!("/api/regions/{street}/coverage"), Some(token));
    assert_eq!(st, 200, "{v}");
    v
}

fn unstaffed(v: &Value) -> Vec<(String, String)> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "unstaffed")
        .map(|f| {
            (
                f["grids"][0].as_str().unwrap().to_string(),
                f["region"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn gap_grids(s: &Server, street: &str, token: &str) -> String {
    let (st, g, _) = s.get_as(&format!("/api/regions/{street}/gaps"), Some(token));
    assert_eq!(st, 200, "{g}");
    g.to_string()
}

/// The journey on a running server holding a generated city (street
/// 610902001); `office` is scoped to that street, `other` to another.
fn journey(s: &Server, office: &str, other: &str, planner: &str) {
    let street = "610902001";
    let before = coverage(s, street, office);
    let gaps = unstaffed(&before);
    let (grid, region) = gaps.first().expect("an unstaffed grid planted").clone();
    let (_, all, _) = s.get_json("/api/layers/households?limit=10000");
    let home = all["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["properties"]["region"] == json!(region))
        .map(|f| f["geometry"]["coordinates"].clone())
        .expect("a household in the grid's region");
    let seq0 = last_seq(s);

    // Refused, nothing stored: unknown role, bad location, wrong roles.
    for (body, code) in [
        (
            json!({"location": home, "roles": ["mayor"]}),
            "unknown_role",
        ),
        (
            json!({"location": [200.0, 1.0], "roles": ["full_time_worker"]}),
            "bad_location",
        ),
        (json!({"location": home}), "missing_field"),
    ] {
        let (st, _, _, b) = call(s, "POST", "/api/people", office, None, Some(&body));
        assert_eq!((st, b["code"].as_str()), (422, Some(code)), "{body}: {b}");
    }
    let body = json!({"location": home, "roles": ["full_time_worker"], "name": "网格员甲", "phone": "13900000000"});
    let (st, _, _, b) = call(s, "POST", "/api/people", other, None, Some(&body));
    assert_eq!(st, 403, "out of the writer's scope: {b}");
    let (st, _, _, b) = call(s, "POST", "/api/people", planner, None, Some(&body));
    assert_eq!(st, 403, "a planner writes no staff: {b}");
    assert!(b["code"].is_string(), "{b}");
    assert_eq!(last_seq(s), seq0, "nothing stored");

    // Create, read with an ETag.
    let (st, tag, loc, p) = call(s, "POST", "/api/people", office, None, Some(&body));
    assert_eq!(st, 201, "{p}");
    let id = p["id"].as_i64().unwrap();
    assert_eq!(loc, format!("/api/people/{id}"));
    assert!(tag.starts_with(&format!("\"people-{id}-")), "{tag}");
    let (st, tag2, _, _) = call(s, "GET", &format!("/api/people/{id}"), office, None, None);
    assert_eq!((st, &tag2), (200, &tag));
    let (_, log, _) = s.get_json(&format!("/api/changes?since={seq0}"));
    assert_eq!(log["changes"][0]["layer"], "people");
    assert!(
        !log.to_string().contains("网格员甲"),
        "no personal field in the log"
    );

    // Grids: If-Match required; unknown code 422; then assigned.
    let path = format!("/api/people/{id}/grids");
    let (st, _, _, _) = call(s, "PUT", &path, office, None, Some(&json!([grid])));
    assert_eq!(st, 428);
    let (st, _, _, b) = call(
        s,
        "PUT",
        &path,
        office,
        Some(&tag),
        Some(&json!(["NO-SUCH-GRID"])),
    );
    assert_eq!((st, b["code"].as_str()), (422, Some("unknown_grid")), "{b}");
    let seq1 = last_seq(s);
    let (st, tag3, _, b) = call(s, "PUT", &path, office, Some(&tag), Some(&json!([grid])));
    assert_eq!(st, 200, "{b}");
    assert_ne!(tag3, tag);
    assert_eq!(last_seq(s), seq1 + 1);
    // A stale ETag: 412 with the current record.
    let (st, _, _, b) = call(
        s,
        "PATCH",
        &format!("/api/people/{id}"),
        office,
        Some(&tag),
        Some(&json!({"team": "一队"})),
    );
    assert_eq!(st, 412, "{b}");

    // Coverage follows at once: the finding is gone (more workers when the
    // policy asks for more than one), from /coverage and /gaps.
    let mut after = coverage(s, street, office);
    let mut n = 0;
    while unstaffed(&after).iter().any(|(g, _)| *g == grid) && n < 5 {
        let (st, t, _, p) = call(s, "POST", "/api/people", office, None, Some(&body));
        assert_eq!(st, 201, "{p}");
        let more = format!("/api/people/{}/grids", p["id"]);
        let (st, _, _, b) = call(s, "PUT", &more, office, Some(&t), Some(&json!([grid])));
        assert_eq!(st, 200, "{b}");
        after = coverage(s, street, office);
        n += 1;
    }
    assert!(
        !unstaffed(&after).iter().any(|(g, _)| *g == grid),
        "the unstaffed finding of {grid} is gone"
    );
    assert_eq!(unstaffed(&after).len() + 1, gaps.len(), "only that one");
    assert_ne!(before["region"], after["region"], "the roll-ups change");
    let g = gap_grids(s, street, office);
    assert!(!unstaffed_in_gaps(&g, &grid), "{grid} gone from /gaps");

    // Unassign: the finding is back; delete needs If-Match.
    let (st, _, _, b) = call(
        s,
        "DELETE",
        &format!("/api/people/{id}"),
        office,
        None,
        None,
    );
    assert_eq!(st, 428, "{b}");
    let (st, _, _, b) = call(
        s,
        "DELETE",
        &format!("/api/people/{id}"),
        office,
        Some(&tag3),
        None,
    );
    assert_eq!(st, 204, "{b}");
    let (st, _, _, _) = call(s, "GET", &format!("/api/people/{id}"), office, None, None);
    assert_eq!(st, 404);
}

/// Whether the /gaps document holds an unstaffed feature for `grid`.
fn unstaffed_in_gaps(gaps: &str, grid: &str) -> bool {
    let v: Value = serde_json::from_str(gaps).unwrap();
    v["features"].as_array().unwrap().iter().any(|f| {
        f["properties"]["kind"] == "unstaffed"
            && f["properties"].to_string().contains(&format!("\"{grid}\""))
    })
}

#[test]
fn ledger_an_office_keeps_its_staff_on_a_geopackage() {
    let dir = tempfile::tempdir().unwrap();
    let store = generated(dir.path(), "20000", "4");
    let office = user_with_token(&store, "office1", "office", "610902001");
    let other = user_with_token(&store, "office2", "office", "610902002");
    let planner = user_with_token(&store, "planner1", "planner", "*");
    let s = Server::start(&store, &[]);
    journey(&s, &office, &other, &planner);
}

#[test]
fn ledger_an_office_keeps_its_staff_on_postgis() {
    let dir = tempfile::tempdir().unwrap();
    let a = generated(dir.path(), "20000", "4");
    let a = a.to_str().unwrap();
    let url = fresh_url("staff");
    let (ok, out, err) = wangge(&["copy", "--from", a, "--to", &url, "--quiet"]);
    assert!(ok, "copy: {out}{err}");
    let admin = user_with_token_in(&url, "admin1", "admin", "*");
    let office = user_with_token_in(&url, "office1", "office", "610902001");
    let other = user_with_token_in(&url, "office2", "office", "610902002");
    let planner = user_with_token_in(&url, "planner1", "planner", "*");
    let s = Server::start_with(&["--database", &url], admin);
    journey(&s, &office, &other, &planner);
}

#[test]
fn ledger_acknowledged_person_writes_survive_kill_9_on_a_geopackage() {
    let dir = tempfile::tempdir().unwrap();
    let store = generated(dir.path(), "2000", "3");
    let token = user_with_token(&store, "admin1", "admin", "*");
    let spec = store.to_str().unwrap().to_string();
    survives_kill_9(
        &|| Server::start_with(&["--store", &spec], token.clone()),
        "people",
    );
}

#[test]
fn ledger_acknowledged_person_writes_survive_kill_9_on_postgis() {
    let dir = tempfile::tempdir().unwrap();
    let a = generated(dir.path(), "2000", "3");
    let url = fresh_url("staff_kill");
    let (ok, out, err) = wangge(&[
        "copy",
        "--from",
        a.to_str().unwrap(),
        "--to",
        &url,
        "--quiet",
    ]);
    assert!(ok, "copy: {out}{err}");
    let token = user_with_token_in(&url, "admin1", "admin", "*");
    survives_kill_9(
        &|| Server::start_with(&["--database", &url], token.clone()),
        "people",
    );
}
