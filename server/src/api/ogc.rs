//! `/ogc`: OGC API – Features Part 1 (Core, GeoJSON, OAS 3.0) for GDAL,
//! QGIS and OWSLib. Thin handlers: check the query and the wanted format,
//! then one call into [`crate::ogc`], which reads the snapshot exactly as
//! `/api/layers` does (caller's scope, role's projection). The plan
//! collections read evaluated plan versions instead ([`plan_sets`]).

mod plan_sets;

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::auth::{timestamp, Authenticated};
use super::{parse_bbox, ApiError, AppState, CallerOf};
use crate::access::Caller;
use crate::domain::Level;
use crate::ogc::plans::{GridId, Shown};
use crate::ogc::{self, Collection, ItemsQuery, PlanSet, DEFAULT_LIMIT, MAX_LIMIT, PREFIX};
use crate::snapshot::{Page, Snapshot};

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

/// `?version=`: a plan version id.
fn version_param(q: &HashMap<String, String>) -> Result<Option<i64>, ApiError> {
    q.get("version")
        .map(|s| match s.parse::<i64>() {
            Ok(v) if v > 0 => Ok(v),
            _ => Err(ApiError::BadRequest(format!(
                "version={s:?}: a plan version id (a whole number) expected"
            ))),
        })
        .transpose()
}

/// `?level=`: 1, 2 or 3.
fn level_param(q: &HashMap<String, String>) -> Result<Option<Level>, ApiError> {
    q.get("level")
        .map(|s| {
            s.parse::<u8>()
                .ok()
                .and_then(Level::new)
                .ok_or_else(|| ApiError::BadRequest(format!("level={s:?}: 1, 2 or 3")))
        })
        .transpose()
}

/// The extents of the plan collections as `caller` sees them (store reads
/// for the published one: see [`plan_sets::versions`]).
async fn plan_extents(
    st: &AppState,
    s: &Snapshot,
    caller: &Caller,
) -> Result<impl Fn(PlanSet) -> Option<geo_types::Rect<f64>>, ApiError> {
    let current = plan_sets::extent(st, s, &caller.scope, PlanSet::Current).await?;
    let published = plan_sets::extent(st, s, &caller.scope, PlanSet::Published).await?;
    Ok(move |set| match set {
        PlanSet::Current => current,
        PlanSet::Published => published,
    })
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
    let extents = plan_extents(&st, &s, &caller).await?;
    let doc = ogc::collections_doc(&s, &caller, &base_url(&st, &headers), &extents);
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
    let extent = match coll.plans() {
        Some(set) => plan_sets::extent(&st, &s, &caller.scope, set).await?,
        None => None,
    };
    let doc = ogc::collection_doc(&s, coll, &caller, &base_url(&st, &headers), &|_| extent);
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
    let coll = collection(&id)?;
    let known: &[&str] = match coll.plans() {
        Some(_) => &["bbox", "limit", "offset", "datetime", "version", "level"],
        None => &["bbox", "limit", "offset", "datetime"],
    };
    check_request(&q, known, &headers)?;
    super::layers::check_listable(&st, &caller, coll.layer)?;
    let query = ItemsQuery {
        bbox: q.get("bbox").map(|s| parse_bbox(s)).transpose()?,
        limit: number(&q, "limit", DEFAULT_LIMIT, (1, MAX_LIMIT))?,
        offset: number(&q, "offset", 0, (0, usize::MAX))?,
        datetime: q.get("datetime").cloned(),
        version: version_param(&q)?,
        level: level_param(&q)?,
    };
    query
        .datetime
        .as_deref()
        .map(super::when::ogc_datetime)
        .transpose()?;
    let page = if let Some(set) = coll.plans() {
        plan_page(&st, &caller, set, &query).await?
    } else {
        let s = st.snapshot.load();
        let page = ogc::items(&s, coll, &caller, &query);
        super::layers::audit_reveal(&st, &caller, &auth.address, coll.layer, &page.items);
        ogc::features(&page, caller.role)?
    };
    let doc = ogc::items_doc(coll, page, &query, &base_url(&st, &headers), &timestamp(0));
    Ok(respond(GEOJSON, &doc))
}

/// A page of a plan collection: the grids of the versions it shows the
/// caller (or of the one asked for), filtered, by region and id.
async fn plan_page(
    st: &AppState,
    caller: &Caller,
    set: PlanSet,
    q: &ItemsQuery,
) -> Result<Page<serde_json::Value>, ApiError> {
    let plans = plan_sets::shown(st, &caller.scope, set, q.version).await?;
    let filter = ogc::plans::Filter {
        bbox: q.bbox,
        level: q.level,
    };
    let grids = ogc::plans::grids(&plans, &filter);
    Ok(Page {
        matched: grids.len(),
        offset: q.offset,
        items: grids
            .iter()
            .skip(q.offset)
            .take(q.limit)
            .map(Shown::feature)
            .collect(),
    })
}

pub async fn item(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    axum::Extension(auth): axum::Extension<Authenticated>,
    headers: HeaderMap,
    Path((id, fid)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let coll = collection(&id)?;
    let known: &[&str] = if coll.plans().is_some() {
        &["version"]
    } else {
        &[]
    };
    check_request(&q, known, &headers)?;
    super::layers::check_listable(&st, &caller, coll.layer)?;
    let missing = || ApiError::NotFound(format!("{id} feature {fid:?}"));
    // Ids are numbers; anything else names no feature (404, not 400).
    let n: i64 = fid.parse().map_err(|_| missing())?;
    let base = base_url(&st, &headers);
    if let Some(set) = coll.plans() {
        let version = version_param(&q)?;
        let feature = plan_item(&st, &caller, set, n, version)
            .await?
            .ok_or_else(missing)?;
        return Ok(respond(
            GEOJSON,
            &ogc::item_doc(coll, feature, &base, version),
        ));
    }
    let s = st.snapshot.load();
    let record = ogc::item(&s, coll, n, &caller).ok_or_else(missing)?;
    super::layers::audit_reveal(
        &st,
        &caller,
        &auth.address,
        coll.layer,
        std::slice::from_ref(&record),
    );
    let feature = ogc::record_feature(&record, caller.role)?;
    Ok(respond(GEOJSON, &ogc::item_doc(coll, feature, &base, None)))
}

/// Grid `id` of a plan collection, when the versions it shows the caller
/// (or the one asked for) hold it; only its own version is evaluated.
async fn plan_item(
    st: &AppState,
    caller: &Caller,
    set: PlanSet,
    id: i64,
    version: Option<i64>,
) -> Result<Option<serde_json::Value>, ApiError> {
    let Some(grid) = GridId::parse(id) else {
        return Ok(None);
    };
    let plans = if let Some(v) = version {
        vec![plan_sets::asked(st, &caller.scope, v).await?]
    } else {
        let s = st.snapshot.load();
        let mut versions = plan_sets::versions(st, &s, &caller.scope, set).await?;
        versions.retain(|(_, v)| *v == grid.version);
        plan_sets::evaluated(st, s, versions).await?
    };
    Ok(ogc::plans::find(&plans, id).map(|s| s.feature()))
}
