//! Volunteers over HTTP (issue 20): the emergency team reads its roster,
//! sets a volunteer off duty (nearest drops them at once), checks them in
//! elsewhere (nearest finds them there), and confirms a dispatch plan
//! (all its volunteers dispatched in one transaction; the next plan does
//! not send them again). Bad input refused with a code, nothing stored.
//! On a GeoPackage and on PostGIS.

use serde_json::{json, Value};

use super::ledger::{call, fresh_url, last_seq};
use crate::common::{generated, user_with_token, user_with_token_in, wangge, Server};

/// The id of the nearest volunteer to `at` (straight line), if any.
fn nearest(s: &Server, token: &str, at: &Value) -> Option<i64> {
    let (st, v, _) = s.get_as(
        &format!(
            "/api/emergency/nearest?lon={}&lat={}&k=1&by=line",
            at[0], at[1]
        ),
        Some(token),
    );
    assert_eq!(st, 200, "{v}");
    v["volunteers"][0]["id"].as_i64()
}

/// Household locations of a region prefix.
fn homes_in(s: &Server, prefix: &str) -> Vec<Value> {
    let (_, all, _) = s.get_json("/api/layers/households?limit=10000");
    all["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            f["properties"]["region"]
                .as_str()
                .is_some_and(|r| r.starts_with(prefix))
        })
        .map(|f| f["geometry"]["coordinates"].clone())
        .collect()
}

fn distance_deg(a: &Value, b: &Value) -> f64 {
    let d = |i: usize| a[i].as_f64().unwrap() - b[i].as_f64().unwrap();
    d(0).hypot(d(1))
}

fn roster(s: &Server, token: &str, query: &str) -> Value {
    let (st, v, _) = s.get_as(&format!("/api/volunteers{query}"), Some(token));
    assert_eq!(st, 200, "{v}");
    v
}

/// The whole journey; `em` is an emergency user of street 610902001,
/// `other` one of 610902002.
fn journey(s: &Server, em: &str, other: &str, planner: &str, viewer: &str) {
    let street = "610902001";
    let all = roster(s, em, "");
    let list = all["volunteers"].as_array().unwrap();
    assert!(!list.is_empty(), "{all}");
    assert!(
        list.iter()
            .all(|v| v["region"].as_str().unwrap().starts_with(street)),
        "the roster is the caller's scope"
    );
    assert!(list[0]["name"].is_string(), "emergency sees names");
    let on = roster(s, em, "?status=on_duty");
    let v = on["volunteers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["reserve"] == json!(true))
        .expect("an on-duty reserve volunteer")
        .clone();
    assert!(on["volunteers"]
        .as_array()
        .unwrap()
        .iter()
        .all(|v| v["status"] == "on_duty"));
    let id = v["id"].as_i64().unwrap();
    let home = v["location"].clone();
    assert_eq!(nearest(s, em, &home), Some(id), "found at home");
    let team = v["team"].as_str().unwrap_or_default().to_string();
    if !team.is_empty() {
        let t = roster(s, em, &format!("?team={}", urlencode(&team)));
        assert!(t["volunteers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["team"] == json!(team)));
    }
    let path = format!("/api/volunteers/{id}");
    let (st, tag, _, got) = call(s, "GET", &path, em, None, None);
    assert_eq!(st, 200, "{got}");
    assert!(tag.starts_with(&format!("\"people-{id}-")), "{tag}");
    assert_eq!(got["status"], "on_duty");

    // Refused, nothing stored.
    let seq0 = last_seq(s);
    // Another street's volunteer's home (the admin sees all).
    let (_, everyone, _) = s.get_json("/api/volunteers");
    let far_home = everyone["volunteers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| !v["region"].as_str().unwrap().starts_with(street))
        .map(|v| v["location"].clone())
        .expect("a volunteer in another street");
    let (st, _, _, b) = s_roster_status(s, em, "asleep");
    assert_eq!(
        (st, b["code"].as_str()),
        (422, Some("unknown_status")),
        "{b}"
    );
    let off = json!({"status": "off_duty"});
    let (st, _, _, b) = call(s, "PATCH", &path, em, None, Some(&off));
    assert_eq!(
        (st, b["code"].as_str()),
        (428, Some("precondition_required")),
        "{b}"
    );
    for (body, status, code) in [
        (json!({"status": "asleep"}), 422, "unknown_status"),
        (json!({"checkin": [200.0, 1.0]}), 422, "bad_location"),
        (json!({"checkin": [109.0]}), 422, "bad_location"),
        (json!({"skills": [""]}), 422, "bad_skill"),
        (json!({"checkin": far_home}), 403, "out_of_scope"),
    ] {
        let (st, _, _, b) = call(s, "PATCH", &path, em, Some(&tag), Some(&body));
        assert_eq!(
            (st, b["code"].as_str()),
            (status, Some(code)),
            "{body}: {b}"
        );
    }
    for (who, token) in [("planner", planner), ("viewer", viewer)] {
        let (st, _, _, b) = call(s, "PATCH", &path, token, Some(&tag), Some(&off));
        assert_eq!(st, 403, "{who}: {b}");
        let (st, _, _, b) = call(s, "GET", "/api/volunteers", token, None, None);
        assert_eq!(st, 403, "{who}: {b}");
    }
    let (st, _, _, b) = call(s, "PATCH", &path, other, Some(&tag), Some(&off));
    assert_eq!(st, 404, "another street's volunteer is not found: {b}");
    assert_eq!(last_seq(s), seq0, "nothing stored");

    // Off duty: nearest drops them at once; the roster shows it.
    let (st, tag2, _, b) = call(s, "PATCH", &path, em, Some(&tag), Some(&off));
    assert_eq!(st, 200, "{b}");
    assert_eq!(b["status"], "off_duty");
    assert_ne!(tag2, tag);
    assert_eq!(last_seq(s), seq0 + 1);
    assert_ne!(nearest(s, em, &home), Some(id), "off duty is not found");
    let offs = roster(s, em, "?status=off_duty");
    assert!(offs["volunteers"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["id"] == json!(id)));
    // A stale ETag: 412 with the current record, nothing stored.
    let (st, _, _, b) = call(
        s,
        "PATCH",
        &path,
        em,
        Some(&tag),
        Some(&json!({"team": "二队"})),
    );
    assert_eq!((st, b["code"].as_str()), (412, Some("stale")), "{b}");
    assert_eq!(b["current"]["status"], "off_duty", "{b}");
    assert_eq!(last_seq(s), seq0 + 1);

    // Checked in far from home and on duty: found there, not at home.
    let spot = homes_in(s, street)
        .into_iter()
        .max_by(|a, b| distance_deg(a, &home).total_cmp(&distance_deg(b, &home)))
        .unwrap();
    let body = json!({"status": "on_duty", "checkin": spot, "skills": ["急救", "驾驶"]});
    let (st, tag3, _, b) = call(s, "PATCH", &path, em, Some(&tag2), Some(&body));
    assert_eq!(st, 200, "{b}");
    assert_eq!(b["location"], spot, "{b}");
    assert_eq!(
        nearest(s, em, &spot),
        Some(id),
        "found where they checked in"
    );
    assert_ne!(nearest(s, em, &home), Some(id), "no longer at home");
    let (_, tag4, _, got) = call(s, "GET", &path, em, None, None);
    assert_eq!(
        (tag4.as_str(), &got["skills"]),
        (tag3.as_str(), &json!(["急救", "驾驶"]))
    );

    // A dispatch plan around the check-in, confirmed. The volunteer stands
    // inside the area: flagged and held back until the officer lets those
    // inside go.
    let mut area =
        json!({"circle": {"lon": spot[0], "lat": spot[1], "radius_m": 1500.0}, "walk": false});
    let (st, _, _, held) = call(s, "POST", "/api/emergency/plan", em, None, Some(&area));
    assert_eq!(st, 200, "{held}");
    let inside: Vec<i64> = held["inside_area"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_i64().unwrap())
        .collect();
    assert!(inside.contains(&id), "flagged inside the area: {inside:?}");
    assert!(
        held["routes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["volunteer"]["id"] != id),
        "held back"
    );
    area["allow_inside"] = json!(true);
    let plan = |s: &Server| {
        let (st, _, _, p) = call(s, "POST", "/api/emergency/plan", em, None, Some(&area));
        assert_eq!(st, 200, "{p}");
        p
    };
    let p = plan(s);
    let routes: Vec<Value> = p["routes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            json!({
                "volunteer": r["volunteer"]["id"],
                "households": r["households"].as_array().unwrap().iter().map(|h| h["id"].clone()).collect::<Vec<_>>(),
            })
        })
        .collect();
    assert!(!routes.is_empty(), "{p}");
    let sent: Vec<i64> = routes
        .iter()
        .map(|r| r["volunteer"].as_i64().unwrap())
        .collect();
    assert!(sent.contains(&id), "the checked-in volunteer is sent: {p}");
    let seq1 = last_seq(s);
    for (body, status, code) in [
        (json!({"routes": []}), 422, "empty_dispatch"),
        (
            json!({"routes": [{"volunteer": id, "households": [-7]}]}),
            422,
            "unknown_household",
        ),
        (
            json!({"routes": [{"volunteer": id}, {"volunteer": id}]}),
            422,
            "duplicate_volunteer",
        ),
        (
            json!({"routes": [{"volunteer": id, "etag": tag2}]}),
            412,
            "stale",
        ),
    ] {
        let (st, _, _, b) = call(s, "POST", "/api/emergency/dispatch", em, None, Some(&body));
        assert_eq!(
            (st, b["code"].as_str()),
            (status, Some(code)),
            "{body}: {b}"
        );
    }
    // The 412 names the volunteer who changed, behind one who did not.
    let others: Vec<i64> = sent.iter().copied().filter(|v| *v != id).collect();
    let mut named = others
        .iter()
        .map(|v| json!({ "volunteer": v }))
        .collect::<Vec<_>>();
    named.push(json!({ "volunteer": id, "etag": tag2 }));
    let (st, _, _, b) = call(
        s,
        "POST",
        "/api/emergency/dispatch",
        em,
        None,
        Some(&json!({ "routes": named })),
    );
    assert_eq!((st, b["volunteer"].as_i64()), (412, Some(id)), "{b}");
    assert!(
        b["detail"]
            .as_str()
            .unwrap()
            .contains(&format!("volunteer {id}")),
        "{b}"
    );
    assert_eq!(last_seq(s), seq1, "nothing stored");
    let confirm = json!({ "routes": routes });
    let (st, _, _, b) = call(
        s,
        "POST",
        "/api/emergency/dispatch",
        planner,
        None,
        Some(&confirm),
    );
    assert_eq!(st, 403, "{b}");
    assert_eq!(last_seq(s), seq1, "nothing stored");
    let (st, _, _, b) = call(
        s,
        "POST",
        "/api/emergency/dispatch",
        em,
        None,
        Some(&confirm),
    );
    assert_eq!(st, 200, "{b}");
    let done = b["dispatched"].as_array().unwrap();
    assert_eq!(done.len(), sent.len());
    assert!(done.iter().all(
        |d| d["status"] == "dispatched" && d["etag"].as_str().unwrap().starts_with("\"people-")
    ));
    assert_eq!(last_seq(s), seq1 + sent.len() as i64, "one change each");
    let (_, tag5, _, got) = call(s, "GET", &path, em, None, None);
    assert_eq!(got["status"], "dispatched");
    let mine = done.iter().find(|d| d["id"] == json!(id)).unwrap();
    assert_eq!(mine["etag"].as_str(), Some(tag5.as_str()));
    assert_ne!(nearest(s, em, &spot), Some(id), "dispatched is not found");
    // The next plan sends nobody already dispatched.
    let again = plan(s);
    for r in again["routes"].as_array().unwrap() {
        let v = r["volunteer"]["id"].as_i64().unwrap();
        assert!(!sent.contains(&v), "{v} sent twice: {again}");
    }
    // Confirming the same plan again: 409, nobody touched.
    let seq2 = last_seq(s);
    let (st, _, _, b) = call(
        s,
        "POST",
        "/api/emergency/dispatch",
        em,
        None,
        Some(&confirm),
    );
    assert_eq!(
        (st, b["code"].as_str()),
        (409, Some("volunteer_unavailable")),
        "{b}"
    );
    assert_eq!(last_seq(s), seq2);
    // All or nothing: one on duty with one dispatched is refused whole,
    // naming only the dispatched one; the other stays on duty.
    let free: Vec<i64> = roster(s, em, "?status=on_duty")["volunteers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_i64().unwrap())
        .collect();
    assert!(free.len() >= 3, "{free:?}");
    let body = json!({"routes": [{"volunteer": free[0]}, {"volunteer": id}]});
    let (st, _, _, b) = call(s, "POST", "/api/emergency/dispatch", em, None, Some(&body));
    assert_eq!(st, 409, "{b}");
    assert_eq!(b["volunteers"], json!([{"id": id, "status": "dispatched"}]));
    let (_, _, _, got) = call(
        s,
        "GET",
        &format!("/api/volunteers/{}", free[0]),
        em,
        None,
        None,
    );
    assert_eq!(got["status"], "on_duty");
    assert_eq!(last_seq(s), seq2);
    // Two overlapping confirms at once: one wins whole, the other is 409.
    let answers: Vec<u16> = std::thread::scope(|t| {
        let a = t.spawn(|| {
            let b = json!({"routes": [{"volunteer": free[0]}, {"volunteer": free[1]}]});
            call(s, "POST", "/api/emergency/dispatch", em, None, Some(&b)).0
        });
        let b = t.spawn(|| {
            let b = json!({"routes": [{"volunteer": free[1]}, {"volunteer": free[2]}]});
            call(s, "POST", "/api/emergency/dispatch", em, None, Some(&b)).0
        });
        vec![a.join().unwrap(), b.join().unwrap()]
    });
    let mut sorted = answers.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, vec![200, 409], "{answers:?}");
    assert_eq!(last_seq(s), seq2 + 2, "only the winner's two changes");
    let loser = if answers[0] == 409 { free[0] } else { free[2] };
    let (_, _, _, got) = call(
        s,
        "GET",
        &format!("/api/volunteers/{loser}"),
        em,
        None,
        None,
    );
    assert_eq!(got["status"], "on_duty", "the loser's other volunteer");
    // The log and the audit hold no name.
    let (_, log, _) = s.get_json(&format!("/api/changes?since={seq0}"));
    let names: Vec<String> = list
        .iter()
        .filter_map(|v| v["name"].as_str().map(str::to_string))
        .filter(|n| !n.is_empty())
        .collect();
    assert!(names.iter().all(|n| !log.to_string().contains(n.as_str())));
    let (st, audit, _) = s.get_json("/api/audit?limit=200");
    assert_eq!(st, 200, "{audit}");
    let text = audit.to_string();
    assert!(
        text.contains("status: on_duty → dispatched") && text.contains("dispatched to households"),
        "{text}"
    );
    // Back on duty: found again.
    let (st, _, _, b) = call(
        s,
        "PATCH",
        &path,
        em,
        Some(&tag5),
        Some(&json!({"status": "on_duty", "checkin": null})),
    );
    assert_eq!(st, 200, "{b}");
    assert_eq!(b["location"], home);
    assert_eq!(nearest(s, em, &home), Some(id));
}

fn s_roster_status(s: &Server, token: &str, status: &str) -> (u16, String, String, Value) {
    call(
        s,
        "GET",
        &format!("/api/volunteers?status={status}"),
        token,
        None,
        None,
    )
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[test]
fn volunteers_emergency_keeps_its_volunteers_on_a_geopackage() {
    let dir = tempfile::tempdir().unwrap();
    let store = generated(dir.path(), "20000", "4");
    let em = user_with_token(&store, "em1", "emergency", "610902001");
    let other = user_with_token(&store, "em2", "emergency", "610902002");
    let planner = user_with_token(&store, "planner1", "planner", "*");
    let viewer = user_with_token(&store, "viewer1", "viewer", "*");
    let s = Server::start(&store, &[]);
    journey(&s, &em, &other, &planner, &viewer);
}

#[test]
fn volunteers_emergency_keeps_its_volunteers_on_postgis() {
    let dir = tempfile::tempdir().unwrap();
    let a = generated(dir.path(), "20000", "4");
    let a = a.to_str().unwrap();
    let url = fresh_url("volunteers");
    let (ok, out, err) = wangge(&["copy", "--from", a, "--to", &url, "--quiet"]);
    assert!(ok, "copy: {out}{err}");
    let admin = user_with_token_in(&url, "admin1", "admin", "*");
    let em = user_with_token_in(&url, "em1", "emergency", "610902001");
    let other = user_with_token_in(&url, "em2", "emergency", "610902002");
    let planner = user_with_token_in(&url, "planner1", "planner", "*");
    let viewer = user_with_token_in(&url, "viewer1", "viewer", "*");
    let s = Server::start_with(&["--database", &url], admin);
    journey(&s, &em, &other, &planner, &viewer);
}
