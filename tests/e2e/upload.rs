//! Uploads over HTTP (issue 20 item 6): a table of households sent as the
//! body, read by the same readers as `wangge import` (GB18030, Chinese
//! column names, GCJ-02), checked in a dry run whose report names row,
//! field and problem, then committed all or nothing; the JSON bulk route;
//! the size limit, the scope and the roles. On a GeoPackage and on PostGIS.

use std::io::{Read, Write};

use serde_json::{json, Value};

use super::ledger::{call, fresh_url, household_count, last_seq};
use crate::common::{generated, user_with_token, user_with_token_in, wangge, Server};

/// POST `body` to `path` as `token` with `content_type`: (status, JSON).
fn post_raw(s: &Server, path: &str, token: &str, content_type: &str, body: &[u8]) -> (u16, Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let resp = agent
        .post(&s.url(path))
        .header("Authorization", &format!("Bearer {token}"))
        .header("Content-Type", content_type)
        .send(body)
        .expect("request sent");
    let status = resp.status().as_u16();
    let text = resp.into_body().read_to_string().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Uploads a table and waits for its dry run: the job as last polled.
fn upload(s: &Server, token: &str, query: &str, ct: &str, body: &[u8]) -> Value {
    let (st, job) = post_raw(s, &format!("/api/uploads?{query}"), token, ct, body);
    assert_eq!(st, 202, "{job}");
    let id = job["id"].as_u64().unwrap();
    for _ in 0..600 {
        let (st, _, _, j) = call(s, "GET", &format!("/api/uploads/{id}"), token, None, None);
        assert_eq!(st, 200, "{j}");
        if j["status"] != "checking" {
            return j;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("upload {id} never finished its dry run");
}

fn commit(s: &Server, token: &str, job: &Value) -> (u16, Value) {
    let path = format!("/api/uploads/{}/commit", job["id"]);
    let (st, _, _, b) = call(s, "POST", &path, token, None, None);
    (st, b)
}

/// Every household of `region`'s street as (id, lon, lat, address).
fn households_in(s: &Server, prefix: &str) -> Vec<(i64, f64, f64, String)> {
    let (st, all, _) = s.get_json("/api/layers/households?limit=10000");
    assert_eq!(st, 200, "{all}");
    all["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            f["properties"]["region"]
                .as_str()
                .is_some_and(|r| r.starts_with(prefix))
        })
        .map(|f| {
            let c = &f["geometry"]["coordinates"];
            (
                f["id"].as_i64().unwrap(),
                c[0].as_f64().unwrap(),
                c[1].as_f64().unwrap(),
                f["properties"]["address"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            )
        })
        .collect()
}

/// The household stored at `address` (the admin's view), if any.
fn at_address(s: &Server, prefix: &str, address: &str) -> Option<(i64, f64, f64)> {
    households_in(s, prefix)
        .into_iter()
        .find(|h| h.3 == address)
        .map(|h| (h.0, h.1, h.2))
}

fn problems(job: &Value) -> Vec<(u64, String, String)> {
    job["report"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["row"].as_u64().unwrap(),
                p["field"].as_str().unwrap_or("").to_string(),
                p["code"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The 413 of an upload announced over the limit, read off a raw socket
/// (the body is never sent).
fn over_limit(s: &Server, token: &str) -> String {
    let addr = s.base.trim_start_matches("http://").to_string();
    let mut tcp = std::net::TcpStream::connect(&addr).unwrap();
    tcp.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    write!(
        tcp,
        "POST /api/uploads?layer=households HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: text/csv\r\nContent-Length: {}\r\n\r\n",
        65 * 1024 * 1024
    )
    .unwrap();
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
    String::from_utf8_lossy(&answer).into_owned()
}

/// The journey on a generated city: `office` is scoped to community
/// 610902001001, `other` to its neighbour 610902001002.
#[allow(
    clippy::many_single_char_names,
    reason = "points a, b, c, d of the journey"
)]
fn journey(s: &Server, office: &str, other: &str, planner: &str) {
    let street = "610902001001";
    let mine = households_in(s, street);
    let theirs = households_in(s, "610902001002");
    assert!(mine.len() > 10 && !theirs.is_empty());
    let (held_id, lon, lat, held_address) = mine[0].clone();
    let at = |i: usize| (mine[i].1, mine[i].2);
    let street0 = household_count(s, street);
    let seq0 = last_seq(s);

    // Two bad rows: the report names row, field and problem; nothing stored.
    let (a, b, c) = (at(1), at(2), at(3));
    let bad = format!(
        "lon,lat,size,care,address\n{},{},2,1,上传路1号\nabc,{},2,1,上传路2号\n{},{},3,0,上传路3号\n{},{},2,九级,上传路4号\n",
        a.0, a.1, b.1, b.0, b.1, c.0, c.1
    );
    let job = upload(s, office, "layer=households", "text/csv", bad.as_bytes());
    assert_eq!(job["status"], "invalid", "{job}");
    let p = problems(&job);
    assert_eq!(
        p,
        vec![
            (3, "lon".to_string(), "bad_location".to_string()),
            (5, "care".to_string(), "unknown_care_level".to_string())
        ],
        "{job}"
    );
    assert!(job["report"]["problems"][1]["detail"]
        .as_str()
        .unwrap()
        .contains("九级"));
    assert_eq!(job["progress"]["rows_validated"], 4);
    let (st, b2) = commit(s, office, &job);
    assert_eq!(
        (st, b2["code"].as_str()),
        (422, Some("upload_invalid")),
        "{b2}"
    );
    assert_eq!(last_seq(s), seq0, "nothing stored");
    assert_eq!(household_count(s, street), street0);

    // Fixed: committed, the households appear over HTTP, counts follow.
    let fixed = format!(
        "lon,lat,size,care,address\n{},{},2,1,上传路1号\n{},{},3,0,上传路3号\n",
        a.0, a.1, b.0, b.1
    );
    let job = upload(s, office, "layer=households", "text/csv", fixed.as_bytes());
    assert_eq!(job["status"], "ready", "{job}");
    assert_eq!(job["report"]["creates"], 2);
    let other_job = format!("/api/uploads/{}", job["id"]);
    let (st, _, _, _) = call(s, "GET", &other_job, other, None, None);
    assert_eq!(st, 404, "another user's upload is not theirs to see");
    let (st, done) = commit(s, office, &job);
    assert_eq!(st, 200, "{done}");
    assert_eq!(done["status"], "committed");
    assert_eq!(done["stored"], 2);
    assert_eq!(last_seq(s), seq0 + 1, "one change row for the upload");
    assert_eq!(household_count(s, street), street0 + 2);
    assert!(at_address(s, street, "上传路1号").is_some());
    assert!(at_address(s, street, "上传路3号").is_some());
    let (st, again) = commit(s, office, &job);
    assert_eq!(
        (st, again["code"].as_str()),
        (409, Some("upload_committed"))
    );
    let (_, log, _) = s.get_json("/api/audit?limit=1000");
    assert!(
        log.to_string().contains("upload_commit"),
        "the commit is in the audit log"
    );

    // Duplicates: a held id updates it; a held address without id is refused.
    let seq1 = last_seq(s);
    let dup = format!(
        "id,lon,lat,size,address\n{held_id},{lon},{lat},7,{held_address}\n,{},{},2,{held_address}\n",
        c.0, c.1
    );
    let job = upload(s, office, "layer=households", "text/csv", dup.as_bytes());
    assert_eq!(job["status"], "invalid", "{job}");
    let d = &job["report"]["duplicates"];
    assert_eq!(
        (
            d[0]["row"].as_u64(),
            d[0]["by"].as_str(),
            d[0]["existing"].as_i64()
        ),
        (Some(2), Some("id"), Some(held_id)),
        "{job}"
    );
    assert_eq!(
        (d[1]["row"].as_u64(), d[1]["by"].as_str()),
        (Some(3), Some("address"))
    );
    assert_eq!(
        problems(&job),
        vec![(3, "address".into(), "duplicate_address".into())]
    );
    assert_eq!(job["report"]["updates"], 1);

    // Out of scope: a row in the other street is refused.
    let (t0, t1) = (theirs[0].1, theirs[0].2);
    let out = format!("lon,lat,size\n{},{},2\n{t0},{t1},2\n", c.0, c.1);
    let job = upload(s, office, "layer=households", "text/csv", out.as_bytes());
    assert_eq!(job["report"]["out_of_scope"], 1, "{job}");
    assert_eq!(
        problems(&job),
        vec![(3, "location".into(), "out_of_scope".into())]
    );
    let (st, _) = commit(s, office, &job);
    assert_eq!(st, 422);
    assert_eq!(last_seq(s), seq1, "nothing stored");

    // GB18030 with Chinese column names, GCJ-02 converted to WGS-84.
    let g = wangge::spatial::crs::wgs84_to_gcj02(geo_types::Coord { x: c.0, y: c.1 });
    let (gx, gy) = (g.x, g.y);
    let text = format!("经度,纬度,人数,户类别,地址\n{gx},{gy},3,连心户,国标路8号\n");
    let (gb, _, _) = encoding_rs::GB18030.encode(&text);
    let job = upload(s, office, "layer=households&crs=gcj02", "text/csv", &gb);
    assert_eq!(job["status"], "ready", "{job}");
    let (st, b3) = commit(s, office, &job);
    assert_eq!(st, 200, "{b3}");
    let (_, x, y) = at_address(s, street, "国标路8号").expect("the GB18030 row stored");
    assert!(
        (x - c.0).abs() < 1e-5 && (y - c.1).abs() < 1e-5,
        "GCJ-02 converted: ({x}, {y}) vs ({}, {})",
        c.0,
        c.1
    );
    assert!((x - gx).abs() > 1e-4, "not stored as sent");

    // XLSX, detected by its first bytes.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("住户.xlsx");
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (i, h) in ["经度", "纬度", "人数", "地址"].iter().enumerate() {
        sheet.write_string(0, i as u16, *h).unwrap();
    }
    let d = at(4);
    sheet.write_number(1, 0, d.0).unwrap();
    sheet.write_number(1, 1, d.1).unwrap();
    sheet.write_number(1, 2, 4.0).unwrap();
    sheet.write_string(1, 3, "表格路5号").unwrap();
    book.save(&path).unwrap();
    let xlsx = std::fs::read(&path).unwrap();
    let job = upload(
        s,
        office,
        "layer=households",
        "application/octet-stream",
        &xlsx,
    );
    assert_eq!(job["status"], "ready", "{job}");
    assert_eq!(commit(s, office, &job).0, 200);
    assert!(at_address(s, street, "表格路5号").is_some());

    // The JSON bulk route: same checks, all or nothing.
    let seq2 = last_seq(s);
    let (st, _, _, b4) = call(
        s,
        "POST",
        "/api/households/bulk",
        office,
        None,
        Some(&json!([
            {"id": held_id, "size": 6},
            {"location": [d.0, d.1], "size": 2, "care": 1, "address": "批量路1号"},
            {"location": [t0, t1], "size": 2, "care": 1}
        ])),
    );
    assert_eq!(
        (st, b4["code"].as_str()),
        (422, Some("upload_invalid")),
        "{b4}"
    );
    assert_eq!(b4["report"]["problems"][0]["row"], 3, "{b4}");
    assert_eq!(last_seq(s), seq2, "nothing stored");
    let (st, _, _, b5) = call(
        s,
        "POST",
        "/api/households/bulk",
        office,
        None,
        Some(&json!([
            {"id": held_id, "size": 6},
            {"location": [d.0, d.1], "size": 2, "care": 1, "address": "批量路1号"}
        ])),
    );
    assert_eq!(st, 200, "{b5}");
    assert_eq!(
        (
            b5["report"]["creates"].as_u64(),
            b5["report"]["updates"].as_u64()
        ),
        (Some(1), Some(1))
    );
    let (_, _, _, h) = call(
        s,
        "GET",
        &format!("/api/households/{held_id}"),
        office,
        None,
        None,
    );
    assert_eq!(h["properties"]["size"], 6, "{h}");
    assert_eq!(
        household_count(s, street),
        street0 + 5,
        "2 + 1 + 1 + 1 created"
    );

    // Roles: a planner uploads nothing (the viewer: see the callers).
    let (st, b6) = post_raw(
        s,
        "/api/uploads?layer=households",
        planner,
        "text/csv",
        fixed.as_bytes(),
    );
    assert_eq!(st, 403, "{b6}");
    // Over the limit: 413 with the limit named.
    let answer = over_limit(s, office);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("upload_bytes"), "{answer}");
}

#[test]
fn upload_households_on_a_geopackage() {
    let dir = tempfile::tempdir().unwrap();
    let store = generated(dir.path(), "2000", "3");
    let office = user_with_token(&store, "office1", "office", "610902001001");
    let other = user_with_token(&store, "office2", "office", "610902001002");
    let planner = user_with_token(&store, "planner1", "planner", "*");
    let viewer = user_with_token(&store, "viewer1", "viewer", "*");
    let s = Server::start(&store, &[]);
    let (st, b) = post_raw(
        &s,
        "/api/uploads?layer=households",
        &viewer,
        "text/csv",
        b"lon,lat\n",
    );
    assert_eq!(st, 403, "{b}");
    journey(&s, &office, &other, &planner);
}

#[test]
fn upload_households_on_postgis() {
    let dir = tempfile::tempdir().unwrap();
    let a = generated(dir.path(), "2000", "3");
    let url = fresh_url("upload");
    let (ok, out, err) = wangge(&[
        "copy",
        "--from",
        a.to_str().unwrap(),
        "--to",
        &url,
        "--quiet",
    ]);
    assert!(ok, "copy: {out}{err}");
    let admin = user_with_token_in(&url, "admin1", "admin", "*");
    let office = user_with_token_in(&url, "office1", "office", "610902001001");
    let other = user_with_token_in(&url, "office2", "office", "610902001002");
    let planner = user_with_token_in(&url, "planner1", "planner", "*");
    let s = Server::start_with(&["--database", &url], admin);
    journey(&s, &office, &other, &planner);
}
