//! Incidents over HTTP (issue 22, item 1): an emergency officer opens an
//! incident over a hazard area, redraws it as the water rises (every
//! version kept), notes and closes it; the timeline holds every step with
//! its author; two officers writing the same incident get one success and
//! one 412; an officer of another street neither sees nor finds it; bad
//! input is refused with a code and stores nothing. On a GeoPackage and
//! on PostGIS, the store read back after a restart.

use serde_json::{json, Value};

use super::ledger::{call, fresh_url, last_seq};
use crate::common::{generated, user_with_token, user_with_token_in, wangge, Server};

/// Household locations in `token`'s scope, page by page.
fn homes_in(s: &Server, token: &str) -> Vec<(f64, f64)> {
    let mut out = vec![];
    loop {
        let path = format!("/api/layers/households?limit=5000&offset={}", out.len());
        let (st, _, _, page) = call(s, "GET", &path, token, None, None);
        assert_eq!(st, 200, "{page}");
        let features = page["features"].as_array().unwrap();
        out.extend(features.iter().map(|f| {
            let c = &f["geometry"]["coordinates"];
            (c[0].as_f64().unwrap(), c[1].as_f64().unwrap())
        }));
        if features.len() < 5000 {
            return out;
        }
    }
}

/// A home of `mine` as far as can be from every home of `theirs`: a
/// small circle there lies in `mine` alone.
fn deep_inside(mine: &[(f64, f64)], theirs: &[(f64, f64)]) -> (f64, f64) {
    let gap = |p: &(f64, f64)| {
        theirs
            .iter()
            .map(|q| (p.0 - q.0).hypot(p.1 - q.1))
            .fold(f64::INFINITY, f64::min)
    };
    *mine
        .iter()
        .step_by((mine.len() / 300).max(1))
        .max_by(|a, b| gap(a).total_cmp(&gap(b)))
        .unwrap()
}

fn circle(at: (f64, f64), r: f64) -> Value {
    json!({ "lon": at.0, "lat": at.1, "radius_m": r })
}

fn ids(s: &Server, token: &str) -> Vec<i64> {
    let (st, _, _, b) = call(s, "GET", "/api/incidents", token, None, None);
    assert_eq!(st, 200, "{b}");
    b["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect()
}

/// The officer's night up to the close; returns the incident's id.
#[allow(clippy::too_many_lines, reason = "one journey, step by step")]
fn journey(s: &Server, em: &str, em_b: &str, other: &str, planner: &str, viewer: &str) -> i64 {
    let (mine, theirs) = (homes_in(s, em), homes_in(s, other));
    assert!(!mine.is_empty() && !theirs.is_empty());
    let here = deep_inside(&mine, &theirs);
    let there = deep_inside(&theirs, &mine);
    let seq0 = last_seq(s);
    let before = ids(s, em).len();

    // Refusals store nothing.
    for (body, status, code) in [
        (
            json!({"title": "暴雨", "kind": "storm", "circle": circle(here, 200.0)}),
            422,
            Some("unknown_kind"),
        ),
        (
            json!({"title": "  ", "kind": "flood", "circle": circle(here, 200.0)}),
            422,
            Some("bad_title"),
        ),
        (
            json!({"title": "暴雨", "kind": "flood", "circle": circle((here.1, here.0), 200.0)}),
            400,
            None,
        ),
        (
            json!({"title": "暴雨", "kind": "flood", "polygon": {"type": "Polygon", "coordinates": [[[109.0, 32.7], [109.01, 32.71], [109.01, 32.7], [109.0, 32.71], [109.0, 32.7]]]}}),
            400,
            None,
        ),
        (json!({"title": "暴雨", "kind": "flood"}), 400, None),
        (
            json!({"title": "暴雨", "kind": "flood", "circle": circle(there, 100.0)}),
            403,
            None,
        ),
    ] {
        let (st, _, _, b) = call(s, "POST", "/api/incidents", em, None, Some(&body));
        assert_eq!(st, status, "{body}: {b}");
        if let Some(code) = code {
            assert_eq!(b["code"], code, "{b}");
        }
    }
    for who in [planner, viewer] {
        let body = json!({"title": "暴雨", "kind": "flood", "circle": circle(here, 200.0)});
        let (st, _, _, b) = call(s, "POST", "/api/incidents", who, None, Some(&body));
        assert_eq!(st, 403, "{b}");
        let (st, _, _, b) = call(s, "GET", "/api/incidents", who, None, None);
        assert_eq!(st, 403, "{b}");
    }
    assert_eq!(last_seq(s), seq0, "nothing stored");
    assert_eq!(ids(s, em).len(), before);

    // Opened: 201, ETag, Location; its first timeline line by its author.
    let open = json!({"title": "汉滨区暴雨", "kind": "洪涝", "circle": circle(here, 150.0)});
    let (st, tag1, location, b) = call(s, "POST", "/api/incidents", em, None, Some(&open));
    assert_eq!(st, 201, "{b}");
    let id = b["id"].as_i64().unwrap();
    assert_eq!(location, format!("/api/incidents/{id}"));
    assert_eq!(
        (b["kind"].as_str(), b["status"].as_str()),
        (Some("flood"), Some("open"))
    );
    assert_eq!(b["opened_by"], "em1");
    assert_eq!(b["areas"][0]["area"]["circle"], circle(here, 150.0));
    assert_eq!(b["timeline"][0]["what"], "opened");
    assert_eq!(tag1, b["etag"].as_str().unwrap());
    assert!(ids(s, em).contains(&id) && ids(s, em_b).contains(&id));
    assert!(
        !ids(s, other).contains(&id),
        "another street's officer does not see it"
    );
    let (st, _, _, b) = call(s, "GET", &format!("/api/incidents/{id}"), other, None, None);
    assert_eq!(st, 404, "{b}");

    // The water rises: a redraw without If-Match is 428; two officers
    // with the same ETag get one success and one 412 with the incident now.
    let areas = format!("/api/incidents/{id}/areas");
    let wider = json!({"circle": circle(here, 400.0)});
    let (st, _, _, b) = call(s, "POST", &areas, em, None, Some(&wider));
    assert_eq!(st, 428, "{b}");
    let (st, tag2, _, b) = call(s, "POST", &areas, em, Some(&tag1), Some(&wider));
    assert_eq!(st, 200, "{b}");
    let widest = json!({"circle": circle(here, 600.0)});
    let (st, _, _, b) = call(s, "POST", &areas, em_b, Some(&tag1), Some(&widest));
    assert_eq!(st, 412, "{b}");
    assert_eq!(b["etag"], tag2.as_str(), "{b}");
    assert_eq!(b["current"]["areas"].as_array().unwrap().len(), 2, "{b}");
    let (st, tag3, _, b) = call(s, "POST", &areas, em_b, Some(&tag2), Some(&widest));
    assert_eq!(st, 200, "{b}");
    let versions: Vec<(i64, &str)> = b["areas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["version"].as_i64().unwrap(), a["by"].as_str().unwrap()))
        .collect();
    assert_eq!(
        versions,
        [(1, "em1"), (2, "em1"), (3, "em1b")],
        "every version kept"
    );

    // A note, then the close; nothing more after.
    let (st, _, _, b) = call(
        s,
        "POST",
        &format!("/api/incidents/{id}/notes"),
        em,
        Some(&tag3),
        Some(&json!({"note": ""})),
    );
    assert_eq!((st, b["code"].as_str()), (422, Some("bad_note")), "{b}");
    let (st, tag4, _, b) = call(
        s,
        "POST",
        &format!("/api/incidents/{id}/notes"),
        em,
        Some(&tag3),
        Some(&json!({"note": "水位 2.3 m"})),
    );
    assert_eq!(st, 200, "{b}");
    let marked = marks_and_replan(s, em, em_b, id);
    tally_and_paper(s, em, viewer, id, marked);
    dispatched_for(s, em, id);
    // Marks are not the incident's own writes: its ETag has not moved.
    let (st, tag5, _, b) = call(
        s,
        "POST",
        &format!("/api/incidents/{id}/close"),
        em_b,
        Some(&tag4),
        Some(&json!({"note": "全部转移"})),
    );
    assert_eq!(st, 200, "{b}");
    assert_eq!(b["status"], "closed");
    assert!(b["closed_at"].is_string());
    let seq = last_seq(s);
    let (st, _, _, b) = call(s, "POST", &areas, em, Some(&tag5), Some(&wider));
    assert_eq!(
        (st, b["code"].as_str()),
        (409, Some("incident_closed")),
        "{b}"
    );
    assert_eq!(last_seq(s), seq, "a closed incident takes no write");

    // The timeline: every step with its author, in order.
    let (st, tag, _, b) = call(s, "GET", &format!("/api/incidents/{id}"), em, None, None);
    assert_eq!((st, tag.as_str()), (200, tag5.as_str()), "{b}");
    let steps: Vec<(String, String)> = b["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["actor"].as_str().unwrap().into(),
                l["what"].as_str().unwrap().into(),
            )
        })
        .collect();
    let want = [
        ("em1", "opened"),
        ("em1", "area_redrawn"),
        ("em1b", "area_redrawn"),
        ("em1", "note"),
        ("em1", "household_marked"),
        ("em1", "household_marked"),
        ("em1", "dispatched"),
        ("em1b", "closed"),
    ];
    assert_eq!(steps, want.map(|(a, w)| (a.to_string(), w.to_string())));
    // The change log names every write (layer incidents, no personal field).
    let (st, _, _, log) = call(
        s,
        "GET",
        &format!("/api/changes?since={seq0}"),
        em,
        None,
        None,
    );
    assert_eq!(st, 200, "{log}");
    let mine = log["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["layer"] == "incidents" && c["id"] == json!(id))
        .count();
    assert_eq!(mine, 8, "{log}");
    id
}

/// After the server was killed (SIGKILL: `Server`'s drop) and started
/// again, the incident is as acknowledged: areas, timeline, statuses.
fn kept(s: &Server, em: &str, id: i64) {
    let (st, _, _, b) = call(s, "GET", &format!("/api/incidents/{id}"), em, None, None);
    assert_eq!(st, 200, "{b}");
    assert_eq!(b["status"], "closed");
    assert_eq!(b["areas"].as_array().unwrap().len(), 3);
    assert_eq!(b["timeline"].as_array().unwrap().len(), 8);
    assert!(!b["sent"].as_array().unwrap().is_empty(), "{b}");
    let (st, _, _, b) = call(
        s,
        "GET",
        &format!("/api/incidents/{id}/households"),
        em,
        None,
        None,
    );
    assert_eq!(st, 200, "{b}");
    assert_eq!(b["households"].as_array().unwrap().len(), 2, "{b}");
}

/// The households a plan for the incident sends someone to.
fn planned(s: &Server, em: &str, id: i64) -> Vec<i64> {
    let body = json!({"incident": id, "capacity": 3, "max_distance_m": 3000, "walk": false, "allow_inside": true});
    let (st, _, _, p) = call(s, "POST", "/api/emergency/plan", em, None, Some(&body));
    assert_eq!(st, 200, "{p}");
    p["routes"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| {
            r["households"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| h["id"].as_i64().unwrap())
        })
        .collect()
}

/// A dispatch confirmed for the incident: who goes where is on its record
/// and timeline; the next plan sends nobody else to those households and
/// does not send the volunteer again.
fn dispatched_for(s: &Server, em: &str, id: i64) {
    let body = json!({"incident": id, "capacity": 3, "max_distance_m": 3000, "walk": false, "allow_inside": true});
    let (st, _, _, p) = call(s, "POST", "/api/emergency/plan", em, None, Some(&body));
    assert_eq!(st, 200, "{p}");
    let route = &p["routes"][0];
    let v = route["volunteer"]["id"].as_i64().unwrap();
    let homes: Vec<i64> = route["households"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_i64().unwrap())
        .collect();
    let send = json!({"incident": id, "routes": [{"volunteer": v, "households": homes}]});
    // An incident the caller does not see is not one to dispatch for.
    let (st, _, _, b) = call(
        s,
        "POST",
        "/api/emergency/dispatch",
        em,
        None,
        Some(&json!({"incident": 999_999, "routes": [{"volunteer": v, "households": homes}]})),
    );
    assert_eq!(st, 404, "{b}");
    let (st, _, _, b) = call(s, "POST", "/api/emergency/dispatch", em, None, Some(&send));
    assert_eq!(st, 200, "{b}");
    assert_eq!(b["dispatched"][0]["status"], "dispatched", "{b}");
    let (st, _, _, b) = call(s, "GET", &format!("/api/incidents/{id}"), em, None, None);
    assert_eq!(st, 200, "{b}");
    let mut sent: Vec<(i64, i64)> = b["sent"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["household"].as_i64().unwrap(),
                x["volunteer"].as_i64().unwrap(),
            )
        })
        .collect();
    sent.sort_unstable();
    let mut want: Vec<(i64, i64)> = homes.iter().map(|&h| (h, v)).collect();
    want.sort_unstable();
    assert_eq!(sent, want, "each household with the volunteer sent: {b}");
    let last = b["timeline"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["actor"].as_str(), last["what"].as_str()),
        (Some("em1"), Some("dispatched")),
        "{last}"
    );
    assert!(
        last["detail"]
            .as_str()
            .unwrap()
            .contains(&format!("volunteer {v} →")),
        "{last}"
    );
    let (st, _, _, p) = call(s, "POST", "/api/emergency/plan", em, None, Some(&body));
    assert_eq!(st, 200, "{p}");
    for r in p["routes"].as_array().unwrap() {
        assert_ne!(
            r["volunteer"]["id"].as_i64(),
            Some(v),
            "the volunteer sent is not sent again"
        );
        for h in r["households"].as_array().unwrap() {
            assert!(
                !homes.contains(&h["id"].as_i64().unwrap()),
                "a household someone is on the way to is not planned again: {h}"
            );
        }
    }
}

/// Households marked: one reached, one needing evacuation (two officers
/// at once: one 412); the next plan for the incident leaves the reached
/// one out and still sends someone to the other.
fn marks_and_replan(s: &Server, em: &str, em_b: &str, id: i64) -> (i64, i64) {
    let first = planned(s, em, id);
    assert!(
        first.len() >= 2,
        "a plan over the incident's area: {first:?}"
    );
    let (h1, h2) = (first[0], first[1]);
    let path = |h: i64| format!("/api/incidents/{id}/households/{h}");
    let v0 = |h: i64| format!("\"incident-{id}-household-{h}-0\"");
    let reached = json!({"status": "reached", "note": "老人已安置"});
    let (st, _, _, b) = call(s, "PUT", &path(h1), em, None, Some(&reached));
    assert_eq!(st, 428, "{b}");
    for (body, code) in [
        (json!({"status": "gone"}), "unknown_status"),
        (
            json!({"status": "reached", "note": "x".repeat(2001)}),
            "bad_note",
        ),
    ] {
        let (st, _, _, b) = call(s, "PUT", &path(h1), em, Some(&v0(h1)), Some(&body));
        assert_eq!((st, b["code"].as_str()), (422, Some(code)), "{b}");
    }
    let (st, _, _, b) = call(s, "PUT", &path(-5), em, Some(&v0(-5)), Some(&reached));
    assert_eq!(
        (st, b["code"].as_str()),
        (422, Some("unknown_household")),
        "{b}"
    );
    let (st, tag, _, b) = call(s, "PUT", &path(h1), em, Some(&v0(h1)), Some(&reached));
    assert_eq!(st, 200, "{b}");
    assert_eq!(
        (b["status"].as_str(), b["version"].as_i64()),
        (Some("reached"), Some(1))
    );
    assert_eq!(tag, format!("\"incident-{id}-household-{h1}-1\""));
    // Two officers mark h2 from the same reading: one wins, one is told.
    let (st, _, _, b) = call(
        s,
        "PUT",
        &path(h2),
        em,
        Some(&v0(h2)),
        Some(&json!({"status": "需转移"})),
    );
    assert_eq!(
        (st, b["status"].as_str()),
        (200, Some("needs_evacuation")),
        "{b}"
    );
    let (st, _, _, b) = call(
        s,
        "PUT",
        &path(h2),
        em_b,
        Some(&v0(h2)),
        Some(&json!({"status": "contacted"})),
    );
    assert_eq!(st, 412, "{b}");
    assert_eq!(b["current"]["status"], "needs_evacuation", "{b}");
    assert_eq!(b["current"]["by"], "em1", "{b}");
    let (st, _, _, b) = call(
        s,
        "GET",
        &format!("/api/incidents/{id}/households"),
        em,
        None,
        None,
    );
    assert_eq!(st, 200, "{b}");
    let rows: Vec<(i64, &str)> = b["households"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["household"].as_i64().unwrap(),
                h["status"].as_str().unwrap(),
            )
        })
        .collect();
    let mut want = vec![(h1, "reached"), (h2, "needs_evacuation")];
    want.sort_unstable();
    assert_eq!(rows, want);
    let again = planned(s, em, id);
    assert!(
        !again.contains(&h1),
        "the reached household is not planned again: {again:?}"
    );
    assert!(
        again.contains(&h2),
        "the one to evacuate still is: {again:?}"
    );
    (h1, h2)
}

/// The live tally (item 4) and the paper (item 6) once `reached` was
/// reached and `evacuate` marked needing evacuation.
#[allow(
    clippy::too_many_lines,
    reason = "one reading of each answer, step by step"
)]
fn tally_and_paper(s: &Server, em: &str, viewer: &str, id: i64, (reached, evacuate): (i64, i64)) {
    let (st, _, _, t) = call(
        s,
        "GET",
        &format!("/api/incidents/{id}/tally"),
        em,
        None,
        None,
    );
    assert_eq!(st, 200, "{t}");
    let v = &t["vulnerable"];
    let total = v["total"].as_u64().unwrap();
    assert!(total >= 2, "{t}");
    assert_eq!(v["served"], 1, "{t}");
    assert_eq!(v["by_status"]["reached"], 1, "{t}");
    assert_eq!(v["by_status"]["needs_evacuation"], 1, "{t}");
    assert_eq!(t["waiting_total"].as_u64(), Some(total - 1));
    let sum = |k: &str| -> u64 {
        t[k].as_array()
            .unwrap()
            .iter()
            .map(|g| g["total"].as_u64().unwrap())
            .sum()
    };
    assert_eq!((sum("by_grid"), sum("by_community")), (total, total));
    assert!(t["minutes_open"].as_i64().unwrap() >= 0);
    assert_eq!(t["area_version"], 3, "the area in force");
    assert!(t["volunteers"]["total"].as_u64().unwrap() > 0, "{t}");
    let waiting = t["waiting"].as_array().unwrap();
    let ids: Vec<i64> = waiting.iter().map(|w| w["id"].as_i64().unwrap()).collect();
    assert!(!ids.contains(&reached), "a reached household waits no more");
    assert!(ids.contains(&evacuate), "one to evacuate still waits");
    // 连心户 first, then the longest wait.
    for w in waiting.windows(2) {
        let key = |x: &Value| {
            (
                std::cmp::Reverse(x["care"].as_u64().unwrap()),
                x["since"].as_str().unwrap().to_string(),
            )
        };
        assert!(key(&w[0]) <= key(&w[1]), "{} before {}", w[0], w[1]);
    }
    let (st, _, _, b) = call(
        s,
        "GET",
        &format!("/api/incidents/{id}/tally"),
        viewer,
        None,
        None,
    );
    assert_eq!(st, 403, "the viewer sees no incident: {b}");
    let (st, _, _, b) = call(
        s,
        "GET",
        &format!("/api/incidents/{id}/tally?limit=6000"),
        em,
        None,
        None,
    );
    assert_eq!(st, 400, "{b}");

    // Paper: times in the server's zone (UTC+08:00 by default) to the minute.
    let (_, _, _, i) = call(s, "GET", &format!("/api/incidents/{id}"), em, None, None);
    let opened = time::OffsetDateTime::parse(
        i["opened_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap()
    .to_offset(time::macros::offset!(+8))
    .format(time::macros::format_description!(
        "[year]-[month]-[day] [hour]:[minute]"
    ))
    .unwrap();
    let page = |path: &str| {
        let (st, ctype, body) = s.get_bytes(path, Some(em));
        assert_eq!(st, 200, "{path}");
        (ctype, body)
    };
    for (path, title) in [
        (format!("/api/incidents/{id}/sheet"), "分网格走访表"),
        (format!("/api/incidents/{id}/sheet?by=team"), "分队伍签到表"),
        (format!("/api/incidents/{id}/report"), "处置报告"),
    ] {
        let (ctype, body) = page(&path);
        assert!(ctype.starts_with("text/html"), "{path}: {ctype}");
        let html = String::from_utf8(body).unwrap();
        assert!(html.contains(title), "{path}");
        assert!(
            html.contains(&opened),
            "{path}: opened at {opened} (UTC+08:00)"
        );
        assert!(html.contains("UTC+08:00"), "{path}");
        assert!(
            !html.contains(i["opened_at"].as_str().unwrap()),
            "{path}: no raw UTC time"
        );
        if title != "处置报告" {
            assert!(html.contains('□'), "{path}: tick boxes");
        } else {
            assert!(
                html.contains("标记住户") && html.contains("已到达") && html.contains("需转移"),
                "{path}"
            );
        }
    }
    let (st, _, _, b) = call(
        s,
        "GET",
        &format!("/api/incidents/{id}/sheet?by=street"),
        em,
        None,
        None,
    );
    assert_eq!(st, 400, "{b}");
    let (ctype, xlsx) = page(&format!("/api/incidents/{id}/report?format=xlsx"));
    assert!(ctype.contains("spreadsheetml"), "{ctype}");
    use calamine::Reader;
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(xlsx)).expect("a real workbook");
    assert_eq!(
        book.sheet_names(),
        ["概况", "网格", "社区", "时间线", "住户状态"]
    );
    let marks = book.worksheet_range("住户状态").unwrap();
    assert_eq!(marks.height(), 3, "a header and the two households marked");
    let statuses: Vec<String> = marks.rows().skip(1).map(|r| r[6].to_string()).collect();
    assert_eq!(statuses, ["已到达", "需转移"]);
}

#[test]
fn incidents_are_kept_with_their_areas_and_timeline_on_a_geopackage() {
    let dir = tempfile::tempdir().unwrap();
    let store = generated(dir.path(), "20000", "4");
    let em = user_with_token(&store, "em1", "emergency", "610902001");
    let em_b = user_with_token(&store, "em1b", "emergency", "610902001");
    let other = user_with_token(&store, "em2", "emergency", "610902002");
    let planner = user_with_token(&store, "planner1", "planner", "*");
    let viewer = user_with_token(&store, "viewer1", "viewer", "*");
    let id = {
        let s = Server::start(&store, &[]);
        journey(&s, &em, &em_b, &other, &planner, &viewer)
    };
    let s = Server::start(&store, &[]);
    kept(&s, &em, id);
}

#[test]
fn incidents_are_kept_with_their_areas_and_timeline_on_postgis() {
    let dir = tempfile::tempdir().unwrap();
    let a = generated(dir.path(), "20000", "4");
    let a = a.to_str().unwrap();
    let url = fresh_url("incidents");
    let (ok, out, err) = wangge(&["copy", "--from", a, "--to", &url, "--quiet"]);
    assert!(ok, "copy: {out}{err}");
    let admin = user_with_token_in(&url, "admin1", "admin", "*");
    let em = user_with_token_in(&url, "em1", "emergency", "610902001");
    let em_b = user_with_token_in(&url, "em1b", "emergency", "610902001");
    let other = user_with_token_in(&url, "em2", "emergency", "610902002");
    let planner = user_with_token_in(&url, "planner1", "planner", "*");
    let viewer = user_with_token_in(&url, "viewer1", "viewer", "*");
    let id = {
        let s = Server::start_with(&["--database", &url], admin.clone());
        journey(&s, &em, &em_b, &other, &planner, &viewer)
    };
    let s = Server::start_with(&["--database", &url], admin);
    kept(&s, &em, id);
    // A copy back into a GeoPackage carries the incident.
    let back = dir.path().join("back.gpkg");
    let (ok, out, err) = wangge(&[
        "copy",
        "--from",
        &url,
        "--to",
        back.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(ok, "copy back: {out}{err}");
    let em_back = user_with_token(&back, "em3", "emergency", "610902001");
    let s = Server::start(&back, &[]);
    kept(&s, &em_back, id);
}
