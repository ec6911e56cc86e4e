//! The change log, live (issue 20, items 3 and 5): `GET /api/changes/stream`
//! hears a write through the server at once, only in the listener's
//! scope, and a reconnecting client gets what it missed; plan saves are
//! in the log; a `wangge import` into the GeoPackage a server serves is
//! visible over HTTP within a second, without a restart.

use std::io::BufRead;
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::{partitioned_city, user_with_token, wangge, Server};
use crate::ledger::{call, last_seq, streets};

/// One event of the change stream, and when it arrived.
struct Heard {
    id: i64,
    change: Value,
    at: Instant,
}

/// Opens the change stream as `token` (resuming after `last` when given)
/// and reads it on a thread; its events arrive on the channel returned.
/// Dropping the channel leaves the connection to end with the thread.
fn listen(s: &Server, token: &str, last: Option<i64>) -> Receiver<Heard> {
    let mut req = ureq::get(&s.url("/api/changes/stream"))
        .header("Authorization", &format!("Bearer {token}"))
        .header("Accept", "text/event-stream");
    if let Some(l) = last {
        req = req.header("Last-Event-ID", &l.to_string());
    }
    let resp = req.call().expect("stream opened");
    assert_eq!(resp.status().as_u16(), 200);
    let ctype = resp
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(ctype.starts_with("text/event-stream"), "{ctype}");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let lines = std::io::BufReader::new(resp.into_body().into_reader()).lines();
        let (mut id, mut data) = (None, String::new());
        for line in lines {
            let Ok(line) = line else { return };
            if line.is_empty() {
                if let Some(id) = id.take() {
                    let change = serde_json::from_str(&data).expect("data is JSON");
                    let heard = Heard {
                        id,
                        change,
                        at: Instant::now(),
                    };
                    if tx.send(heard).is_err() {
                        return;
                    }
                }
                data.clear();
            } else if let Some(v) = line.strip_prefix("id:") {
                id = v.trim().parse().ok();
            } else if let Some(v) = line.strip_prefix("data:") {
                data.push_str(v.trim_start());
            }
        }
    });
    rx
}

/// The next event within `wait`, or a failure naming `what`.
fn next(rx: &Receiver<Heard>, wait: Duration, what: &str) -> Heard {
    rx.recv_timeout(wait)
        .unwrap_or_else(|e| panic!("no event for {what} within {wait:?}: {e}"))
}

fn ready(s: &Server) -> Value {
    let (st, v, _) = s.get_json("/health/ready");
    assert_eq!(st, 200, "{v}");
    v["changes"].clone()
}

#[test]
fn the_change_stream_hears_writes_at_once_in_scope_and_resumes() {
    let (_dir, store) = partitioned_city(1500, 5);
    let (street, other_street) = streets(&store.to_string_lossy());
    let office = user_with_token(&store, "office1", "office", &street);
    let other = user_with_token(&store, "office2", "office", &other_street);
    let s = Server::start(&store, &[]);
    let (_, page, _) = s.get_json("/api/layers/households?limit=1");
    let first = &page["features"][0];
    let region = first["properties"]["region"].as_str().unwrap().to_string();
    assert!(region.starts_with(&street));
    let at = first["geometry"]["coordinates"].clone();
    let seq0 = last_seq(&s);
    assert_eq!(ready(&s)["applied"], seq0);

    // Two listeners: the office of the street written in, and one of
    // another street.
    let mine = listen(&s, &office, None);
    let theirs = listen(&s, &other, None);
    let body = json!({"location": at, "size": 2, "care": 1, "address": "流水巷3号"});
    let sent = Instant::now();
    let (st, tag, _, created) = call(&s, "POST", "/api/households", &office, None, Some(&body));
    assert_eq!(st, 201, "{created}");
    let id = created["id"].as_i64().unwrap();
    let e = next(&mine, Duration::from_secs(1), "a household created");
    println!(
        "change stream: a household write heard {} ms after it was sent",
        e.at.duration_since(sent).as_millis()
    );
    assert_eq!(e.id, seq0 + 1);
    assert_eq!(
        (&e.change["layer"], &e.change["op"], &e.change["id"]),
        (&json!("households"), &json!("create"), &json!(id))
    );
    assert_eq!(e.change["region"], json!(region));
    assert!(
        !e.change.to_string().contains("流水巷"),
        "no personal field"
    );
    // What the event names is readable at once.
    let (st, _, _, _) = call(
        &s,
        "GET",
        &format!("/api/households/{id}"),
        &office,
        None,
        None,
    );
    assert_eq!(st, 200);

    // Two more writes while the listener is away; it comes back with
    // Last-Event-ID and gets both, in order, then hears live again.
    drop(mine);
    let (st, tag2, _, v) = call(
        &s,
        "PATCH",
        &format!("/api/households/{id}"),
        &office,
        Some(&tag),
        Some(&json!({"size": 3})),
    );
    assert_eq!(st, 200, "{v}");
    let (st, _, _, v) = call(
        &s,
        "DELETE",
        &format!("/api/households/{id}"),
        &office,
        Some(&tag2),
        None,
    );
    assert_eq!(st, 204, "{v}");
    let back = listen(&s, &office, Some(e.id));
    let ops: Vec<(i64, Value)> = (0..2)
        .map(|_| next(&back, Duration::from_secs(1), "a missed write"))
        .map(|h| (h.id, h.change["op"].clone()))
        .collect();
    assert_eq!(
        ops,
        vec![(seq0 + 2, json!("update")), (seq0 + 3, json!("delete"))]
    );
    // ?since= does the same for a client that cannot set the header.
    let (st, _, body) = s.get_with(
        "/api/changes/stream?since=x",
        Some(&office),
        &[("Accept", "text/event-stream")],
        "content-type",
    );
    assert_eq!(st, 400, "{}", String::from_utf8_lossy(&body));
    assert!(String::from_utf8_lossy(&body).contains("bad_request"));

    // A plan published: one `plans` row (the version, its region, op
    // publish), heard at once by the street's office.
    let (st, versions, _) = s.get_json(&format!("/api/regions/{region}/plans"));
    assert_eq!(st, 200, "{versions}");
    let newest = versions["versions"].as_array().unwrap().last().unwrap()["id"]
        .as_i64()
        .unwrap();
    let (st, _, text) = s.post_with(
        &format!("/api/plans/{newest}/publish"),
        Some(&s.token),
        &[("If-Match", &format!("\"plan-{newest}\""))],
        r#"{"message":"公布"}"#,
        "etag",
    );
    assert_eq!(st, 201, "{text}");
    let published: Value = serde_json::from_str(&text).unwrap();
    let v = published["version"]["id"].as_i64().unwrap();
    let e = next(&back, Duration::from_secs(1), "a plan published");
    assert_eq!(e.id, seq0 + 4);
    assert_eq!(
        (&e.change["layer"], &e.change["op"], &e.change["id"]),
        (&json!("plans"), &json!("publish"), &json!(v))
    );
    assert_eq!(e.change["region"], json!(region));
    let (_, log, _) = s.get_json(&format!("/api/changes?since={}", seq0 + 3));
    assert_eq!(
        log["changes"][0], e.change,
        "the stream sends what the log lists"
    );

    // The other street's office heard none of it.
    std::thread::sleep(Duration::from_millis(200));
    let heard: Vec<i64> = theirs.try_iter().map(|h| h.id).collect();
    assert!(heard.is_empty(), "out of scope, yet heard: {heard:?}");
    // Writes through the server are in the snapshot already: no reload.
    assert_eq!(ready(&s), json!({"applied": seq0 + 4, "picked_up": 0}));
}

#[test]
fn a_cli_import_into_the_served_geopackage_is_visible_within_a_second() {
    let dir = tempfile::tempdir().unwrap();
    let store = crate::http_api::fixture(dir.path());
    let s = Server::start(&store, &[]);
    import_is_picked_up(&s, &store.to_string_lossy(), dir.path());
}

#[test]
fn a_cli_import_into_the_served_postgis_database_is_visible_within_a_second() {
    let dir = tempfile::tempdir().unwrap();
    let store = crate::http_api::fixture(dir.path());
    let url = crate::ledger::fresh_url("pickup");
    let (ok, out, err) = wangge(&[
        "copy",
        "--from",
        store.to_str().unwrap(),
        "--to",
        &url,
        "--quiet",
    ]);
    assert!(ok, "copy: {out}{err}");
    let admin = crate::common::user_with_token_in(&url, "admin1", "admin", "*");
    let s = Server::start_with(&["--database", &url], admin);
    import_is_picked_up(&s, &url, dir.path());
}

/// Imports two households into `store` (which `s` serves) with
/// `wangge import` and waits for them over HTTP: at most 1 s.
fn import_is_picked_up(s: &Server, store: &str, dir: &std::path::Path) {
    let count = |code: &str| -> u64 {
        let (st, v, _) = s.get_json(&format!("/api/regions/{code}"));
        assert_eq!(st, 200, "{v}");
        v["counts"]["households"].as_u64().unwrap()
    };
    let (street0, community0) = (count("110101001"), count("110101001001"));
    let seq0 = last_seq(s);
    let stream = listen(s, &s.token, None);

    let csv = dir.join("more.csv");
    std::fs::write(
        &csv,
        "编号,经度,纬度,人数,户类别,地址\n\
         7,116.403,39.903,2,连心户,多福巷20号\n\
         8,116.404,39.904,1,关心户,多福巷21号\n",
    )
    .unwrap();
    let (ok, out, err) = wangge(&[
        "import",
        "households",
        csv.to_str().unwrap(),
        "--store",
        store,
        "--crs",
        "wgs84",
    ]);
    assert!(ok, "{out}{err}");
    let imported = Instant::now();
    // Visible over HTTP: counted in the region and listed in the layer.
    let latency = loop {
        if count("110101001001") == community0 + 2 {
            break imported.elapsed();
        }
        assert!(
            imported.elapsed() < Duration::from_secs(1),
            "the import is not visible after 1 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    println!(
        "a CLI import into {} visible over HTTP {} ms after it finished",
        if store.starts_with("postgres") {
            "PostGIS"
        } else {
            "the GeoPackage"
        },
        latency.as_millis()
    );
    assert_eq!(count("110101001"), street0 + 2, "rolled up");
    let (_, page, _) = s.get_json("/api/layers/households?limit=100");
    let ids: Vec<i64> = page["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_i64().unwrap())
        .collect();
    assert!(ids.contains(&7) && ids.contains(&8), "{ids:?}");
    // The stream heard it as a bulk change, after the reload.
    let e = next(&stream, Duration::from_secs(1), "an import");
    assert_eq!(e.id, seq0 + 1);
    assert_eq!(
        (&e.change["layer"], &e.change["op"], &e.change["id"]),
        (&json!("households"), &json!("import"), &Value::Null)
    );
    assert_eq!(ready(s), json!({"applied": seq0 + 1, "picked_up": 1}));
    // A write through the server after it continues the log (no reload).
    let (st, _, _, v) = call(
        s,
        "POST",
        "/api/households",
        &s.token,
        None,
        Some(&json!({"location": [116.405, 39.906], "size": 1, "care": 1})),
    );
    assert_eq!(st, 201, "{v}");
    let e = next(&stream, Duration::from_secs(1), "a write after the import");
    assert_eq!((e.id, &e.change["op"]), (seq0 + 2, &json!("create")));
    assert_eq!(ready(s), json!({"applied": seq0 + 2, "picked_up": 1}));
}
