//! Issue 18, items 5 and 7: an audit log no flood can grow and no crash can
//! lose (floods fold per key and window), and sign-in nobody can be locked
//! out of; on the real binary, GeoPackage and PostGIS.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{imported, user_with_token, user_with_token_in, wangge, wangge_bin, Server};

const REGIONS: &str = r#"{"type":"FeatureCollection","features":[
 {"type":"Feature","properties":{"code":"110101001","name":"=1+2河畔街道"},
  "geometry":{"type":"Polygon","coordinates":[[[116.40,39.90],[116.42,39.90],[116.42,39.92],[116.40,39.92],[116.40,39.90]]]}}]}"#;

const PEOPLE: &str = "id,name,phone,lon,lat,roles,team,skills,available,reserve\n\
1,北岸甲,13900000001,116.401,39.914,volunteer,一队,急救,1,1\n\
2,南岸乙,13900000002,116.413,39.906,volunteer,一队,驾驶,1,1\n";

/// Households whose imported names are spreadsheet formulas.
const HOUSEHOLDS: &str = "id,lon,lat,size,care,address,name,phone\n\
11,116.4125,39.9058,1,连心户,@SUM(1+1),=HYPERLINK(\"http://x\"),13800000011\n\
12,116.4130,39.9059,2,关心户,-1+2,=cmd|'/C calc'!A0,+8613800000012\n";

/// A small street with two volunteers and two vulnerable households.
pub fn city(dir: &Path) -> PathBuf {
    imported(
        dir,
        "audit.gpkg",
        &[
            ("r.geojson", REGIONS, "regions"),
            ("p.csv", PEOPLE, "people"),
            ("h.csv", HOUSEHOLDS, "households"),
        ],
    )
}

/// Any request: (status, headers as "name: value" lines, body).
pub fn call(
    s: &Server,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> (u16, String, String) {
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent();
    let uri = s.url(path);
    let mut req = ureq::http::Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req.body(body.unwrap_or("").to_string()).unwrap();
    let resp = agent.run(req).expect("request sent");
    let status = resp.status().as_u16();
    let mut head = String::new();
    for (k, v) in resp.headers() {
        head.push_str(&[k.as_str(), ": ", v.to_str().unwrap_or(""), "\n"].concat());
    }
    let text = resp.into_body().read_to_string().unwrap_or_default();
    (status, head, text)
}

/// Stops the server with SIGTERM and waits: it flushes its audit lines.
fn stop(mut s: Server) {
    let pid = s.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let deadline = Instant::now() + Duration::from_secs(30);
    while s.child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the server did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs `f` from `threads` threads for `secs`; the statuses it returned.
fn hammer(threads: usize, secs: f64, f: &(dyn Fn(&ureq::Agent) -> u16 + Sync)) -> Vec<u16> {
    let until = Instant::now() + Duration::from_secs_f64(secs);
    std::thread::scope(|sc| {
        let hs: Vec<_> = (0..threads)
            .map(|_| {
                sc.spawn(move || {
                    let agent = ureq::Agent::config_builder()
                        .http_status_as_error(false)
                        .build()
                        .new_agent();
                    let mut out = Vec::new();
                    while Instant::now() < until {
                        out.push(f(&agent));
                    }
                    out
                })
            })
            .collect();
        hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
    })
}

/// Events a folded audit line stands for (`N from A to B...`), else one.
fn events(e: &wangge::access::account::AuditEntry) -> u64 {
    e.detail
        .split_once(" from ")
        .and_then(|(n, _)| n.parse().ok())
        .unwrap_or(1)
}

fn bytes_on_disk(store: &Path) -> u64 {
    let mut n = std::fs::metadata(store).unwrap().len();
    for ext in ["-journal", "-wal"] {
        let mut p = store.as_os_str().to_owned();
        p.push(ext);
        n += std::fs::metadata(PathBuf::from(p)).map_or(0, |m| m.len());
    }
    n
}

/// A URL of a fresh schema in the test database.
fn pg_url(tag: &str) -> String {
    let base = pg_base();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{base}?schema=e2e_{tag}_{}_{nanos}", std::process::id())
}

fn pg_base() -> String {
    let base = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    base.split('?').next().unwrap().to_string()
}

fn psql(sql: &str) -> String {
    let out = Command::new("psql")
        .args([&pg_base(), "-Atc", sql])
        .output()
        .expect("psql is installed");
    assert!(
        out.status.success(),
        "{sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn schema_of(url: &str) -> &str {
    url.split("schema=").nth(1).unwrap()
}

/// Floods `server` with bogus tokens on a 6 KB path from 4 threads for
/// `secs`; returns how many 401s it got.
fn bogus_flood(server: &Server, secs: f64) -> u64 {
    let path = format!("/api/{}", "x".repeat(6000));
    let url = server.url(&path);
    let statuses = hammer(4, secs, &|a: &ureq::Agent| {
        a.get(&url)
            .header("Authorization", "Bearer wgt_bogus_token_of_an_attacker")
            .call()
            .map_or(0, |r| r.status().as_u16())
    });
    assert!(statuses.iter().all(|s| *s == 401), "only 401s");
    statuses.len() as u64
}

fn check_folded(log: &[wangge::access::account::AuditEntry], sent: u64, secs: f64, window: f64) {
    let failed: Vec<_> = log.iter().filter(|e| e.action == "auth_failed").collect();
    let counted: u64 = failed.iter().map(|e| events(e)).sum();
    assert_eq!(counted, sent, "every failure counted, none lost");
    let most = (secs / window).ceil() as usize + 2;
    assert!(
        failed.len() <= most,
        "{} lines for one address in {secs} s (window {window} s)",
        failed.len()
    );
    assert!(
        failed.iter().all(|e| e.target.chars().count() <= 201),
        "paths cut"
    );
}

#[test]
fn a_bogus_token_flood_grows_the_store_by_at_most_a_megabyte() {
    let (secs, window) = (6.0, 2.0);
    let dir = tempfile::tempdir().unwrap();
    let store = city(dir.path());
    // The PostGIS copy is made first, so it holds no line of this flood.
    let url = pg_url("flood");
    let (ok, out, err) = wangge(&[
        "copy",
        "--from",
        store.to_str().unwrap(),
        "--to",
        &url,
        "--quiet",
    ]);
    assert!(ok, "{out}{err}");
    let server = Server::start(&store, &["--audit-window-secs", "2"]);
    std::thread::sleep(Duration::from_millis(300));
    let before = bytes_on_disk(&store);
    let started = Instant::now();
    let sent = bogus_flood(&server, secs);
    let rate = sent as f64 / started.elapsed().as_secs_f64();
    stop(server);
    let grown = bytes_on_disk(&store).saturating_sub(before);
    eprintln!("bogus-token flood (GeoPackage): {sent} requests, {rate:.0}/s, store +{grown} bytes");
    assert!(sent > 1000, "the flood ran at speed: {sent}");
    assert!(grown <= 1 << 20, "store grew {grown} bytes");
    let s = wangge::store::open(store.to_str().unwrap()).unwrap();
    check_folded(
        &s.audit_log(None, None, usize::MAX).unwrap(),
        sent,
        secs,
        window,
    );

    // PostGIS: the audit table's size.
    let token = user_with_token_in(&url, "flood-admin", "admin", "*");
    let server = Server::start_with(&["--database", &url, "--audit-window-secs", "2"], token);
    let table = format!("{}.wangge_audit", schema_of(&url));
    let size = || -> u64 {
        psql(&format!("SELECT pg_total_relation_size('{table}')"))
            .parse()
            .unwrap()
    };
    let before = size();
    let sent = bogus_flood(&server, secs);
    stop(server);
    let grown = size().saturating_sub(before);
    eprintln!("bogus-token flood (PostGIS): {sent} requests, audit table +{grown} bytes");
    assert!(grown <= 1 << 20, "audit table grew {grown} bytes");
    let s = wangge::store::open(&url).unwrap();
    let log: Vec<_> = s
        .audit_log(None, None, usize::MAX)
        .unwrap()
        .into_iter()
        .filter(|e| e.detail.contains("unknown API token"))
        .collect();
    check_folded(&log, sent, secs, window);
    psql(&format!("DROP SCHEMA {} CASCADE", schema_of(&url)));
}

#[test]
fn nearest_load_writes_one_read_line_per_caller_route_and_window() {
    let (secs, window) = (8.0, 2.0);
    let dir = tempfile::tempdir().unwrap();
    let store = city(dir.path());
    let token = user_with_token(&store, "responder", "emergency", "110101");
    let server = Server::start(&store, &["--audit-window-secs", "2"]);
    let url = server.url("/api/emergency/nearest?lon=116.41&lat=39.91&k=2&by=line");
    let auth = format!("Bearer {token}");
    let statuses = hammer(3, secs, &|a: &ureq::Agent| {
        a.get(&url)
            .header("Authorization", &auth)
            .call()
            .map_or(0, |r| r.status().as_u16())
    });
    let ok = statuses.iter().filter(|s| **s == 200).count() as u64;
    assert_eq!(ok, statuses.len() as u64, "every read answered");
    stop(server);
    let s = wangge::store::open(store.to_str().unwrap()).unwrap();
    let reads: Vec<_> = s
        .audit_log(Some("responder"), None, usize::MAX)
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "read_personal" && e.target == "emergency/nearest")
        .collect();
    eprintln!(
        "nearest load: {ok} reads in {secs} s, {} audit lines",
        reads.len()
    );
    assert!(ok > 100, "the load ran: {ok}");
    let most = (secs / window).ceil() as usize + 2;
    assert!(reads.len() <= most, "{} lines, at most {most}", reads.len());
    assert_eq!(
        reads.iter().map(events).sum::<u64>(),
        ok,
        "every read counted"
    );
}

fn add_user(store: &Path, name: &str, password: &str) {
    let mut child = Command::new(wangge_bin())
        .args([
            "user",
            "add",
            name,
            "--role",
            "office",
            "--scope",
            "110101",
            "--password-stdin",
            "--store",
        ])
        .arg(store)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    assert!(child.wait().unwrap().success());
}

fn login(s: &Server, name: &str, password: &str, cookie: Option<&str>) -> (u16, String, String) {
    let body = serde_json::json!({ "name": name, "password": password }).to_string();
    let mut h = vec![("Content-Type", "application/json")];
    if let Some(c) = cookie {
        h.push(("Cookie", c));
    }
    call(s, "POST", "/api/login", &h, Some(&body))
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(": ")?;
        k.eq_ignore_ascii_case(name).then_some(v)
    })
}

#[test]
fn wrong_passwords_and_planted_cookies_lock_nobody_out() {
    let dir = tempfile::tempdir().unwrap();
    let store = city(dir.path());
    add_user(&store, "li", "li's correct password");
    add_user(&store, "wang", "wang's correct password");
    let server = Server::start(&store, &[]);
    // Five wrong passwords for li from this address...
    for _ in 0..5 {
        let (status, _, body) = login(&server, "li", "a wrong password", None);
        assert!(status == 401 || status == 429, "{status} {body}");
    }
    // ...do not stop wang's correct login from it,
    let (status, _, body) = login(&server, "wang", "wang's correct password", None);
    assert_eq!(status, 200, "{body}");
    // and li only waits seconds, not a quarter of an hour.
    let (status, head, body) = login(&server, "li", "li's correct password", None);
    if status == 429 {
        let wait: u64 = header(&head, "retry-after").unwrap().parse().unwrap();
        assert!(wait <= 8, "li waits {wait} s: {body}");
        std::thread::sleep(Duration::from_secs(wait));
        let (status, _, body) = login(&server, "li", "li's correct password", None);
        assert_eq!(status, 200, "{body}");
    } else {
        assert_eq!(status, 200, "{body}");
    }

    // A planted or stale session cookie never stops a login...
    let planted = "wangge_session=wgs_planted_by_someone_else";
    let (status, head, body) = login(&server, "wang", "wang's correct password", Some(planted));
    assert_eq!(status, 200, "{body}");
    let fresh = header(&head, "set-cookie").unwrap();
    assert!(
        fresh.starts_with("wangge_session=wgs_") && !fresh.contains("Max-Age=0"),
        "{fresh}"
    );
    // ...and a 401 it causes clears it.
    let (status, head, body) = call(&server, "GET", "/api/me", &[("Cookie", planted)], None);
    assert_eq!(status, 401, "{body}");
    let cleared = header(&head, "set-cookie").unwrap_or_default();
    assert!(
        cleared.starts_with("wangge_session=;") && cleared.contains("Max-Age=0"),
        "{head}"
    );
}

/// The server reaches PostGIS as a role of its own, which the test then
/// locks out (NOLOGIN, its connections terminated): authentication must
/// answer 503 with Retry-After, not 401, and audit no failed login.
#[test]
fn a_store_outage_during_authentication_answers_503() {
    let dir = tempfile::tempdir().unwrap();
    let store = city(dir.path());
    let role = format!("e2e_outage_{}", std::process::id());
    psql(&format!("DROP ROLE IF EXISTS {role}"));
    psql(&format!("CREATE ROLE {role} LOGIN"));
    psql(&format!("GRANT CREATE ON DATABASE test TO {role}"));
    let base = pg_base().replacen("postgres@", &format!("{role}@"), 1);
    let schema = format!("e2e_outage_{}", std::process::id());
    let url = format!("{base}?schema={schema}");
    let (ok, out, err) = wangge(&[
        "copy",
        "--from",
        store.to_str().unwrap(),
        "--to",
        &url,
        "--quiet",
    ]);
    assert!(ok, "{out}{err}");
    let token = user_with_token_in(&url, "outage-admin", "admin", "*");
    let other = user_with_token_in(&url, "outage-office", "office", "110101");
    let server = Server::start_with(&["--database", &url], token.clone());
    assert_eq!(server.get_as("/api/me", Some(&other)).0, 200);

    psql(&format!("ALTER ROLE {role} NOLOGIN"));
    psql(&format!(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = '{role}'"
    ));
    std::thread::sleep(Duration::from_millis(2500)); // past the credential cache
    for t in [other.as_str(), "wgt_unknown_token"] {
        let (status, head, body) = call(
            &server,
            "GET",
            "/api/me",
            &[("Authorization", &format!("Bearer {t}"))],
            None,
        );
        assert_eq!(status, 503, "{body}");
        assert!(header(&head, "retry-after").is_some(), "{head}");
        assert!(header(&head, "content-type")
            .unwrap()
            .starts_with("application/problem+json"));
        assert!(body.contains("unreachable"), "{body}");
    }
    psql(&format!("ALTER ROLE {role} LOGIN"));
    // Back: the same token works again, and no failed login was audited.
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.get_as("/api/me", Some(&other)).0 != 200 {
        assert!(Instant::now() < deadline, "the server did not recover");
        std::thread::sleep(Duration::from_millis(200));
    }
    stop(server);
    let s = wangge::store::open(&url).unwrap();
    let failed: Vec<_> = s
        .audit_log(None, None, usize::MAX)
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "auth_failed")
        .collect();
    assert!(failed.is_empty(), "{failed:?}");
    drop(s);
    psql(&format!("DROP SCHEMA {schema} CASCADE"));
    psql(&format!("REVOKE CREATE ON DATABASE test FROM {role}"));
    psql(&format!("DROP ROLE {role}"));
}

#[test]
fn archives_chain_and_the_cli_verifies_them() {
    let dir = tempfile::tempdir().unwrap();
    let store = city(dir.path());
    let s = store.to_str().unwrap();
    let _ = user_with_token(&store, "old-user", "viewer", "110101");
    let one = dir.path().join("one.jsonl");
    let two = dir.path().join("two.jsonl");
    // A date that is not one: refused with what was wrong, no file written,
    // nothing pruned.
    let (ok, out, err) = wangge(&[
        "audit",
        "archive",
        "--before",
        "last tuesday",
        "--out",
        one.to_str().unwrap(),
        "--store",
        s,
    ]);
    assert!(!ok && err.contains("last tuesday"), "{out}{err}");
    assert!(!one.exists(), "no archive file after a refusal");
    let (_, out, _) = wangge(&["audit", "--store", s]);
    assert!(!out.trim().is_empty(), "nothing pruned after a refusal");
    let (ok, out, err) = wangge(&[
        "audit",
        "archive",
        "--before",
        "2999-01-01",
        "--out",
        one.to_str().unwrap(),
        "--store",
        s,
    ]);
    assert!(ok && out.contains("archived"), "{out}{err}");
    let (ok, out, _) = wangge(&["audit", "--store", s]);
    assert!(ok && out.trim().is_empty(), "pruned: {out}");
    let _ = user_with_token(&store, "new-user", "viewer", "110101");
    let (ok, out, err) = wangge(&[
        "audit",
        "archive",
        "--older-than-days",
        "0",
        "--out",
        two.to_str().unwrap(),
        "--store",
        s,
    ]);
    assert!(ok, "{out}{err}");
    let (ok, out, err) = wangge(&[
        "audit",
        "verify",
        one.to_str().unwrap(),
        two.to_str().unwrap(),
    ]);
    assert!(
        ok && out.contains("starts the chain") && out.contains("continues"),
        "{out}{err}"
    );
    // Out of order, or tampered with: refused, naming the line.
    let (ok, _, err) = wangge(&[
        "audit",
        "verify",
        two.to_str().unwrap(),
        one.to_str().unwrap(),
    ]);
    assert!(!ok && err.contains("broken"), "{err}");
    let text = std::fs::read_to_string(&one)
        .unwrap()
        .replacen("old-user", "someone", 1);
    std::fs::write(&one, text).unwrap();
    let (ok, _, err) = wangge(&["audit", "verify", one.to_str().unwrap()]);
    assert!(!ok && err.contains("line"), "{err}");
    // The store knows where its chain ends: a tampered last line is caught.
    let text = std::fs::read_to_string(&two)
        .unwrap()
        .replacen("new-user", "nobody!!", 1);
    std::fs::write(&two, text).unwrap();
    let (ok, out, err) = wangge(&["audit", "verify", two.to_str().unwrap(), "--store", s]);
    assert!(!ok, "{out}{err}");
}
