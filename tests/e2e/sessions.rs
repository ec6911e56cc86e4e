//! Sign-in over real HTTP: login sessions, API tokens and CSRF, every way
//! to fail authentication audited, and the login rate limit under
//! concurrent attempts.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::access::{audit_eventually, IN};
use crate::common::{user_with_token, wangge, wangge_bin, Server};
use crate::http_api::fixture;

/// Failed authentications the printed audit log counts: a folded line
/// says how many (`N from FIRST to LAST; first: why`), others are one.
fn auth_failures(log: &str) -> u64 {
    log.lines()
        .filter(|l| l.contains("auth_failed"))
        .map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            words
                .windows(2)
                .find(|w| w[1] == "from" && w[0].parse::<u64>().is_ok())
                .map_or(1, |w| w[0].parse().unwrap())
        })
        .sum()
}

/// POST /api/login; returns (status, body, Set-Cookie).
fn login(s: &Server, name: &str, password: &str) -> (u16, Value, Option<String>) {
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent();
    let resp = agent
        .post(&s.url("/api/login"))
        .header("Content-Type", "application/json")
        .send(serde_json::json!({ "name": name, "password": password }).to_string())
        .unwrap();
    let status = resp.status().as_u16();
    let cookie = resp
        .headers()
        .get("set-cookie")
        .map(|v| v.to_str().unwrap().to_string());
    let text = resp.into_body().read_to_string().unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::Null),
        cookie,
    )
}

fn with_cookie(s: &Server, method: &str, path: &str, cookie: &str, csrf: Option<&str>) -> u16 {
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent();
    let resp = if method == "GET" {
        agent.get(&s.url(path)).header("Cookie", cookie).call()
    } else {
        let mut r = agent.post(&s.url(path)).header("Cookie", cookie);
        if let Some(c) = csrf {
            r = r.header("X-CSRF-Token", c);
        }
        r.send("")
    };
    resp.unwrap().status().as_u16()
}

#[test]
fn sessions_tokens_csrf_and_every_failure_audited() {
    let dir = tempfile::tempdir().unwrap();
    let store = fixture(dir.path());
    let s = store.to_str().unwrap();
    let mut child = Command::new(wangge_bin())
        .args([
            "user",
            "add",
            "zhang",
            "--role",
            "office",
            "--scope",
            IN,
            "--password-stdin",
            "--store",
            s,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"correct horse battery\n")
        .unwrap();
    assert!(child.wait().unwrap().success());
    // Default and short passwords are refused.
    let mut child = Command::new(wangge_bin())
        .args([
            "user",
            "add",
            "weak",
            "--role",
            "viewer",
            "--scope",
            IN,
            "--password-stdin",
            "--store",
            s,
        ])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"admin123\n")
        .unwrap();
    assert!(!child.wait().unwrap().success());

    let expired = {
        let (ok, out, err) = wangge(&[
            "user", "add", "old", "--role", "viewer", "--scope", IN, "--store", s,
        ]);
        assert!(ok, "{err}");
        let _ = out;
        let (ok, out, _) = wangge(&["token", "create", "old", "--days=-1", "--store", s]);
        assert!(ok);
        out.lines().last().unwrap().to_string()
    };
    let revoked = user_with_token(&store, "gone", "viewer", IN);
    let (ok, out, _) = wangge(&["token", "list", "gone", "--store", s]);
    let id = out.split_whitespace().next().unwrap().to_string();
    assert!(ok && wangge(&["token", "revoke", &id, "--store", s]).0);
    // Failed authentications fold into one line per address and window.
    let server = Server::start(&store, &["--audit-window-secs", "1"]);

    assert_eq!(login(&server, "zhang", "wrong password!").0, 401);
    assert_eq!(login(&server, "nobody", "whatever at all").0, 401);
    let (status, body, cookie) = login(&server, "zhang", "correct horse battery");
    assert_eq!(status, 200, "{body}");
    let cookie = cookie.unwrap();
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age="] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    let pair = cookie.split(';').next().unwrap().to_string();
    let csrf = body["csrf"].as_str().unwrap().to_string();
    assert_eq!(with_cookie(&server, "GET", "/api/me", &pair, None), 200);
    assert_eq!(
        with_cookie(
            &server,
            "GET",
            "/api/me",
            "wangge_session=wgs_tampered",
            None
        ),
        401
    );
    assert_eq!(
        with_cookie(&server, "POST", "/api/logout", &pair, None),
        403,
        "a cookie write without CSRF"
    );
    assert_eq!(
        with_cookie(&server, "POST", "/api/logout", &pair, Some(&csrf)),
        200
    );
    assert_eq!(
        with_cookie(&server, "GET", "/api/me", &pair, None),
        401,
        "the session ended"
    );
    let (status, v, _) = server.get_as("/api/me", Some(&expired));
    assert!(
        status == 401 && v["detail"].as_str().unwrap().contains("expired"),
        "{v}"
    );
    let (status, v, _) = server.get_as("/api/me", Some(&revoked));
    assert!(
        status == 401 && v["detail"].as_str().unwrap().contains("revoked"),
        "{v}"
    );
    let (status, _, _) = server.get_as("/api/me", Some("wgt_0000"));
    assert_eq!(status, 401);

    let log = audit_eventually(&store, &[], |l| {
        l.contains("logout") && auth_failures(l) >= 4
    });
    for needle in [
        "login_failed",
        "zhang",
        "nobody",
        "auth_failed",
        "login ",
        "logout",
    ] {
        assert!(log.contains(needle), "audit log lacks {needle:?}:\n{log}");
    }
    let failures = auth_failures(&log);
    assert!(
        failures >= 4,
        "tampered cookie, expired, revoked, unknown token: {failures}\n{log}"
    );

    // Security headers on every answer; no CORS.
    let resp = ureq::get(&server.url("/health")).call().unwrap();
    let h = resp.headers();
    assert!(h
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap()
        .contains("default-src 'self'"));
    assert_eq!(h.get("x-frame-options").unwrap(), "DENY");
    assert!(h.get("access-control-allow-origin").is_none());
}

#[test]
fn login_rate_limit_holds_under_64_concurrent_attempts() {
    let dir = tempfile::tempdir().unwrap();
    let store = fixture(dir.path());
    assert!(
        wangge(&[
            "user",
            "add",
            "target",
            "--role",
            "viewer",
            "--scope",
            IN,
            "--store",
            store.to_str().unwrap()
        ])
        .0
    );
    let server = Server::start(&store, &[]);
    let statuses: Vec<u16> = std::thread::scope(|sc| {
        let hs: Vec<_> = (0..64)
            .map(|i| {
                let server = &server;
                sc.spawn(move || login(server, "target", &format!("guess number {i}")).0)
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let tried = statuses.iter().filter(|s| **s == 401).count();
    let throttled = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(tried + throttled, 64, "{statuses:?}");
    assert!(
        tried <= 5,
        "{tried} password guesses got through the limit of 5"
    );
}
