//! Edits that survive a crash (issue 19): kill -9 during a stream of
//! saves, or right after a 201, on either store; every acknowledged
//! version is there with its audit line and grid shapes.

use serde_json::Value;

use crate::common::{partitioned_city, wangge, Server};
use crate::edits::post;

/// Saves in a loop on `server` until it is killed; the versions it
/// acknowledged (201), in order.
fn save_until_killed(
    base: &str,
    token: &str,
    plan: i64,
    count: &std::sync::atomic::AtomicUsize,
) -> Vec<i64> {
    let mut acked = Vec::new();
    let mut head = plan;
    loop {
        let body =
            format!(r#"{{"edit":{{"op":"restore","version":{plan}}},"message":"durability"}}"#);
        let resp = ureq::post(&format!("{base}/api/plans/{head}/edits"))
            .header("Authorization", &format!("Bearer {token}"))
            .header("Content-Type", "application/json")
            .header("If-Match", &format!("\"plan-{head}\""))
            .config()
            .http_status_as_error(false)
            .build()
            .send(body.as_str());
        let Ok(resp) = resp else { return acked };
        if resp.status().as_u16() != 201 {
            return acked;
        }
        let v: Value = serde_json::from_str(&resp.into_body().read_to_string().unwrap()).unwrap();
        head = v["version"]["id"].as_i64().unwrap();
        acked.push(head);
        count.store(acked.len(), std::sync::atomic::Ordering::SeqCst);
    }
}

/// `kill -9` while saves are in flight: every acknowledged version is
/// there after a restart, every stored version is whole (it loads and is
/// evaluated), numbers have no gap, and the service saves again.
fn kill_during_saves(
    serve: &[&str],
    token: String,
    open: &dyn Fn() -> std::sync::Arc<dyn wangge::store::Backend>,
) {
    let d = open().load().unwrap();
    let plan = d
        .plans
        .iter()
        .max_by_key(|p| p.atoms.len())
        .unwrap()
        .clone();
    let region = plan.version.region;
    let s = Server::start_with(serve, token.clone());
    let (base, tok) = (s.base.clone(), token.clone());
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = count.clone();
    let saver = std::thread::spawn(move || save_until_killed(&base, &tok, plan.version.id, &seen));
    // A few saves acknowledged (however slow the machine), then the kill
    // lands while the next is in flight.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while count.load(std::sync::atomic::Ordering::SeqCst) < 3
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    std::thread::sleep(std::time::Duration::from_millis(5));
    // SIGKILL: no shutdown, no flush.
    let pid = s.child.id().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-9", &pid])
        .status()
        .unwrap()
        .success());
    let acked = saver.join().unwrap();
    drop(s);
    assert!(acked.len() >= 2, "too few saves before the kill: {acked:?}");

    let store = open();
    let versions = store.plan_versions(region).unwrap();
    let ids: Vec<i64> = versions.iter().map(|v| v.id).collect();
    for a in &acked {
        assert!(ids.contains(a), "acknowledged version {a} lost: {ids:?}");
    }
    let numbers: Vec<u32> = versions.iter().map(|v| v.number).collect();
    assert_eq!(numbers, (1..=numbers.len() as u32).collect::<Vec<_>>());
    // Each save wrote its audit line in its own transaction: every version
    // made by the saver (acknowledged or not) has exactly one.
    let log = store.audit_log(None, None, usize::MAX).unwrap();
    for id in ids.iter().filter(|i| **i > plan.version.id) {
        let needle = format!("saved as plan {id} (");
        let lines = log
            .iter()
            .filter(|e| e.action == "plan_edit" && e.detail.contains(&needle))
            .count();
        assert_eq!(
            lines,
            1,
            "audit line of the save of plan {id} (acknowledged: {}): {lines}",
            acked.contains(id)
        );
    }
    for v in &versions {
        let p = store.plan(v.id).unwrap().unwrap();
        assert_eq!(p.labels.len(), p.atoms.len(), "version {} torn", v.id);
        assert_eq!(
            p.labels, plan.labels,
            "version {} is not what was saved",
            v.id
        );
    }
    drop(store);
    // Served again: the newest version is evaluated and takes a save.
    let s = Server::start_with(serve, token);
    let newest = *ids.last().unwrap();
    let (status, v, _) = s.get_json(&format!("/api/plans/{newest}"));
    assert_eq!(status, 200, "{v}");
    let acked = save_until_killed_once(&s, newest, plan.version.id);
    assert!(acked > newest);
}

fn save_until_killed_once(s: &Server, head: i64, plan: i64) -> i64 {
    let body = format!(r#"{{"edit":{{"op":"restore","version":{plan}}}}}"#);
    let (status, _, v) = post(
        s,
        &format!("/api/plans/{head}/edits"),
        &[("If-Match", &format!("\"plan-{head}\""))],
        &body,
    );
    assert_eq!(status, 201, "{v}");
    v["version"]["id"].as_i64().unwrap()
}

#[test]
fn kill_9_during_saves_loses_nothing_on_either_store() {
    let (_dir, store) = partitioned_city(2500, 4);
    let st = store.to_str().unwrap().to_string();
    let token = crate::common::user_with_token(&store, "kill-admin", "admin", "*");
    let path = st.clone();
    kill_during_saves(&["--store", &st], token, &move || {
        wangge::store::open(&path).unwrap()
    });

    // The same on PostGIS: the city copied into a schema of its own.
    let (url, token) = city_on_postgis("kill", "kill-admin");
    let u = url.clone();
    kill_during_saves(&["--database", &url], token, &move || {
        wangge::store::open(&u).unwrap()
    });
}

/// A partitioned city copied into a PostGIS schema of its own (named
/// after `tag`), with an admin `user`: (store URL, the user's token).
fn city_on_postgis(tag: &str, user: &str) -> (String, String) {
    let base = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let sep = if base.contains('?') { '&' } else { '?' };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let url = format!("{base}{sep}schema=e2e_{tag}_{}_{nanos}", std::process::id());
    let (_dir, fresh) = partitioned_city(2500, 4);
    let (ok, out, err) = wangge(&[
        "copy",
        "--from",
        fresh.to_str().unwrap(),
        "--to",
        &url,
        "--quiet",
    ]);
    assert!(ok, "{out}{err}");
    let token = crate::common::user_with_token_in(&url, user, "admin", "*");
    (url, token)
}

/// `kill -9` right after a 201 from an edit: on restart the store holds
/// the new version, its grid shapes and its one audit line, all written
/// by the save's own transaction, and the server serves the version.
fn kill_after_a_201(
    serve: &[&str],
    token: String,
    open: &dyn Fn() -> std::sync::Arc<dyn wangge::store::Backend>,
) {
    let d = open().load().unwrap();
    let plan = d
        .plans
        .iter()
        .max_by_key(|p| p.atoms.len())
        .unwrap()
        .clone();
    let id = plan.version.id;
    let s = Server::start_with(serve, token.clone());
    let (status, _, v) = post(
        &s,
        &format!("/api/plans/{id}/edits"),
        &[("If-Match", &format!("\"plan-{id}\""))],
        &format!(r#"{{"edit":{{"op":"restore","version":{id}}},"message":"killed after"}}"#),
    );
    assert_eq!(status, 201, "{v}");
    let saved = v["version"]["id"].as_i64().unwrap();
    // SIGKILL at once: no shutdown, no flush of anything queued.
    let pid = s.child.id().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-9", &pid])
        .status()
        .unwrap()
        .success());
    drop(s);

    let store = open();
    let versions = store.plan_versions(plan.version.region).unwrap();
    assert!(
        versions.iter().any(|v| v.id == saved),
        "acknowledged version {saved} lost: {versions:?}"
    );
    // Its grid shapes (the current plan layer) were in the same transaction.
    let shapes = store.plan_grid_shapes(Some(&[saved])).unwrap();
    let of_plan: usize = plan.codes.iter().map(Vec::len).sum();
    assert_eq!(
        shapes.get(&saved).map_or(0, Vec::len),
        of_plan,
        "grid shapes of acknowledged version {saved}"
    );
    let needle = format!("saved as plan {saved} (");
    let log = store.audit_log(None, None, usize::MAX).unwrap();
    let lines: Vec<_> = log
        .iter()
        .filter(|e| e.action == "plan_edit" && e.detail.contains(&needle))
        .collect();
    assert_eq!(lines.len(), 1, "audit line of plan {saved}: {lines:?}");
    assert!(lines[0].detail.contains("killed after"), "{:?}", lines[0]);
    drop(store);
    let s = Server::start_with(serve, token);
    let (status, v, _) = s.get_json(&format!("/api/plans/{saved}"));
    assert_eq!(status, 200, "{v}");
}

#[test]
fn kill_9_right_after_a_201_finds_the_version_and_its_audit_line_on_either_store() {
    let (_dir, store) = partitioned_city(2500, 4);
    let st = store.to_str().unwrap().to_string();
    let token = crate::common::user_with_token(&store, "kill-201-admin", "admin", "*");
    let path = st.clone();
    kill_after_a_201(&["--store", &st], token, &move || {
        wangge::store::open(&path).unwrap()
    });
    let (url, token) = city_on_postgis("kill201", "kill-201-admin");
    let u = url.clone();
    kill_after_a_201(&["--database", &url], token, &move || {
        wangge::store::open(&u).unwrap()
    });
}
