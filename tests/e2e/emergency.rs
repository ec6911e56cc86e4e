//! Emergency answers with known results: a river crossed by one bridge far
//! to the east makes the nearest volunteer by straight line the farthest by
//! road; filters; capacity shortfalls; every output format.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::common::{imported, user_with_token, wangge, Server};

const REGIONS: &str = r#"{"type":"FeatureCollection","features":[
 {"type":"Feature","properties":{"code":"110101001","name":"河畔街道"},
  "geometry":{"type":"Polygon","coordinates":[[[116.40,39.90],[116.42,39.90],[116.42,39.92],[116.40,39.92],[116.40,39.90]]]}}]}"#;

/// Two streets either side of a river at 39.910, one bridge at 116.419,
/// and the river itself (not walkable).
const BASEMAP: &str = r#"{"type":"FeatureCollection","features":[
 {"type":"Feature","properties":{"layer":"roads","kind":"minor_road","name":"南岸路"},"geometry":{"type":"LineString","coordinates":[[116.400,39.905],[116.410,39.905],[116.420,39.905]]}},
 {"type":"Feature","properties":{"layer":"roads","kind":"minor_road","name":"北岸路"},"geometry":{"type":"LineString","coordinates":[[116.400,39.915],[116.410,39.915],[116.420,39.915]]}},
 {"type":"Feature","properties":{"layer":"roads","kind":"major_road","name":"大桥"},"geometry":{"type":"LineString","coordinates":[[116.419,39.905],[116.419,39.915]]}},
 {"type":"Feature","properties":{"layer":"water","kind":"river","name":"护城河"},"geometry":{"type":"LineString","coordinates":[[116.400,39.910],[116.420,39.910]]}}]}"#;

const PEOPLE: &str = "id,name,phone,lon,lat,roles,team,skills,available,reserve\n\
1,北岸甲,13900000001,116.401,39.914,volunteer,一队,急救,1,1\n\
2,南岸乙,13900000002,116.413,39.906,volunteer,一队,驾驶,1,1\n\
3,休假丙,13900000003,116.4015,39.9062,volunteer,一队,急救,0,1\n\
4,非预备丁,13900000004,116.402,39.906,volunteer,,急救,1,0\n";

const HOUSEHOLDS: &str = "id,lon,lat,size,care,address,name,phone\n\
11,116.4125,39.9058,1,连心户,南岸路12号,赵一,13800000011\n\
12,116.4130,39.9059,2,关心户,南岸路13号,钱二,13800000012\n\
13,116.4135,39.9058,1,关心户,南岸路14号,孙三,13800000013\n\
14,116.4120,39.9057,3,放心户,南岸路11号,李四,13800000014\n";

fn store(dir: &Path) -> PathBuf {
    imported(
        dir,
        "river.gpkg",
        &[
            ("r.geojson", REGIONS, "regions"),
            ("b.geojson", BASEMAP, "all"),
            ("p.csv", PEOPLE, "people"),
            ("h.csv", HOUSEHOLDS, "households"),
        ],
    )
}

fn ids(v: &Value) -> Vec<i64> {
    v["volunteers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect()
}

#[test]
fn nearest_by_road_differs_from_straight_line_across_a_river() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&store(dir.path()), &[]);
    let q = "/api/emergency/nearest?lon=116.401&lat=39.906&k=1";
    let (status, line, _) = server.get_json(&format!("{q}&by=line"));
    assert_eq!(status, 200, "{line}");
    assert_eq!(
        ids(&line),
        vec![1],
        "straight line: the volunteer across the river ({line})"
    );
    let (_, road, _) = server.get_json(q);
    assert_eq!(road["by"], "road");
    assert_eq!(
        ids(&road),
        vec![2],
        "by road: the one on this bank ({road})"
    );
    let walk = road["volunteers"][0]["walk_m"].as_f64().unwrap();
    assert!(
        (1200.0..1300.0).contains(&walk),
        "111 m to the street, 1,024 m along it, 111 m to the door: {walk}"
    );
    // Across the river the walk goes over the bridge: about 4.2 km.
    let (_, v, _) =
        server.get_json("/api/emergency/nearest?lon=116.401&lat=39.906&k=5&skills=急救");
    assert_eq!(
        ids(&v),
        vec![1],
        "skill filter: only 北岸甲 has 急救 and is available in the reserve"
    );
    let w = v["volunteers"][0]["walk_m"].as_f64().unwrap();
    assert!(
        (4300.0..4500.0).contains(&w),
        "2 × 1,536 m along the banks + 1,110 m over the bridge + 2 × 111 m to the doors: {w}"
    );
    assert!(v["volunteers"][0]["walk_min"].as_f64().unwrap() > 50.0);
    // Unavailable volunteers never appear; non-reserve only when asked.
    let (_, v, _) = server.get_json("/api/emergency/nearest?lon=116.401&lat=39.906&k=10&by=line");
    assert_eq!(ids(&v), vec![1, 2]);
    let (_, v, _) =
        server.get_json("/api/emergency/nearest?lon=116.401&lat=39.906&k=10&by=line&reserve=any");
    assert_eq!(ids(&v), vec![4, 1, 2]);
    let (_, v, _) =
        server.get_json("/api/emergency/nearest?lon=116.401&lat=39.906&radius_m=950&by=line");
    assert_eq!(ids(&v), vec![1], "within 950 m");
    // Bad input is explained.
    let (status, v, _) = server.get_json("/api/emergency/nearest?lon=39.9&lat=116.4");
    assert!(
        status == 400 && v["detail"].as_str().unwrap().contains("swapped"),
        "{v}"
    );
    // The CLI answers the same.
    let (ok, out, err) = wangge(&[
        "emergency",
        "nearest",
        "--store",
        dir.path().join("river.gpkg").to_str().unwrap(),
        "--lon",
        "116.401",
        "--lat",
        "39.906",
        "--k",
        "1",
    ]);
    assert!(ok, "{err}");
    assert!(out.lines().nth(1).unwrap().starts_with("2 "), "{out}");
}

fn post(server: &Server, path: &str, body: &Value) -> (u16, String, String) {
    let token = Some(server.token.as_str());
    server.post_with(path, token, &[], &body.to_string(), "content-type")
}

#[test]
fn area_report_and_plans_with_shortfalls_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let server = Server::start(&store, &[]);
    let circle = json!({ "lon": 116.413, "lat": 39.906, "radius_m": 300 });
    let (status, _, body) = post(
        &server,
        "/api/emergency/area",
        &json!({ "circle": circle, "margin_m": 200 }),
    );
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["households_total"], 4);
    assert_eq!(v["tally"]["by_care"], json!({ "0": 1, "1": 2, "2": 1 }));
    let vulnerable: Vec<i64> = v["vulnerable"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_i64().unwrap())
        .collect();
    assert_eq!(vulnerable, vec![11, 12, 13], "连心户 first");
    assert_eq!(ids(&v), vec![2], "only 南岸乙 is within 200 m of the area");

    // 南岸乙 stands inside the circle: flagged and left out, so 北岸甲
    // alone, room for two: the 连心户 is served first, one 关心户 waits.
    let req = json!({ "circle": circle, "capacity": 2, "max_distance_m": 5000, "margin_m": 5000 });
    let (status, _, body) = post(&server, "/api/emergency/plan", &req);
    assert_eq!(status, 200, "{body}");
    let plan: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(plan["households"], 3);
    assert_eq!(plan["allow_inside"], false);
    assert_eq!(plan["inside_area"][0]["id"], 2, "{plan}");
    assert_eq!(plan["inside_area"].as_array().unwrap().len(), 1);
    assert_eq!(plan["served"], 2, "{plan}");
    assert_eq!(plan["routes"].as_array().unwrap().len(), 1);
    assert_eq!(plan["routes"][0]["volunteer"]["id"], 1, "{plan}");
    assert_eq!(plan["routes"][0]["households"][0]["id"], 11, "连心户 first");
    // 北岸甲's way crosses the river on the bridge, never straight over it.
    let stop = &plan["routes"][0]["households"][0];
    assert_eq!(stop["along"], "road", "{stop}");
    let path: Vec<(f64, f64)> = stop["path"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c[0].as_f64().unwrap(), c[1].as_f64().unwrap()))
        .collect();
    let near = |a: (f64, f64), b: (f64, f64)| (a.0 - b.0).abs() < 1e-9 && (a.1 - b.1).abs() < 1e-9;
    assert!(
        near(path[0], (116.401, 39.914)),
        "starts at the volunteer: {path:?}"
    );
    assert!(
        near(*path.last().unwrap(), (116.4125, 39.9058)),
        "ends at the door: {path:?}"
    );
    for (lon, lat) in &path {
        if *lat > 39.906 && *lat < 39.914 {
            assert!(
                (lon - 116.419).abs() < 1e-6,
                "({lon}, {lat}) is off the bridge: {path:?}"
            );
        }
    }
    let drawn: f64 = path
        .windows(2)
        .map(|w| {
            let (dx, dy) = ((w[1].0 - w[0].0) * 85_300.0, (w[1].1 - w[0].1) * 111_200.0);
            dx.hypot(dy)
        })
        .sum();
    let travel = stop["travel_m"].as_f64().unwrap();
    assert!(
        (drawn - travel).abs() / travel < 0.01,
        "drawn {drawn} m, planned {travel} m"
    );
    let minutes = stop["walk_min"].as_f64().unwrap();
    assert!(
        (minutes - travel / 1.2 / 60.0).abs() <= 0.051,
        "{minutes} min for {travel} m"
    );
    // The officer says 南岸乙 may go: both volunteers, all served.
    let mut allowed = req.clone();
    allowed["allow_inside"] = json!(true);
    let (_, _, body) = post(&server, "/api/emergency/plan", &allowed);
    let plan: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (plan["served"].as_u64(), plan["allow_inside"].as_bool()),
        (Some(3), Some(true)),
        "{plan}"
    );
    // Within 1 km nobody but 南岸乙, who is inside: nobody goes.
    let inside =
        json!({ "circle": circle, "capacity": 1, "max_distance_m": 1000, "margin_m": 5000 });
    let (_, _, body) = post(&server, "/api/emergency/plan", &inside);
    let plan: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(plan["served"], 0, "{plan}");
    let req1 = json!({ "circle": circle, "capacity": 1, "max_distance_m": 1000, "margin_m": 5000, "allow_inside": true });
    let (_, _, body) = post(&server, "/api/emergency/plan", &req1);
    let plan: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        plan["served"], 1,
        "within 1 km only 南岸乙, with room for one: {plan}"
    );
    assert_eq!(
        plan["routes"][0]["households"][0]["id"], 11,
        "the 连心户 goes first"
    );
    let reasons: Vec<&str> = plan["unserved"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["reason"].as_str().unwrap())
        .collect();
    assert!(
        reasons.iter().all(|r| r.contains("all taken")),
        "{reasons:?}"
    );
    // A skill nobody near has.
    let req2 = json!({ "circle": circle, "max_distance_m": 1000, "skills": ["医护"] });
    let (_, _, body) = post(&server, "/api/emergency/plan", &req2);
    let plan: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(plan["served"], 0);
    assert!(
        plan["unserved"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("医护"),
        "{plan}"
    );

    // Formats.
    let mut r = req1.clone();
    r["format"] = json!("geojson");
    let (_, ctype, body) = post(&server, "/api/emergency/plan", &r);
    assert!(ctype.starts_with("application/geo+json"));
    let g: Value = serde_json::from_str(&body).unwrap();
    let lines = g["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["geometry"]["type"] == "LineString")
        .count();
    assert_eq!(lines, 1);
    r["format"] = json!("csv");
    let (_, ctype, body) = post(&server, "/api/emergency/plan", &r);
    assert!(ctype.starts_with("text/csv"));
    assert!(
        body.starts_with('\u{feff}')
            && body.contains("生成人")
            && body.contains("南岸乙")
            && body.contains("13800000011"),
        "{body}"
    );
    r["format"] = json!("html");
    let (_, ctype, body) = post(&server, "/api/emergency/plan", &r);
    assert!(ctype.starts_with("text/html"));
    assert!(
        body.contains("应急走访调度单")
            && body.contains("南岸路12号")
            && body.contains("13900000002")
            && body.contains("未能派出")
            && body.contains("身处危险区域内的志愿者（经指挥员同意，可派出）")
            && body.contains("步行(分钟)"),
        "{body}"
    );

    // A viewer may not use it; a scoped emergency user sees their scope only.
    let viewer = user_with_token(&store, "v", "viewer", "110101");
    let (status, _, _) = server.get_as(
        "/api/emergency/nearest?lon=116.401&lat=39.906",
        Some(&viewer),
    );
    assert_eq!(status, 403);
    let elsewhere = user_with_token(&store, "e", "emergency", "3101");
    let (status, v, _) = server.get_as(
        "/api/emergency/nearest?lon=116.401&lat=39.906&by=line",
        Some(&elsewhere),
    );
    assert_eq!(status, 200);
    assert!(
        v["volunteers"].as_array().unwrap().is_empty(),
        "out of scope: {v}"
    );
    // Bad areas are explained.
    let (status, _, body) = post(
        &server,
        "/api/emergency/plan",
        &json!({ "polygon": { "type": "Polygon", "coordinates": [[[116.40,39.90],[116.41,39.91],[116.41,39.90],[116.40,39.91],[116.40,39.90]]] } }),
    );
    assert!(status == 400 && body.contains("crosses itself"), "{body}");

    // The CLI writes the printable sheet.
    let sheet = dir.path().join("sheet.html");
    let (ok, _, err) = wangge(&[
        "emergency",
        "plan",
        "--store",
        store.to_str().unwrap(),
        "--circle",
        "116.413,39.906,300",
        "--capacity",
        "1",
        "--max-distance-m",
        "1000",
        "--format",
        "html",
        "--out",
        sheet.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let sheet = std::fs::read_to_string(&sheet).unwrap();
    assert!(sheet.contains("赵一"));
    // Local time to the minute, as on the server's sheet: no UTC seconds.
    let stamp = regex_lite_time(&sheet);
    assert!(
        stamp,
        "the sheet's time is Beijing time to the minute: {sheet}"
    );
}

/// A `YYYY-MM-DD HH:MM (UTC+08:00)` stamp after 时间：.
fn regex_lite_time(sheet: &str) -> bool {
    sheet.split("时间：").nth(1).is_some_and(|rest| {
        let s: String = rest.chars().take(28).collect();
        s.len() == 28
            && s.ends_with(" (UTC+08:00)")
            && s.chars().enumerate().all(|(i, c)| match i {
                4 | 7 => c == '-',
                10 => c == ' ',
                13 => c == ':',
                0..=15 => c.is_ascii_digit(),
                _ => true,
            })
    })
}
