//! A household's history over HTTP (issue 20, the viewer's 台账): who
//! wrote it, when and what, newest first, for an office in its scope;
//! personal values and the writer's address never in it; refused to a
//! planner, unknown outside the office's scope; reading it stores nothing.
//! On a GeoPackage and on PostGIS.

use serde_json::json;

use crate::common::Server;
use crate::ledger::{call, last_seq, on_a_geopackage, on_postgis};

fn history_journey(s: &Server, office: &str, other: &str, planner: &str) {
    let (_, page, _) = s.get_json("/api/layers/households?limit=1");
    let at = page["features"][0]["geometry"]["coordinates"].clone();
    // Created, then changed (size, address), by the office.
    let body =
        json!({"location": at, "size": 2, "care": 1, "address": "履历巷9号", "head_name": "李四"});
    let (st, tag, _, h) = call(s, "POST", "/api/households", office, None, Some(&body));
    assert_eq!(st, 201, "{h}");
    let id = h["id"].as_i64().unwrap();
    let change = json!({"size": 5, "address": "履历巷10号"});
    let path = format!("/api/households/{id}");
    let (st, _, _, h) = call(s, "PATCH", &path, office, Some(&tag), Some(&change));
    assert_eq!(st, 200, "{h}");

    let seq = last_seq(s);
    let hist = format!("{path}/history");
    let (st, _, _, b) = call(s, "GET", &hist, office, None, None);
    assert_eq!(st, 200, "{b}");
    let entries = b["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{b}");
    assert_eq!(entries[0]["op"], "update", "newest first: {b}");
    assert_eq!(entries[1]["op"], "create");
    assert_eq!(entries[0]["actor"], "office1");
    assert!(entries[0]["at"].as_str().unwrap().ends_with('Z'), "{b}");
    assert!(entries[0]["change"].as_i64().unwrap() > entries[1]["change"].as_i64().unwrap());
    let detail = entries[0]["detail"].as_str().unwrap();
    assert!(detail.contains("size: 2 → 5"), "{detail}");
    assert!(detail.contains("address: changed"), "{detail}");
    let text = b.to_string();
    for personal in ["履历巷", "李四", "127.0.0.1"] {
        assert!(!text.contains(personal), "{personal} in {text}");
    }
    // Reading stores nothing.
    assert_eq!(last_seq(s), seq, "a history read writes no change");

    // Who may not: a planner (403), an office of another street (404, as
    // for the record itself), a household that does not exist (404).
    let (st, _, _, b) = call(s, "GET", &hist, planner, None, None);
    assert_eq!(st, 403, "{b}");
    assert_eq!(b["code"], "role_forbidden");
    let (st, _, _, b) = call(s, "GET", &hist, other, None, None);
    assert_eq!(st, 404, "{b}");
    let (st, _, _, b) = call(
        s,
        "GET",
        "/api/households/999999999/history",
        office,
        None,
        None,
    );
    assert_eq!(st, 404, "{b}");
    let (st, _, _, b) = call(s, "GET", "/api/households/x/history", office, None, None);
    assert_eq!(st, 400, "{b}");

    // Moved out: the record is gone, so is its history (in scope no more).
    let (_, tag, _, _) = call(s, "GET", &path, office, None, None);
    let (st, _, _, b) = call(s, "DELETE", &path, office, Some(&tag), None);
    assert_eq!(st, 204, "{b}");
    let (st, _, _, _) = call(s, "GET", &hist, office, None, None);
    assert_eq!(st, 404);
}

#[test]
fn a_household_history_on_a_geopackage() {
    on_a_geopackage(history_journey);
}

#[test]
fn a_household_history_on_postgis() {
    on_postgis("ledger_history", history_journey);
}
