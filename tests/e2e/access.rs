//! Accounts, roles, scope and personal fields over real HTTP: the access
//! matrix generated from the router's own route table and projections per
//! role (sign-in and its failures are in `sessions`).

use std::collections::HashMap;

use serde_json::Value;
use wangge::access::Role;
use wangge::api::{route_specs, Access};

use crate::common::{user_with_token, wangge, Server};
use crate::http_api::fixture;

pub const IN: &str = "110101001001";

/// How each route is probed: (in-scope path, out-of-scope path, body).
/// A route missing here fails the matrix test: every new route needs a rule.
fn probes() -> HashMap<(&'static str, &'static str), (String, Option<String>, Option<&'static str>)>
{
    let mut m = HashMap::new();
    m.insert(("GET", "/health"), ("/health".into(), None, None));
    m.insert(
        ("GET", "/health/ready"),
        ("/health/ready".into(), None, None),
    );
    m.insert(("GET", "/api/version"), ("/api/version".into(), None, None));
    m.insert(
        ("GET", "/api/openapi.json"),
        ("/api/openapi.json".into(), None, None),
    );
    m.insert(
        ("POST", "/api/login"),
        ("/api/login".into(), None, Some("{}")),
    );
    m.insert(
        ("POST", "/api/logout"),
        ("/api/logout".into(), None, Some("")),
    );
    m.insert(("GET", "/api/me"), ("/api/me".into(), None, None));
    m.insert(("GET", "/api/audit"), ("/api/audit".into(), None, None));
    m.insert(("GET", "/api/regions"), ("/api/regions".into(), None, None));
    m.insert(
        ("GET", "/api/regions/{code}"),
        (
            format!("/api/regions/{IN}"),
            Some("/api/regions/110101001002".into()),
            None,
        ),
    );
    for what in ["coverage", "gaps"] {
        m.insert(
            (
                "GET",
                if what == "coverage" {
                    "/api/regions/{code}/coverage"
                } else {
                    "/api/regions/{code}/gaps"
                },
            ),
            (
                format!("/api/regions/{IN}/{what}"),
                Some(format!("/api/regions/110101001002/{what}")),
                None,
            ),
        );
    }
    m.insert(
        ("POST", "/api/regions/{code}/plans"),
        (
            format!("/api/regions/{IN}/plans"),
            Some("/api/regions/110101001002/plans".into()),
            Some("{}"),
        ),
    );
    m.insert(
        ("POST", "/api/regions/{code}/plans/from-grids"),
        (
            format!("/api/regions/{IN}/plans/from-grids"),
            Some("/api/regions/110101001002/plans/from-grids".into()),
            Some("{}"),
        ),
    );
    m.insert(
        ("GET", "/api/regions/{code}/plans"),
        (
            format!("/api/regions/{IN}/plans"),
            Some("/api/regions/110101001002/plans".into()),
            None,
        ),
    );
    // Job 1 is the first generation the matrix starts (in scope).
    m.insert(
        ("GET", "/api/jobs/{id}"),
        ("/api/jobs/1".into(), None, None),
    );
    // Plan 1 is region IN's, plan 2 the other region's (made by the fixture).
    for (path, tail) in [
        ("/api/plans/{id}", ""),
        ("/api/plans/{id}/grids", "/grids"),
        ("/api/plans/{id}/metrics", "/metrics"),
    ] {
        m.insert(
            ("GET", path),
            (
                format!("/api/plans/1{tail}"),
                Some(format!("/api/plans/2{tail}")),
                None,
            ),
        );
    }
    // Hand edits: a dry run restoring the plan itself changes nothing;
    // saving without If-Match stops at 428 once access is granted.
    m.insert(
        ("POST", "/api/plans/{id}/preview"),
        (
            "/api/plans/1/preview".into(),
            Some("/api/plans/2/preview".into()),
            Some(r#"{"edit":{"op":"restore","version":{id}}}"#),
        ),
    );
    for (path, tail, body) in [
        (
            "/api/plans/{id}/edits",
            "/edits",
            r#"{"edit":{"op":"restore","version":{id}}}"#,
        ),
        ("/api/plans/{id}/publish", "/publish", "{}"),
    ] {
        m.insert(
            ("POST", path),
            (
                format!("/api/plans/1{tail}"),
                Some(format!("/api/plans/2{tail}")),
                Some(body),
            ),
        );
    }
    m.insert(
        ("GET", "/api/plans/{id}/atoms"),
        (
            "/api/plans/1/atoms".into(),
            Some("/api/plans/2/atoms".into()),
            None,
        ),
    );
    m.insert(
        ("GET", "/api/plans/{id}/diff/{other}"),
        (
            "/api/plans/1/diff/1".into(),
            Some("/api/plans/2/diff/2".into()),
            None,
        ),
    );
    m.insert(("GET", "/api/layers"), ("/api/layers".into(), None, None));
    // Search is scoped: an out-of-scope code finds nothing, not a refusal.
    m.insert(
        ("GET", "/api/search"),
        ("/api/search?q=110101".into(), None, None),
    );
    // Tiles are cut in the caller's scope: nothing to refuse, less to see.
    m.insert(("GET", "/tiles"), ("/tiles".into(), None, None));
    m.insert(
        ("GET", "/tiles/{source}"),
        ("/tiles/grids".into(), None, None),
    );
    m.insert(
        ("GET", "/tiles/{source}/{z}/{x}/{y}"),
        ("/tiles/households/12/3372/1552.mvt".into(), None, None),
    );
    m.insert(
        ("GET", "/api/emergency/nearest"),
        (
            "/api/emergency/nearest?lon=116.405&lat=39.905".into(),
            None,
            None,
        ),
    );
    m.insert(
        ("POST", "/api/emergency/area"),
        (
            "/api/emergency/area".into(),
            None,
            Some(r#"{"circle":{"lon":116.405,"lat":39.905,"radius_m":800}}"#),
        ),
    );
    m.insert(
        ("POST", "/api/emergency/plan"),
        (
            "/api/emergency/plan".into(),
            None,
            Some(r#"{"circle":{"lon":116.405,"lat":39.905,"radius_m":800}}"#),
        ),
    );
    m.insert(
        ("GET", "/api/layers/{layer}"),
        ("/api/layers/households".into(), None, None),
    );
    // The OGC API reads the same scoped layers: household 3 is out of scope.
    for path in ["/ogc", "/ogc/", "/ogc/conformance", "/ogc/collections"] {
        m.insert(("GET", path), (path.into(), None, None));
    }
    m.insert(
        ("GET", "/ogc/collections/{collectionId}"),
        ("/ogc/collections/households".into(), None, None),
    );
    m.insert(
        ("GET", "/ogc/collections/{collectionId}/items"),
        (
            "/ogc/collections/households/items?limit=2".into(),
            None,
            None,
        ),
    );
    m.insert(
        ("GET", "/ogc/collections/{collectionId}/items/{featureId}"),
        (
            "/ogc/collections/households/items/1".into(),
            Some("/ogc/collections/households/items/3".into()),
            None,
        ),
    );
    // The ledger: household 3 is out of scope; a write without If-Match
    // is 428 once access is granted.
    for method in ["GET", "PATCH", "DELETE"] {
        m.insert(
            (method, "/api/households/{id}"),
            (
                "/api/households/1".into(),
                Some("/api/households/3".into()),
                (method == "PATCH").then_some("{}"),
            ),
        );
    }
    m.insert(
        ("GET", "/api/households/{id}/history"),
        (
            "/api/households/1/history".into(),
            Some("/api/households/3/history".into()),
            None,
        ),
    );
    m.insert(
        ("POST", "/api/households"),
        (
            "/api/households".into(),
            None,
            Some(r#"{"location":[116.405,39.905],"size":2,"care":1}"#),
        ),
    );
    // Staff: person 1 (a building head) is in scope; a write without
    // If-Match is 428 once access is granted.
    for method in ["GET", "PATCH", "DELETE"] {
        m.insert(
            (method, "/api/people/{id}"),
            (
                "/api/people/1".into(),
                None,
                (method == "PATCH").then_some("{}"),
            ),
        );
    }
    m.insert(
        ("PUT", "/api/people/{id}/grids"),
        ("/api/people/1/grids".into(), None, Some("[]")),
    );
    m.insert(
        ("POST", "/api/people"),
        (
            "/api/people".into(),
            None,
            Some(r#"{"location":[116.405,39.905],"roles":["full_time_worker"]}"#),
        ),
    );
    // Volunteers: person 3 (a reserve volunteer) is in scope, person 2
    // not; a write
    // without If-Match is 428, an empty dispatch 422, once access is
    // granted.
    m.insert(
        ("GET", "/api/volunteers"),
        ("/api/volunteers".into(), None, None),
    );
    for method in ["GET", "PATCH"] {
        m.insert(
            (method, "/api/volunteers/{id}"),
            (
                "/api/volunteers/3".into(),
                Some("/api/volunteers/2".into()),
                (method == "PATCH").then_some(r#"{"status":"off_duty"}"#),
            ),
        );
    }
    m.insert(
        ("POST", "/api/emergency/dispatch"),
        (
            "/api/emergency/dispatch".into(),
            None,
            Some(r#"{"routes":[]}"#),
        ),
    );
    // Incidents: a circle in scope opens one (201); incident 999999 is
    // nobody's (404 once access is granted); a write without If-Match is
    // 428 before anything is looked up.
    m.insert(
        ("GET", "/api/incidents"),
        ("/api/incidents".into(), None, None),
    );
    m.insert(
        ("POST", "/api/incidents"),
        (
            "/api/incidents".into(),
            None,
            Some(r#"{"title":"暴雨","kind":"flood","circle":{"lon":116.405,"lat":39.905,"radius_m":300}}"#),
        ),
    );
    m.insert(
        ("GET", "/api/incidents/{id}"),
        ("/api/incidents/999999".into(), None, None),
    );
    for (route, path) in [
        ("/api/incidents/{id}/households", "households"),
        ("/api/incidents/{id}/tally", "tally"),
        ("/api/incidents/{id}/sheet", "sheet?by=team"),
        ("/api/incidents/{id}/report", "report?format=xlsx"),
    ] {
        m.insert(
            ("GET", route),
            (format!("/api/incidents/999999/{path}"), None, None),
        );
    }
    m.insert(
        ("PUT", "/api/incidents/{id}/households/{household}"),
        (
            "/api/incidents/999999/households/1".into(),
            None,
            Some(r#"{"status":"reached"}"#),
        ),
    );
    for (route, path, body) in [
        (
            "/api/incidents/{id}/areas",
            "/api/incidents/999999/areas",
            r#"{"circle":{"lon":116.405,"lat":39.905,"radius_m":500}}"#,
        ),
        (
            "/api/incidents/{id}/notes",
            "/api/incidents/999999/notes",
            r#"{"note":"x"}"#,
        ),
        (
            "/api/incidents/{id}/close",
            "/api/incidents/999999/close",
            "{}",
        ),
    ] {
        m.insert(("POST", route), (path.into(), None, Some(body)));
    }
    // Uploads: a header-only table starts a job (202); job 999999 is
    // nobody's (404 once access is granted); an empty bulk stores nothing.
    m.insert(
        ("POST", "/api/uploads"),
        (
            "/api/uploads?layer=households".into(),
            None,
            Some("lon,lat\n"),
        ),
    );
    m.insert(
        ("GET", "/api/uploads/{id}"),
        ("/api/uploads/999999".into(), None, None),
    );
    m.insert(
        ("POST", "/api/uploads/{id}/commit"),
        ("/api/uploads/999999/commit".into(), None, None),
    );
    m.insert(
        ("POST", "/api/households/bulk"),
        ("/api/households/bulk".into(), None, Some("[]")),
    );
    // Buildings and roads: building 1 and road 1 lie in scope; a write
    // without If-Match is 428 once access is granted (planner, admin).
    for layer in ["buildings", "roads"] {
        for method in ["GET", "PATCH", "DELETE"] {
            let route: &'static str = if layer == "buildings" {
                "/api/buildings/{id}"
            } else {
                "/api/roads/{id}"
            };
            m.insert(
                (method, route),
                (
                    format!("/api/{layer}/1"),
                    None,
                    (method == "PATCH").then_some("{}"),
                ),
            );
        }
    }
    m.insert(
        ("POST", "/api/buildings"),
        (
            "/api/buildings".into(),
            None,
            Some(r#"{"geometry":{"type":"Polygon","coordinates":[[[116.4051,39.9051],[116.4053,39.9051],[116.4053,39.9053],[116.4051,39.9051]]]}}"#),
        ),
    );
    m.insert(
        ("POST", "/api/roads"),
        (
            "/api/roads".into(),
            None,
            Some(r#"{"geometry":{"type":"LineString","coordinates":[[116.402,39.903],[116.404,39.904]]},"class":"residential"}"#),
        ),
    );
    m.insert(
        ("GET", "/api/changes"),
        ("/api/changes?since=0".into(), None, None),
    );
    // An endless stream: its answer is read for a moment (see `call`).
    m.insert(
        ("GET", "/api/changes/stream"),
        ("/api/changes/stream?since=0".into(), None, None),
    );
    m.insert(
        ("GET", "/api/layers/{layer}/{id}"),
        (
            "/api/layers/households/1".into(),
            Some("/api/layers/households/3".into()),
            None,
        ),
    );
    m
}

fn call(
    s: &Server,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> (u16, Value) {
    let url = s.url(path);
    // The change stream never ends: its status is what the matrix checks.
    let endless = path.starts_with("/api/changes/stream");
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_recv_body(endless.then_some(std::time::Duration::from_millis(300)))
        .build()
        .new_agent();
    let resp = match method {
        "GET" => {
            let mut r = agent.get(&url);
            if let Some(t) = token {
                r = r.header("Authorization", &format!("Bearer {t}"));
            }
            r.call()
        }
        "DELETE" => {
            let mut r = agent.delete(&url);
            if let Some(t) = token {
                r = r.header("Authorization", &format!("Bearer {t}"));
            }
            r.call()
        }
        m => {
            let r = if m == "PATCH" {
                agent.patch(&url)
            } else if m == "PUT" {
                agent.put(&url)
            } else {
                agent.post(&url)
            };
            let mut r = r.header("Content-Type", "application/json");
            if let Some(t) = token {
                r = r.header("Authorization", &format!("Bearer {t}"));
            }
            r.send(body.unwrap_or(""))
        }
    }
    .expect("request sent");
    let status = resp.status().as_u16();
    let text = resp.into_body().read_to_string().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

struct World {
    _dir: tempfile::TempDir,
    store: std::path::PathBuf,
    server: Server,
    tokens: Vec<(Role, String)>,
}

fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let store = fixture(dir.path());
    let people = dir.path().join("people.csv");
    std::fs::write(&people, "id,name,phone,lon,lat,roles,team,skills,available,reserve\n1,李四,13900000001,116.405,39.905,building_head,,,1,0\n2,王五,13900000002,116.415,39.905,volunteer,应急一队,急救,1,1\n3,赵六,13900000003,116.405,39.915,volunteer,应急一队,急救,1,1\n").unwrap();
    let (ok, out, err) = wangge(&[
        "import",
        "people",
        people.to_str().unwrap(),
        "--store",
        store.to_str().unwrap(),
        "--crs",
        "wgs84",
    ]);
    assert!(ok, "{out}{err}");
    // One building and one road in scope (ids 1), for the ground routes.
    let ground = [
        (
            "buildings",
            r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"building":"residential"},"geometry":{"type":"Polygon","coordinates":[[[116.4041,39.9041],[116.4043,39.9041],[116.4043,39.9043],[116.4041,39.9043],[116.4041,39.9041]]]}}]}"#,
        ),
        (
            "roads",
            r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"highway":"residential","name":"多福巷"},"geometry":{"type":"LineString","coordinates":[[116.401,39.902],[116.403,39.902]]}}]}"#,
        ),
    ];
    for (layer, text) in ground {
        let file = dir.path().join(format!("{layer}.geojson"));
        std::fs::write(&file, text).unwrap();
        let (ok, out, err) = wangge(&[
            "import",
            layer,
            file.to_str().unwrap(),
            "--store",
            store.to_str().unwrap(),
            "--crs",
            "wgs84",
        ]);
        assert!(ok, "{out}{err}");
    }
    let tokens = [
        Role::Admin,
        Role::Planner,
        Role::Office,
        Role::Emergency,
        Role::Viewer,
    ]
    .into_iter()
    .map(|r| {
        let scope = if r == Role::Admin { "*" } else { IN };
        (
            r,
            user_with_token(&store, &format!("m-{}", r.as_str()), r.as_str(), scope),
        )
    })
    .collect();
    // A plan for each region: ids 1 (in scope) and 2 (out).
    for code in [IN, "110101001002"] {
        let (ok, out, err) = wangge(&[
            "partition",
            "--store",
            store.to_str().unwrap(),
            "--region",
            code,
        ]);
        assert!(ok, "{out}{err}");
    }
    // Each plan's level-3 grids again as grids drawn elsewhere (what
    // from-grids snaps).
    for id in ["1", "2"] {
        let out = dir.path().join(format!("drawn-{id}.geojson"));
        let s = store.to_str().unwrap();
        let o = out.to_str().unwrap();
        let (ok, a, b) = wangge(&[
            "plan", "export", id, "--store", s, "--format", "geojson", "--out", o,
        ]);
        assert!(ok, "{a}{b}");
        let (ok, a, b) = wangge(&["import", "grids", o, "--store", s, "--crs", "wgs84"]);
        assert!(ok, "{a}{b}");
    }
    let server = Server::start(&store, &[]);
    World {
        _dir: dir,
        store,
        server,
        tokens,
    }
}

#[test]
fn access_matrix_from_the_route_table() {
    let w = world();
    let probes = probes();
    for spec in route_specs() {
        let Some((in_path, out_path, body)) = probes.get(&(spec.method, spec.path)) else {
            panic!(
                "route {} {} has no rule in the access matrix test: add one",
                spec.method, spec.path
            );
        };
        // Anonymous.
        let in_body = body.map(|b| b.replace("{id}", "1"));
        let (status, v) = call(&w.server, spec.method, in_path, None, in_body.as_deref());
        match spec.access {
            Access::Public => assert!(
                status != 401 && status != 403,
                "{} anonymous: {status} {v}",
                spec.path
            ),
            _ => assert_eq!(status, 401, "{} anonymous: {v}", spec.path),
        }
        for (role, token) in &w.tokens {
            let allowed = match spec.access {
                Access::Public | Access::SignedIn => true,
                Access::Roles(rs) => rs.contains(role),
            };
            let in_body = body.map(|b| b.replace("{id}", "1"));
            let (status, v) = call(
                &w.server,
                spec.method,
                in_path,
                Some(token),
                in_body.as_deref(),
            );
            // A job starts with 202 Accepted.
            let ok_status = if (spec.method == "POST" && spec.path.ends_with("/plans"))
                || spec.path == "/api/uploads"
            {
                202
            } else if spec.path.starts_with("/api/uploads/{id}") {
                404
            } else if spec.path.ends_with("/edits")
                || spec.path.ends_with("/publish")
                || (spec.path == "/api/households/{id}" && spec.method != "GET")
                || (spec.path.starts_with("/api/people/{id}") && spec.method != "GET")
                || (spec.path == "/api/volunteers/{id}" && spec.method != "GET")
                || ((spec.path == "/api/buildings/{id}" || spec.path == "/api/roads/{id}")
                    && spec.method != "GET")
                || (spec.path.starts_with("/api/incidents/{id}/") && spec.method != "GET")
            {
                428
            } else if spec.path.starts_with("/api/incidents/{id}") {
                404
            } else if spec.path == "/api/incidents" && spec.method == "POST" {
                201
            } else if spec.path == "/api/emergency/dispatch" {
                422
            } else if [
                "/api/households",
                "/api/people",
                "/api/buildings",
                "/api/roads",
            ]
            .contains(&spec.path)
            {
                201
            } else if spec.path.ends_with("/from-grids") {
                201
            } else {
                200
            };
            let expected_ok = if spec.path == "/api/login" {
                status == 400
            } else if *role == Role::Viewer && in_path.starts_with("/tiles/households/") {
                // Too few households in the fixture for a cell of k.
                status == 200 || status == 204
            } else if spec.path.ends_with("/from-grids") {
                // The generation jobs the matrix started save plans of the
                // same regions meanwhile: a save on a plan one of them
                // replaced is a conflict (412), after access was granted.
                status == 201 || status == 412
            } else {
                status == ok_status
            };
            // Households and people one by one: never for the viewer,
            // who sees them only as counts (403 counts_only).
            let counts_only = *role == Role::Viewer
                && !in_path.starts_with("/tiles")
                && (in_path.contains("/households") || in_path.contains("/people"));
            if allowed && counts_only {
                assert_eq!(status, 403, "{in_path} as viewer: {v}");
                assert_eq!(v["code"], "counts_only", "{in_path} as viewer: {v}");
            } else if allowed {
                assert!(
                    expected_ok,
                    "{} {} as {}: {status} {v}",
                    spec.method,
                    in_path,
                    role.as_str()
                );
            } else {
                assert_eq!(status, 403, "{} as {}: {v}", in_path, role.as_str());
            }
            if let Some(out) = out_path {
                // A body naming the plan it is sent to ({id}: 1 in scope,
                // 2 out of it).
                let out_body = body.map(|b| b.replace("{id}", "2"));
                let (status, v) = call(
                    &w.server,
                    spec.method,
                    out,
                    Some(token),
                    out_body.as_deref(),
                );
                let want = if counts_only {
                    403
                } else if *role == Role::Admin {
                    if spec.path.ends_with("/from-grids") && status == 412 {
                        412
                    } else {
                        ok_status
                    }
                } else if allowed {
                    404
                } else {
                    403
                };
                assert_eq!(
                    status,
                    want,
                    "{} as {} (out of scope answers 404): {v}",
                    out,
                    role.as_str()
                );
            }
        }
    }
}

#[test]
fn each_role_sees_its_projection_and_only_its_scope() {
    let w = world();
    let token = |r: Role| w.tokens.iter().find(|(x, _)| *x == r).unwrap().1.clone();
    let props = |r: Role, path: &str| {
        call(&w.server, "GET", path, Some(&token(r)), None).1["properties"].clone()
    };
    // Household 2 is a 连心户 in scope; the fixture gave it no phone, so use people for phones.
    let office = props(Role::Office, "/api/layers/people/1");
    assert_eq!(
        (office["name"].as_str(), office["phone"].as_str()),
        (Some("李四"), Some("13900000001"))
    );
    let planner = props(Role::Planner, "/api/layers/people/1");
    assert_eq!(
        (planner["name"].as_str(), planner["phone"].as_str()),
        (Some("李四"), Some("139****0001"))
    );
    // The viewer sees households and people only as counts.
    for path in ["/api/layers/people/1", "/api/layers/households/1"] {
        let (status, v) = call(&w.server, "GET", path, Some(&token(Role::Viewer)), None);
        assert_eq!(
            (status, v["code"].as_str()),
            (403, Some("counts_only")),
            "{v}"
        );
    }
    let planner_h = props(Role::Planner, "/api/layers/households/1");
    assert_eq!(planner_h["address"], "多福巷…", "{planner_h}");
    // A field the role does not see is absent, not empty.
    assert!(
        planner_h.get("phone").is_none() && planner_h.get("flags").is_none(),
        "{planner_h}"
    );
    // Lists see only the scope: households 1, 2 and 4 are in community 001.
    for (role, t) in w.tokens.iter().filter(|(r, _)| *r != Role::Viewer) {
        let (_, v) = call(&w.server, "GET", "/api/layers/households", Some(t), None);
        let mut ids: Vec<i64> = v["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["id"].as_i64().unwrap())
            .collect();
        ids.sort_unstable();
        let want = if *role == Role::Admin {
            vec![1, 2, 3, 4, 5, 6]
        } else {
            vec![1, 2, 4]
        };
        assert_eq!(ids, want, "{}", role.as_str());
        let (_, v) = call(&w.server, "GET", "/api/regions", Some(t), None);
        let n = v["regions"].as_array().unwrap().len();
        assert_eq!(
            n,
            if *role == Role::Admin { 3 } else { 1 },
            "{}",
            role.as_str()
        );
        let (_, v) = call(&w.server, "GET", "/api/layers", Some(t), None);
        let hh = v["layers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["name"] == "households")
            .unwrap()["features"]
            .as_u64();
        assert_eq!(
            hh,
            Some(if *role == Role::Admin { 6 } else { 3 }),
            "{}",
            role.as_str()
        );
    }
    // The viewer's list of layers names no households or people.
    let (_, v) = call(
        &w.server,
        "GET",
        "/api/layers",
        Some(&token(Role::Viewer)),
        None,
    );
    let names: Vec<_> = v["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].clone())
        .collect();
    assert!(
        !names.contains(&"households".into()) && !names.contains(&"people".into()),
        "{names:?}"
    );
    // The OGC API answers with the same projection and the same scope.
    for (role, t) in w.tokens.iter().filter(|(r, _)| *r != Role::Viewer) {
        for (layer, id) in [("people", 1), ("households", 1)] {
            let ogc = call(
                &w.server,
                "GET",
                &format!("/ogc/collections/{layer}/items/{id}"),
                Some(t),
                None,
            )
            .1;
            let api = call(
                &w.server,
                "GET",
                &format!("/api/layers/{layer}/{id}"),
                Some(t),
                None,
            )
            .1;
            assert_eq!(
                ogc["properties"],
                api["properties"],
                "{} {layer} {id}",
                role.as_str()
            );
        }
        let (_, v) = call(
            &w.server,
            "GET",
            "/ogc/collections/households/items",
            Some(t),
            None,
        );
        assert_eq!(
            v["numberMatched"],
            if *role == Role::Admin { 6 } else { 3 },
            "{}",
            role.as_str()
        );
    }
    // Reading personal fields in full is audited with the ids (the server
    // batches such lines, within a fraction of a second).
    let out = audit_eventually(&w.store, &["--user", "m-office"], |o| {
        o.contains("read_personal") && o.contains("people")
    });
    assert!(
        out.contains("read_personal") && out.contains("people"),
        "{out}"
    );
    let (ok, out, _) = wangge(&[
        "audit",
        "--store",
        w.store.to_str().unwrap(),
        "--user",
        "m-viewer",
    ]);
    assert!(ok && !out.contains("read_personal"), "{out}");
}

/// The audit log once `done` holds of it (lines of reads are written in
/// batches by the server), or after 5 s.
pub fn audit_eventually(
    store: &std::path::Path,
    extra: &[&str],
    done: impl Fn(&str) -> bool,
) -> String {
    let mut args = vec!["audit", "--store", store.to_str().unwrap()];
    args.extend_from_slice(extra);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let (ok, out, err) = wangge(&args);
        assert!(ok, "{err}");
        if done(&out) || std::time::Instant::now() > deadline {
            return out;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}
