//! The ledger over HTTP (issue 20, first slice): households read with
//! their ETag, created, updated and deleted by an office in its scope,
//! with If-Match; bad input refused with a code and nothing stored; the
//! change log; every view follows the write at once. On a GeoPackage and
//! on PostGIS (`DATABASE_URL`, default the local test server).

use serde_json::{json, Value};

use crate::common::{generated, user_with_token, user_with_token_in, wangge, Server};

/// A request: (status, ETag, Location, body as JSON or Null).
pub(crate) fn call(
    s: &Server,
    method: &str,
    path: &str,
    token: &str,
    if_match: Option<&str>,
    body: Option<&Value>,
) -> (u16, String, String, Value) {
    let mut req = ureq::http::Request::builder()
        .method(method)
        .uri(s.url(path))
        .header("Authorization", format!("Bearer {token}"))
        .header("Content-Type", "application/json");
    if let Some(m) = if_match {
        req = req.header("If-Match", m);
    }
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .allow_non_standard_methods(true)
        .build()
        .into();
    let text = body.map(Value::to_string).unwrap_or_default();
    let resp = agent.run(req.body(text).unwrap()).expect("request sent");
    let h = |k: &str| {
        resp.headers()
            .get(k)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let (status, etag, location) = (resp.status().as_u16(), h("etag"), h("location"));
    let text = resp.into_body().read_to_string().unwrap_or_default();
    (
        status,
        etag,
        location,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

pub(crate) fn last_seq(s: &Server) -> i64 {
    let (st, b, _) = s.get_json("/api/changes?since=0&limit=1000");
    assert_eq!(st, 200, "{b}");
    b["next"].as_i64().unwrap()
}

pub(crate) fn household_count(s: &Server, region: &str) -> u64 {
    let (st, b, _) = s.get_json(&format!("/api/regions/{region}"));
    assert_eq!(st, 200, "{b}");
    b["counts"]["households"]
        .as_u64()
        .or_else(|| b["properties"]["counts"]["households"].as_u64())
        .unwrap_or_else(|| panic!("no household count in {b}"))
}

/// The whole journey on a running server whose store holds a generated
/// city; `office` is scoped to `street`, `other` to another street.
fn journey(s: &Server, office: &str, other: &str, planner: &str) {
    let (st, page, _) = s.get_json("/api/layers/households?limit=1");
    assert_eq!(st, 200, "{page}");
    let first = &page["features"][0];
    let id = first["id"].as_i64().unwrap();
    let region = first["properties"]["region"].as_str().unwrap().to_string();
    let at = first["geometry"]["coordinates"].clone();
    let (lon, lat) = (at[0].as_f64().unwrap(), at[1].as_f64().unwrap());
    let count0 = household_count(s, &region);
    let seq0 = last_seq(s);
    // A tile over the household, and one far from it (another household's).
    let (_, all, _) = s.get_json("/api/layers/households?limit=10000");
    let far_at = all["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["geometry"]["coordinates"][0].as_f64().unwrap(),
                f["geometry"]["coordinates"][1].as_f64().unwrap(),
            )
        })
        .max_by(|a, b| dist(*a, (lon, lat)).total_cmp(&dist(*b, (lon, lat))))
        .unwrap();
    let near = tile_path(lon, lat);
    let far = tile_path(far_at.0, far_at.1);
    assert_ne!(near, far);
    let tag = |p: &str| {
        let (st, etag, _) = s.get_with(p, Some(&s.token), &[], "etag");
        assert!(st == 200 || st == 204, "{p}: {st}");
        etag
    };
    let (near0, far0) = (tag(&near), tag(&far));

    // Read with an ETag.
    let (st, etag, _, h) = call(
        s,
        "GET",
        &format!("/api/households/{id}"),
        office,
        None,
        None,
    );
    assert_eq!(st, 200, "{h}");
    assert!(etag.starts_with(&format!("\"households-{id}-")), "{etag}");

    // Create: 201, Location, ETag; counted and logged at once.
    let body = json!({"location": [lon, lat], "size": 3, "care": 2, "address": "台账路1号"});
    let (st, new_tag, loc, created) = call(s, "POST", "/api/households", office, None, Some(&body));
    assert_eq!(st, 201, "{created}");
    let new_id = created["id"].as_i64().unwrap();
    assert_eq!(loc, format!("/api/households/{new_id}"));
    assert_eq!(created["properties"]["region"], json!(region));
    assert_eq!(
        household_count(s, &region),
        count0 + 1,
        "the roll-up follows"
    );
    assert_eq!(last_seq(s), seq0 + 1);
    let (_, log, _) = s.get_json(&format!("/api/changes?since={seq0}"));
    assert_eq!(log["changes"][0]["op"], "create");
    assert_eq!(log["changes"][0]["id"], new_id);
    assert!(
        !log.to_string().contains("台账路"),
        "no personal field in the log"
    );
    // Every view follows at once: search finds the new address, the tile
    // over it changed, a far tile kept its ETag.
    let (st, found, _) = s.get_as(
        "/api/search?q=%E5%8F%B0%E8%B4%A6%E8%B7%AF1%E5%8F%B7",
        Some(office),
    );
    assert_eq!(st, 200, "{found}");
    assert!(found.to_string().contains("台账路1号"), "{found}");
    assert_ne!(tag(&near), near0, "the tile over the new household changed");
    assert_eq!(tag(&far), far0, "a far tile keeps its ETag");

    // Bad input: a code each, nothing stored.
    let bad: &[(Value, u16, &str)] = &[
        (
            json!({"location": [lat, lon], "size": 3, "care": 1}),
            422,
            "swapped_coordinates",
        ),
        (
            json!({"location": [lon], "size": 3, "care": 1}),
            422,
            "bad_location",
        ),
        (
            json!({"location": [lon, lat], "size": 3, "care": 9}),
            422,
            "care_out_of_range",
        ),
        (
            json!({"location": [lon, lat], "size": 0, "care": 1}),
            422,
            "size_out_of_range",
        ),
        (
            json!({"location": [lon, lat], "size": 3, "care": 1, "building": 987_654_321}),
            422,
            "unknown_building",
        ),
        (
            json!({"location": [lon, lat], "size": 3}),
            422,
            "missing_field",
        ),
        (
            json!({"location": [0.5, 0.5], "size": 3, "care": 1}),
            422,
            "outside_regions",
        ),
    ];
    for (b, status, code) in bad {
        let (st, _, _, p) = call(s, "POST", "/api/households", office, None, Some(b));
        assert_eq!((st, p["code"].as_str()), (*status, Some(*code)), "{b}: {p}");
    }
    let (st, _, _, p) = call(s, "POST", "/api/households", other, None, Some(&body));
    assert_eq!((st, p["code"].as_str()), (403, Some("out_of_scope")), "{p}");
    let (st, _, _, p) = call(s, "POST", "/api/households", planner, None, Some(&body));
    assert_eq!(
        (st, p["code"].as_str()),
        (403, Some("role_forbidden")),
        "{p}"
    );
    assert_eq!(last_seq(s), seq0 + 1, "nothing logged");
    assert_eq!(household_count(s, &region), count0 + 1, "nothing stored");

    // Update needs If-Match: 428 without, 412 stale; two offices with one
    // ETag: one wins, the other sees the current record.
    let path = format!("/api/households/{new_id}");
    let patch = json!({"size": 5});
    let (st, _, _, p) = call(s, "PATCH", &path, office, None, Some(&patch));
    assert_eq!(
        (st, p["code"].as_str()),
        (428, Some("precondition_required")),
        "{p}"
    );
    let (st, tag2, _, p) = call(s, "PATCH", &path, office, Some(&new_tag), Some(&patch));
    assert_eq!(st, 200, "{p}");
    assert_eq!(p["properties"]["size"], 5);
    assert_ne!(tag2, new_tag);
    let (st, _, _, p) = call(
        s,
        "PATCH",
        &path,
        office,
        Some(&new_tag),
        Some(&json!({"size": 7})),
    );
    assert_eq!((st, p["code"].as_str()), (412, Some("stale")), "{p}");
    assert_eq!(p["current"]["properties"]["size"], 5, "{p}");
    assert_eq!(p["etag"].as_str(), Some(tag2.as_str()));
    let (st, _, _, p) = call(
        s,
        "PATCH",
        &path,
        office,
        Some(&tag2),
        Some(&json!({"care": -1})),
    );
    assert_eq!(
        (st, p["code"].as_str()),
        (422, Some("care_out_of_range")),
        "{p}"
    );
    // Moving it out of the writer's scope is refused.
    let (st, _, _, p) = call(
        s,
        "PATCH",
        &path,
        office,
        Some(&tag2),
        Some(&json!({"location": [0.5, 0.5]})),
    );
    assert_eq!(
        (st, p["code"].as_str()),
        (422, Some("outside_regions")),
        "{p}"
    );
    // Another street does not see it at all.
    let (st, _, _, _) = call(s, "PATCH", &path, other, Some(&tag2), Some(&patch));
    assert_eq!(st, 404);
    assert_eq!(last_seq(s), seq0 + 2);

    // The audit log has the write, its personal fields not written out.
    let (st, audit, _) = s.get_json("/api/audit?limit=1000");
    assert_eq!(st, 200, "{audit}");
    let text = audit.to_string();
    assert!(
        text.contains("household_write") && text.contains("size: 3 → 5"),
        "{text}"
    );
    assert!(
        !text.contains("台账路"),
        "the address is not in the audit log"
    );

    // Delete: If-Match, 204; gone from views and counts.
    let (st, _, _, _) = call(s, "DELETE", &path, office, None, None);
    assert_eq!(st, 428);
    let (st, _, _, _) = call(s, "DELETE", &path, office, Some(&tag2), None);
    assert_eq!(st, 204);
    let (st, _, _) = s.get_json(&format!("/api/layers/households/{new_id}"));
    assert_eq!(st, 404);
    assert_eq!(household_count(s, &region), count0);
    let (_, log, _) = s.get_json(&format!("/api/changes?since={seq0}"));
    let ops: Vec<&str> = log["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["op"].as_str().unwrap())
        .collect();
    assert_eq!(ops, ["create", "update", "delete"]);
    let seqs: Vec<i64> = log["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, [seq0 + 1, seq0 + 2, seq0 + 3], "no gap");
    // The other street sees none of these changes.
    let (st, b, _) = s.get_as(&format!("/api/changes?since={seq0}"), Some(other));
    assert_eq!(st, 200);
    assert_eq!(b["changes"].as_array().unwrap().len(), 0, "{b}");
    let _ = h;
}

fn dist(a: (f64, f64), b: (f64, f64)) -> f64 {
    (a.0 - b.0).hypot(a.1 - b.1)
}

/// The zoom-16 household tile holding a lon/lat.
fn tile_path(lon: f64, lat: f64) -> String {
    let z = 16u8;
    let n = f64::from(1u32 << z);
    let r = lat.to_radians();
    let y = (1.0 - (r.tan() + 1.0 / r.cos()).ln() / std::f64::consts::PI) / 2.0 * n;
    let x = (lon + 180.0) / 360.0 * n;
    format!("/tiles/households/{z}/{}/{}.mvt", x as u32, y as u32)
}

/// Runs `journey(server, office, office of another street, planner)` on a
/// generated city in a GeoPackage.
pub(crate) fn on_a_geopackage(journey: fn(&Server, &str, &str, &str)) {
    let dir = tempfile::tempdir().unwrap();
    let store = generated(dir.path(), "3000", "7");
    let (street, other) = streets(&store.to_string_lossy());
    let office = user_with_token(&store, "office1", "office", &street);
    let other = user_with_token(&store, "office2", "office", &other);
    let planner = user_with_token(&store, "planner1", "planner", "*");
    let s = Server::start(&store, &[]);
    journey(&s, &office, &other, &planner);
}

/// [`on_a_geopackage`] on a fresh PostGIS database (`tag` names it).
pub(crate) fn on_postgis(tag: &str, journey: fn(&Server, &str, &str, &str)) {
    let dir = tempfile::tempdir().unwrap();
    let a = generated(dir.path(), "3000", "7");
    let a = a.to_str().unwrap();
    let (street, other) = streets(a);
    let url = fresh_url(tag);
    let (ok, out, err) = wangge(&["copy", "--from", a, "--to", &url, "--quiet"]);
    assert!(ok, "copy: {out}{err}");
    let admin = user_with_token_in(&url, "admin1", "admin", "*");
    let office = user_with_token_in(&url, "office1", "office", &street);
    let other = user_with_token_in(&url, "office2", "office", &other);
    let planner = user_with_token_in(&url, "planner1", "planner", "*");
    let s = Server::start_with(&["--database", &url], admin);
    journey(&s, &office, &other, &planner);
}

#[test]
fn an_office_keeps_the_ledger_on_a_geopackage() {
    on_a_geopackage(journey);
}

#[test]
fn an_office_keeps_the_ledger_on_postgis() {
    on_postgis("ledger", journey);
}

/// The street of the store's first household, and another street.
pub(crate) fn streets(store: &str) -> (String, String) {
    let s = wangge::store::open(store).unwrap();
    let d = s.load().unwrap();
    let first = d.households.iter().min_by_key(|h| h.id).unwrap();
    let street = first.region.unwrap().to_string()[..9].to_string();
    let other = d
        .regions
        .iter()
        .map(|r| r.code.to_string()[..9].to_string())
        .find(|c| *c != street && !c.ends_with("000"))
        .unwrap_or_else(|| "999999999".into());
    (street, other)
}

pub(crate) fn fresh_url(tag: &str) -> String {
    let base = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}schema=e2e_{tag}_{}_{nanos}", std::process::id())
}

/// Writes records of `layer` (households or people) from four threads
/// until the server dies; returns the acknowledged (id, ETag seq).
fn write_until_killed(s: &Server, token: &str, at: (f64, f64), layer: &str) -> Vec<(i64, i64)> {
    let (lon, lat) = at;
    let path = format!("/api/{layer}");
    let acked = std::sync::Mutex::new(Vec::new());
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|t| {
        for w in 0..4 {
            let (acked, stop, path) = (&acked, &stop, &path);
            t.spawn(move || {
                let mut i = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let body = if layer == "people" {
                        json!({"location": [lon, lat], "roles": ["part_time_worker"], "name": format!("写入{w}-{i}")})
                    } else {
                        json!({"location": [lon, lat], "size": 1 + (i % 5), "care": i % 3, "address": format!("写入{w}-{i}")})
                    };
                    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        call(s, "POST", &path, token, None, Some(&body))
                    }));
                    match r {
                        Ok((201, etag, _, b)) => {
                            let seq = etag.trim_matches('"').rsplit('-').next().unwrap().parse().unwrap();
                            acked.lock().unwrap().push((b["id"].as_i64().unwrap(), seq));
                        }
                        Ok((st, _, _, b)) => panic!("write refused: {st} {b}"),
                        Err(_) => break, // the server is gone
                    }
                    i += 1;
                }
            });
        }
        std::thread::sleep(std::time::Duration::from_millis(1500));
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
    });
    acked.into_inner().unwrap()
}

/// kill -9 while four writers write; after a restart every acknowledged
/// write is there with its change row and audit line, and the change log
/// has no gap.
pub(crate) fn survives_kill_9(start: &dyn Fn() -> Server, layer: &str) {
    let mut s = start();
    let (_, page, _) = s.get_json("/api/layers/households?limit=1");
    let at = &page["features"][0]["geometry"]["coordinates"];
    let (lon, lat) = (at[0].as_f64().unwrap(), at[1].as_f64().unwrap());
    let seq0 = last_seq(&s);
    let token = s.token.clone();
    let acked = std::thread::scope(|t| {
        let w = t.spawn(|| write_until_killed(&s, &token, (lon, lat), layer));
        std::thread::sleep(std::time::Duration::from_millis(800));
        // A loaded machine writes slowly: kill once a few are in.
        let by = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while last_seq(&s) < seq0 + 6 && std::time::Instant::now() < by {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        // std's kill is SIGKILL on Unix: no shutdown, no flush.
        let _ = std::process::Command::new("kill")
            .args(["-9", &s.child.id().to_string()])
            .status();
        w.join().unwrap()
    });
    let _ = s.child.wait();
    assert!(
        acked.len() >= 5,
        "only {} writes before the kill",
        acked.len()
    );
    let s = start();
    let (st, log, _) = s.get_json(&format!("/api/changes?since={seq0}&limit=1000"));
    assert_eq!(st, 200, "{log}");
    let seqs: Vec<i64> = log["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["seq"].as_i64().unwrap())
        .collect();
    let want: Vec<i64> = (seq0 + 1..=seq0 + seqs.len() as i64).collect();
    assert_eq!(seqs, want, "no gap in the change log");
    let (_, audit, _) = s.get_json("/api/audit?limit=100000");
    let audit = audit.to_string();
    for (id, seq) in &acked {
        assert!(seqs.contains(seq), "acknowledged change {seq} is logged");
        let (st, _, _) = s.get_json(&format!("/api/layers/{layer}/{id}"));
        assert_eq!(st, 200, "acknowledged {layer} {id} is stored");
        assert!(
            audit.contains(&format!("create {layer} {id} (change {seq})")),
            "acknowledged write {seq} has its audit line"
        );
    }
}

#[test]
fn acknowledged_writes_survive_kill_9_on_a_geopackage() {
    let dir = tempfile::tempdir().unwrap();
    let store = generated(dir.path(), "2000", "3");
    let token = user_with_token(&store, "admin1", "admin", "*");
    let spec = store.to_str().unwrap().to_string();
    survives_kill_9(
        &|| Server::start_with(&["--store", &spec], token.clone()),
        "households",
    );
}

#[test]
fn acknowledged_writes_survive_kill_9_on_postgis() {
    let dir = tempfile::tempdir().unwrap();
    let a = generated(dir.path(), "2000", "3");
    let url = fresh_url("ledger_kill");
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
        "households",
    );
}
