//! HTTP API (axum). Handlers are thin: they extract, make one call into the
//! snapshot or core, and answer JSON; errors become problem documents in
//! [`error`] and nowhere else.

pub mod error;
mod layers;
mod regions;
mod state;

use std::path::Path;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};

pub use error::ApiError;
pub use state::{AppState, CallerScope};

/// Largest request body accepted anywhere (uploads included).
pub const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// Who may call a route. Enforced before the handler runs, from this one
/// table, so the access matrix test sees exactly what the router does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not (health, version, login).
    Public,
    /// Any signed-in user; what they see is still cut to their scope and
    /// their role's projection of personal fields.
    SignedIn,
    /// Only these roles.
    Roles(&'static [crate::access::Role]),
}

/// One route of the API: method, path, access rule and a summary for the
/// OpenAPI document.
#[derive(Debug, Clone)]
pub struct RouteSpec {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
    pub summary: &'static str,
}

type Handler = axum::routing::MethodRouter<AppState>;

fn table() -> Vec<(RouteSpec, Handler)> {
    use Access::{Public, SignedIn};
    let r = |method, path, access, summary, h: Handler| {
        (
            RouteSpec {
                method,
                path,
                access,
                summary,
            },
            h,
        )
    };
    vec![
        r(
            "GET",
            "/health",
            Public,
            "200 once the snapshot is loaded",
            get(health),
        ),
        r(
            "GET",
            "/api/version",
            Public,
            "name, version, store kind, snapshot generation",
            get(version),
        ),
        r(
            "GET",
            "/api/regions",
            SignedIn,
            "regions in scope with bbox and counts",
            get(regions::list),
        ),
        r(
            "GET",
            "/api/regions/{code}",
            SignedIn,
            "one region with its boundary",
            get(regions::detail),
        ),
        r(
            "GET",
            "/api/layers",
            SignedIn,
            "layers and their feature counts",
            get(layers::list),
        ),
        r(
            "GET",
            "/api/layers/{layer}",
            SignedIn,
            "a layer as GeoJSON, bbox filter, paged",
            get(layers::items),
        ),
        r(
            "GET",
            "/api/layers/{layer}/{id}",
            SignedIn,
            "one feature as GeoJSON",
            get(layers::item),
        ),
    ]
}

/// The API's routes, for documentation and the access matrix test.
pub fn route_specs() -> Vec<RouteSpec> {
    table().into_iter().map(|(s, _)| s).collect()
}

/// The whole application: API routes, then the viewer's static files.
pub fn router(state: AppState, viewer_dist: Option<&Path>) -> Router {
    let mut api = Router::new();
    for (spec, handler) in table() {
        api = api.route(spec.path, handler);
    }
    let api = api
        .route("/api/{*rest}", get(api_not_found).post(api_not_found))
        .with_state(state);
    let app = match viewer_dist.filter(|d| d.join("index.html").is_file()) {
        Some(dist) => api.fallback_service(
            ServeDir::new(dist).fallback(ServeFile::new(dist.join("index.html"))),
        ),
        None => api.fallback(viewer_missing),
    };
    app.layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(60),
        ))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().level(tracing::Level::INFO))
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
}

/// Answers 200 once the snapshot is loaded (the server binds only then).
async fn health(state: axum::extract::State<AppState>) -> Json<serde_json::Value> {
    Json(json!({ "status": "ok", "generation": state.snapshot.load().generation }))
}

async fn version(state: axum::extract::State<AppState>) -> Json<serde_json::Value> {
    Json(json!({
        "name": "wangge",
        "version": env!("CARGO_PKG_VERSION"),
        "store": state.store.kind(),
        "generation": state.snapshot.load().generation,
    }))
}

async fn api_not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!("no API route {}", uri.path()))
}

async fn viewer_missing(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!(
        "{}: the viewer is not built (run scripts/demo, or npm run build in viewer/)",
        uri.path()
    ))
}
