#![no_main]
//! JSON request bodies: the first byte picks a route of the route table
//! that takes a body, the rest is the body, sent through the whole router
//! in process (authentication, limits, extractors, handlers, the heavy
//! pool) as an admin with a bearer token. Any answer is fine except a
//! panic or a 500: a body the client got wrong must be a 4xx saying what.
//!
//! The city is generated once per process (a few thousand households) into
//! a scratch GeoPackage, with one plan version so that the edit routes have
//! something to edit.

use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt;

use wangge::access::account::{AuditEntry, Token, User};
use wangge::access::secret::{new_secret, secret_digest};
use wangge::access::Role;
use wangge::api::{self, AppState};
use wangge::sealing::{Key, Sealer};
use wangge::snapshot::Snapshot;

struct App {
    rt: tokio::runtime::Runtime,
    router: axum::Router,
    token: String,
    /// (path, If-Match) of every route that takes a body.
    routes: Vec<(String, Option<String>)>,
}

static APP: OnceLock<App> = OnceLock::new();

fn app() -> App {
    let dir = std::env::temp_dir().join(format!("wangge-fuzz-api-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let path = dir.join("city.gpkg");
    let _ = std::fs::remove_file(&path);
    let key = Key::generate().expect("a key");
    let store = wangge::store::open_with(&path.to_string_lossy(), Arc::new(Sealer::new(&key)))
        .expect("a store");
    let city = wangge::generate::generate(
        wangge::generate::Params {
            households: 3000,
            seed: 7,
        },
        &mut |_| {},
    );
    let community = city
        .regions
        .iter()
        .map(|r| r.code.to_string())
        .max_by_key(String::len)
        .expect("a community");
    let street = community[..9].to_string();
    let audit = AuditEntry {
        id: 0,
        at: "2026-12-03T00:00:00Z".into(),
        user: "fuzz".into(),
        action: "generate".into(),
        target: "fuzz".into(),
        from: "-".into(),
        detail: String::new(),
    };
    store
        .import_audited(&mut city.into_records().map(Ok), &audit)
        .expect("the city stored");
    let user = store
        .put_user(&User {
            id: 0,
            name: "fuzz".into(),
            role: Role::Admin,
            scope: vec![String::new()],
            password_hash: String::new(),
            disabled: false,
            created_at: "2026-12-03T00:00:00Z".into(),
        })
        .expect("a user");
    let token = new_secret("wgt_");
    store
        .put_token(&Token {
            id: 0,
            user_id: user,
            label: "fuzz".into(),
            digest: secret_digest(&token),
            created_at: "2026-12-03T00:00:00Z".into(),
            expires_at: None,
            revoked: false,
        })
        .expect("a token");
    let snapshot = Snapshot::build(store.load().expect("loads"));
    let heavy = api::heavy::HeavyPool::new(&api::heavy::Config {
        deadline: std::time::Duration::from_secs(5),
        ..api::heavy::Config::default()
    });
    let state = AppState::new(store, snapshot, Arc::new(Default::default()), heavy);
    let router = api::router(state, None);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    // One plan of the community, made through the API itself.
    let send = |method: Method, path: &str, body: &str| {
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .expect("a request");
        rt.block_on(async {
            let resp = router.clone().oneshot(req).await.expect("an answer");
            let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
                .await
                .expect("a body");
            serde_json::from_slice::<serde_json::Value>(&bytes).unwrap_or_default()
        })
    };
    let job = send(
        Method::POST,
        &format!("/api/regions/{community}/plans"),
        r#"{"seed": 1}"#,
    );
    let job = job["id"].as_u64().expect("a plan job");
    let plan = loop {
        let j = send(Method::GET, &format!("/api/jobs/{job}"), "");
        if let Some(id) = j["plans"][0]["id"].as_i64().or(j["plans"][0].as_i64()) {
            break id;
        }
        assert!(j["status"] != "failed", "plan job failed: {j}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let etag = Some(format!("\"plan-{plan}\""));
    let routes = api::route_specs()
        .into_iter()
        .filter(|s| s.method == "POST")
        // A plan job partitions a whole street in the background: one
        // per input would measure the partitioner, not the parser.
        .filter(|s| s.path != "/api/regions/{code}/plans")
        .map(|s| {
            let path = s
                .path
                .replace("{code}", &community)
                .replace("{id}", &plan.to_string());
            let m = (s.path.starts_with("/api/plans/")).then(|| etag.clone()).flatten();
            (path, m)
        })
        .chain([(format!("/api/regions/{street}/plans/from-grids"), None)])
        .collect();
    App {
        rt,
        router,
        token,
        routes,
    }
}

fuzz_target!(|data: &[u8]| {
    let app = APP.get_or_init(app);
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let (path, if_match) = &app.routes[pick as usize % app.routes.len()];
    let mut req = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {}", app.token))
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(m) = if_match {
        req = req.header(header::IF_MATCH, m);
    }
    let req = req.body(Body::from(body.to_vec())).expect("a request");
    let status = app
        .rt
        .block_on(app.router.clone().oneshot(req))
        .expect("an answer")
        .status();
    assert_ne!(
        status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "{path}: a body made the server fail: {:?}",
        String::from_utf8_lossy(body)
    );
});
