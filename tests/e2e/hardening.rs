//! Issue 18, item 8: each hole the outside probe found, closed, on the real
//! binary: spreadsheet formulas in exports, unbounded free text, times and
//! rings that were not checked, error answers that were not problem
//! documents. (503 on a store outage and HSTS: `audit.rs`, `tls.rs`.)

use std::io::Cursor;

use calamine::Reader;

use crate::audit::{call, city};
use crate::common::{partitioned_city, Server};

type Case<'a> = (
    &'a str,
    &'a str,
    Vec<(&'a str, &'a str)>,
    Option<&'a str>,
    u16,
);

fn is_problem(head: &str, body: &str, status: u16) {
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/problem+json"),
        "{status}: {head}{body}"
    );
    let v: serde_json::Value = serde_json::from_str(body).expect("a JSON problem");
    assert_eq!(v["status"], status, "{body}");
    assert!(
        v["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{body}"
    );
}

#[test]
fn exported_cells_never_run_as_formulas() {
    let dir = tempfile::tempdir().unwrap();
    let store = city(dir.path());
    let s = Server::start(&store, &[]);
    let auth = s.bearer();
    let h = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/json"),
    ];
    let body =
        r#"{"circle":{"lon":116.413,"lat":39.906,"radius_m":800},"format":"csv","min_care":0}"#;
    let (status, _, csv) = call(&s, "POST", "/api/emergency/plan", &h, Some(body));
    assert_eq!(status, 200, "{csv}");
    for bad in ["=HYPERLINK", "=cmd|", "@SUM(1+1)", "-1+2"] {
        assert!(csv.contains(bad), "{bad} is in the sheet: {csv}");
        for cell in csv.split([',', '\n']) {
            let c = cell.trim_start_matches('"');
            assert!(!c.starts_with(bad), "{bad} unguarded: {csv}");
        }
        assert!(csv.contains(&format!("'{bad}")), "{bad} guarded: {csv}");
    }
    // Coverage exports (CSV and XLSX) carry the region's name.
    let (status, _, csv) = call(
        &s,
        "GET",
        "/api/regions/110101001/coverage?format=csv",
        &[("Authorization", auth.as_str())],
        None,
    );
    assert_eq!(status, 200, "{csv}");
    assert!(
        csv.contains("'=1+2河畔街道") && !csv.contains(",=1+2"),
        "{csv}"
    );
    let (status, _, xlsx) = s.get_bytes(
        "/api/regions/110101001/coverage?format=xlsx",
        Some(&s.token),
    );
    assert_eq!(status, 200);
    let mut book = calamine::Xlsx::new(Cursor::new(xlsx)).unwrap();
    let names = book.sheet_names().clone();
    let mut seen = false;
    for n in names {
        let range = book.worksheet_range(&n).unwrap();
        for c in range.used_cells() {
            if let calamine::Data::String(t) = c.2 {
                assert!(!t.starts_with('='), "{n}: {t}");
                seen |= t == "'=1+2河畔街道";
            }
        }
    }
    assert!(seen, "the region's name is in the workbook, guarded");
}

#[test]
fn free_text_is_capped_and_times_and_rings_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let store = city(dir.path());
    let s = Server::start(&store, &[]);
    let auth = s.bearer();
    let h = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/json"),
    ];
    // A 100,000-character plan message (under the body limit, which is
    // tested in every_error_status_is_a_problem_document): 422 naming the
    // field and the cap.
    let huge = "x".repeat(100_000);
    let body = format!(r#"{{"edit":{{"op":"restore","version":1}},"message":"{huge}"}}"#);
    let (status, head, text) = call(
        &s,
        "POST",
        "/api/plans/1/edits",
        &[h[0], h[1], ("If-Match", "\"plan-1\"")],
        Some(&body),
    );
    assert_eq!(status, 422);
    is_problem(&head, &text, 422);
    assert!(text.contains("message") && text.contains("2000"), "{text}");
    let title = "题".repeat(201);
    let body =
        format!(r#"{{"circle":{{"lon":116.41,"lat":39.91,"radius_m":100}},"title":"{title}"}}"#);
    let (status, _, text) = call(&s, "POST", "/api/emergency/plan", &h, Some(&body));
    assert!(status == 422 && text.contains("title"), "{status} {text}");
    let body = format!(
        r#"{{"name":"{}","password":"whatever it is"}}"#,
        "n".repeat(10_000)
    );
    let (status, _, text) = call(&s, "POST", "/api/login", &[h[1]], Some(&body));
    assert!(status == 422 && text.contains("name"), "{status} {text}");

    // Unparsable times: 400, not an unfiltered 200.
    for path in [
        "/ogc/collections/households/items?datetime=garbage",
        "/ogc/collections/households/items?datetime=../..",
        "/api/audit?since=garbage",
    ] {
        let (status, head, text) = call(&s, "GET", path, &[h[0]], None);
        assert_eq!(status, 400, "{path}: {text}");
        is_problem(&head, &text, 400);
    }
    let (status, _, text) = call(&s, "GET", "/api/audit?since=2020-01-01", &[h[0]], None);
    assert_eq!(status, 200, "{text}");

    // A polygon whose ring does not close: 400 naming it.
    let open = r#"{"polygon":{"type":"Polygon","coordinates":[[[116.40,39.90],[116.42,39.90],[116.42,39.92],[116.40,39.92]]]}}"#;
    for path in ["/api/emergency/area", "/api/emergency/plan"] {
        let (status, head, text) = call(&s, "POST", path, &h, Some(open));
        assert_eq!(status, 400, "{path}: {text}");
        is_problem(&head, &text, 400);
        assert!(text.contains("not closed"), "{text}");
    }
}

#[test]
fn a_lasso_with_an_open_ring_is_refused() {
    let (_dir, store) = partitioned_city(1000, 2);
    let s = Server::start(&store, &[]);
    let st = wangge::store::open(store.to_str().unwrap()).unwrap();
    let plan = st.load().unwrap().plans[0].clone();
    drop(st);
    let id = plan.version.id;
    let code = &plan.codes[2][0];
    let auth = s.bearer();
    let h = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/json"),
    ];
    let body = format!(
        r#"{{"edit":{{"op":"reassign","to":"{code}","within":{{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1]]]}}}}}}"#
    );
    let (status, head, text) = call(
        &s,
        "POST",
        &format!("/api/plans/{id}/preview"),
        &h,
        Some(&body),
    );
    assert_eq!(status, 400, "{text}");
    is_problem(&head, &text, 400);
    assert!(
        text.contains("within") && text.contains("not closed"),
        "{text}"
    );
}

#[test]
fn every_error_status_is_a_problem_document() {
    let dir = tempfile::tempdir().unwrap();
    let store = city(dir.path());
    let s = Server::start(&store, &[]);
    let auth = s.bearer();
    let cases: Vec<Case> = vec![
        ("TRACE", "/health", vec![], None, 405),
        ("DELETE", "/api/login", vec![], None, 405),
        (
            "GET",
            "/api/no/such/route",
            vec![("Authorization", &auth)],
            None,
            404,
        ),
        (
            "GET",
            "/ogc/no/such",
            vec![("Authorization", &auth)],
            None,
            404,
        ),
        (
            "POST",
            "/api/emergency/area",
            vec![("Authorization", &auth), ("Content-Type", "text/plain")],
            Some("{}"),
            415,
        ),
        (
            "POST",
            "/api/emergency/area",
            vec![
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
            ],
            Some("{not json"),
            400,
        ),
        (
            "GET",
            "/api/me",
            vec![("Authorization", "Bearer wgt_nope")],
            None,
            401,
        ),
    ];
    // A body announced over the limit is refused before it is sent (the
    // server answers on the headers and closes, so an HTTP client writing
    // the body meets a broken pipe): headers only, over a raw socket.
    {
        use std::io::{Read, Write};
        let addr = s
            .url("/")
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let mut tcp = std::net::TcpStream::connect(&addr).unwrap();
        tcp.set_read_timeout(Some(std::time::Duration::from_secs(30)))
            .unwrap();
        write!(
            tcp,
            "POST /api/emergency/area HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {auth}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            65 * 1024 * 1024
        )
        .unwrap();
        // Read until the problem document is whole (the connection may
        // stay open, waiting for a body that never comes).
        let mut answer = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match tcp.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
            let text = String::from_utf8_lossy(&answer);
            if text
                .split_once("\r\n\r\n")
                .is_some_and(|(_, b)| b.contains('}'))
            {
                break;
            }
        }
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
        let (head, text) = answer.split_once("\r\n\r\n").unwrap();
        let head = head.to_ascii_lowercase().replace("\r\n", "\n");
        assert!(
            head.contains("content-type: application/problem+json"),
            "{head}"
        );
        assert!(text.contains("json_body_bytes"), "{text}");
    }
    for (method, path, headers, body, want) in cases {
        let (status, head, text) = call(&s, method, path, &headers, body);
        assert_eq!(status, want, "{method} {path}: {text}");
        is_problem(&head, &text, want);
        if want == 405 {
            assert!(head.to_ascii_lowercase().contains("allow:"), "{head}");
        }
    }
    // Plain HTTP: no HSTS (it would pin a name to HTTPS that has none).
    let (_, head, _) = call(&s, "GET", "/health", &[], None);
    assert!(
        !head
            .to_ascii_lowercase()
            .contains("strict-transport-security"),
        "{head}"
    );
}
