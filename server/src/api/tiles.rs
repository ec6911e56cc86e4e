//! `/tiles`: vector tiles of every layer with TileJSON, cut from the
//! snapshot in the caller's scope ([`crate::tiles`]), gzip-encoded, with
//! ETags so a map revalidates cheaply and never shows a stale tile.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::{ApiError, AppState, CallerOf};
use crate::access::projection::detail;
use crate::tiles::{self, Source, TileError};

impl From<TileError> for ApiError {
    fn from(e: TileError) -> Self {
        match e {
            TileError::UnknownSource(_) => Self::NotFound(e.to_string()),
            TileError::BadAddress(_) => Self::BadRequest(e.to_string()),
        }
    }
}

/// The server's own origin as the caller reached it, for TileJSON URLs.
fn origin(st: &AppState, headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .unwrap_or("127.0.0.1");
    let scheme = if st.secure_cookies { "https" } else { "http" };
    format!("{scheme}://{host}")
}

/// Bounds of the regions the caller sees.
fn bounds(st: &AppState, scope: &crate::access::Scope) -> Option<geo_types::Rect<f64>> {
    use geo::BoundingRect;
    let s = st.snapshot.load();
    s.regions(scope)
        .filter_map(|r| r.boundary.bounding_rect())
        .reduce(crate::spatial::cover)
}

/// `GET /tiles`: the tile sources with their TileJSON.
pub async fn list(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    headers: HeaderMap,
) -> Json<Value> {
    let base = origin(&st, &headers);
    let b = bounds(&st, &caller.scope);
    let sources: Vec<Value> = Source::ALL
        .iter()
        .map(|s| {
            let mut tj = tiles::tilejson(*s, detail(caller.role), &base, b);
            tj["url"] = json!(format!("{base}/tiles/{}", s.as_str()));
            tj
        })
        .collect();
    Json(json!({ "sources": sources }))
}

/// `GET /tiles/{source}`: TileJSON 3.0.0.
pub async fn tilejson(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    Path(source): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let s = Source::parse(&source).ok_or(TileError::UnknownSource(source))?;
    Ok(Json(tiles::tilejson(
        s,
        detail(caller.role),
        &origin(&st, &headers),
        bounds(&st, &caller.scope),
    )))
}

/// `GET /tiles/{source}/{z}/{x}/{y}.mvt`: one tile as the caller's scope
/// and role may see it (counts only for `viewer` and a public map). 204
/// when empty; 304 when the caller's `If-None-Match` still holds.
pub async fn tile(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    Path((source, z, x, y)): Path<(String, String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (source, frame) = tiles::address(&source, &z, &x, &y)?;
    let snapshot = st.snapshot.load();
    let (scope, detail) = (caller.scope, detail(caller.role));
    // A warm tile is answered here; cutting one runs on the blocking pool.
    let tile = if let Some(t) = st.tiles.cached(&snapshot, source, frame, &scope, detail) {
        t
    } else {
        let cache = st.tiles.clone();
        tokio::task::spawn_blocking(move || {
            cache.get_for(&snapshot, source, frame, &scope, detail).0
        })
        .await?
    };
    let etag = HeaderValue::from_str(&tile.etag)?;
    let common = [
        (header::ETAG, etag),
        // Scoped per caller: shared caches must not keep it; browsers
        // revalidate every time, which the ETag makes a 304.
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-cache"),
        ),
        (
            header::VARY,
            HeaderValue::from_static("Cookie, Authorization, Accept-Encoding"),
        ),
    ];
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim() == tile.etag || t.trim() == "*")
        });
    if matches {
        return Ok((StatusCode::NOT_MODIFIED, common).into_response());
    }
    if tile.is_empty() {
        return Ok((StatusCode::NO_CONTENT, common).into_response());
    }
    let mvt = HeaderValue::from_static("application/vnd.mapbox-vector-tile");
    let gzip_ok = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));
    if gzip_ok {
        Ok((
            common,
            [
                (header::CONTENT_TYPE, mvt),
                (header::CONTENT_ENCODING, HeaderValue::from_static("gzip")),
            ],
            tile.gzip.clone(),
        )
            .into_response())
    } else {
        let mut raw = Vec::with_capacity(tile.raw_len);
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&tile.gzip[..]), &mut raw)?;
        Ok((common, [(header::CONTENT_TYPE, mvt)], raw).into_response())
    }
}
