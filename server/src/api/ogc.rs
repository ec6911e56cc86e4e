//! `/ogc`: OGC API – Features Part 1 (Core, GeoJSON, OAS 3.0) for GDAL,
//! QGIS and OWSLib. Thin handlers: check the query and the wanted format,
//! then one call into [`crate::ogc`], which reads the snapshot exactly as
//! `/api/layers` does (caller's scope, role's projection).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::auth::{timestamp, Authenticated};
use super::{parse_bbox, ApiError, AppState, CallerOf};
use crate::ogc::{self, Collection, ItemsQuery, DEFAULT_LIMIT, MAX_LIMIT, PREFIX};

const GEOJSON: &str = "application/geo+json";
const JSON: &str = "application/json";

/// The absolute URL of the OGC root as the client reached it: clients
/// follow links verbatim, and GDAL resolves relative ones poorly. A Host
/// header with anything but host-name characters gets root-relative links.
fn base_url(st: &AppState, headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        });
    match host {
        Some(h) => {
            let scheme = if st.secure_cookies { "https" } else { "http" };
            format!("{scheme}://{h}{PREFIX}")
        }
        None => PREFIX.to_string(),
    }
}

/// Refuses query parameters this API does not define (the standard asks
/// for 400, so a typo is not silently ignored), an `f` other than JSON,
/// and an `Accept` header that admits no JSON (406).
fn check_request(
    q: &HashMap<String, String>,
    known: &[&str],
    headers: &HeaderMap,
) -> Result<(), ApiError> {
    if let Some(k) = q.keys().find(|k| !known.contains(&k.as_str()) && *k != "f") {
        return Err(ApiError::BadRequest(format!(
            "unknown query parameter {k:?}; parameters: {}",
            known
                .iter()
                .chain(&["f"])
                .copied()
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    if let Some(f) = q.get("f") {
        if f != "json" {
            return Err(ApiError::BadRequest(format!(
                "f={f:?}: only f=json is served"
            )));
        }
    }
    let accept = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|r| {
            r.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .collect::<Vec<_>>();
    let json_ok = accept.is_empty()
        || accept.iter().any(|m| {
            matches!(
                m.as_str(),
                "" | "*/*" | "application/*" | JSON | GEOJSON | "application/vnd.oai.openapi+json"
            )
        });
    if !json_ok {
        return Err(ApiError::NotAcceptable(format!(
            "only {JSON} and {GEOJSON} are served"
        )));
    }
    Ok(())
}

fn respond(kind: &'static str, v: &Value) -> Response {
    ([(header::CONTENT_TYPE, kind)], v.to_string()).into_response()
}

fn collection(id: &str) -> Result<Collection, ApiError> {
    ogc::collection(id).ok_or_else(|| {
        let known: Vec<_> = Collection::all().iter().map(|c| c.id).collect();
        ApiError::NotFound(format!(
            "unknown collection {id:?}; collections: {}",
            known.join(", ")
        ))
    })
}

/// A whole number in `min..=max`, or the default when absent.
fn number(
    q: &HashMap<String, String>,
    key: &str,
    default: usize,
    (min, max): (usize, usize),
) -> Result<usize, ApiError> {
    match q.get(key) {
        None => Ok(default),
        Some(s) => match s.parse::<usize>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(ApiError::BadRequest(format!(
                "{key}={s:?}: a whole number from {min} to {max} expected"
            ))),
        },
    }
}

pub async fn landing(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    check_request(&q, &[], &headers)?;
    let base = base_url(&st, &headers);
    let desc = format!("{}/api/openapi.json", base.trim_end_matches(PREFIX));
    Ok(respond(JSON, &ogc::landing(&base, &desc)))
}

pub async fn conformance(
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    check_request(&q, &[], &headers)?;
    Ok(respond(JSON, &ogc::conformance()))
}

pub async fn collections(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    check_request(&q, &[], &headers)?;
    let s = st.snapshot.load();
    let doc = ogc::collections_doc(&s, &caller, &base_url(&st, &headers));
    Ok(respond(JSON, &doc))
}

pub async fn collection_one(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    check_request(&q, &[], &headers)?;
    let coll = collection(&id)?;
    super::layers::check_listable(&st, &caller, coll.layer)?;
    let s = st.snapshot.load();
    let doc = ogc::collection_doc(&s, coll, &caller, &base_url(&st, &headers));
    Ok(respond(JSON, &doc))
}

pub async fn items(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    axum::Extension(auth): axum::Extension<Authenticated>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    check_request(&q, &["bbox", "limit", "offset", "datetime"], &headers)?;
    let coll = collection(&id)?;
    super::layers::check_listable(&st, &caller, coll.layer)?;
    let query = ItemsQuery {
        bbox: q.get("bbox").map(|s| parse_bbox(s)).transpose()?,
        limit: number(&q, "limit", DEFAULT_LIMIT, (1, MAX_LIMIT))?,
        offset: number(&q, "offset", 0, (0, usize::MAX))?,
        datetime: q.get("datetime").cloned(),
    };
    query
        .datetime
        .as_deref()
        .map(super::when::ogc_datetime)
        .transpose()?;
    let s = st.snapshot.load();
    let page = ogc::items(&s, coll, &caller, &query);
    super::layers::audit_reveal(&st, &caller, &auth.address, coll.layer, &page.items);
    let doc = ogc::items_doc(
        coll,
        caller.role,
        &page,
        &query,
        &base_url(&st, &headers),
        &timestamp(0),
    )?;
    Ok(respond(GEOJSON, &doc))
}

pub async fn item(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    axum::Extension(auth): axum::Extension<Authenticated>,
    headers: HeaderMap,
    Path((id, fid)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    check_request(&q, &[], &headers)?;
    let coll = collection(&id)?;
    super::layers::check_listable(&st, &caller, coll.layer)?;
    let missing = || ApiError::NotFound(format!("{id} feature {fid:?}"));
    // Ids are numbers; anything else names no feature (404, not 400).
    let n: i64 = fid.parse().map_err(|_| missing())?;
    let s = st.snapshot.load();
    let r = ogc::item(&s, coll, n, &caller).ok_or_else(missing)?;
    super::layers::audit_reveal(
        &st,
        &caller,
        &auth.address,
        coll.layer,
        std::slice::from_ref(&r),
    );
    let doc = ogc::item_doc(coll, caller.role, &r, &base_url(&st, &headers))?;
    Ok(respond(GEOJSON, &doc))
}
