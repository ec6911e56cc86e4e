//! `/api/incidents`: emergency incidents kept as records (see
//! [`crate::incident`]). Thin: the rules are in the core, the writes one
//! store transaction each (the incident, its timeline line, its change
//! row, its audit line), ordered with every other write by the ledger's
//! write lock and announced on the change stream.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::Authenticated;
use super::emergency::{AreaJson, AreaSpec};
use super::error::blocking;
use super::ledger::with_etag;
use super::{ApiError, AppState, CallerOf};
use crate::access::Caller;
use crate::incident::{self, Incident, IncidentError, IncidentWrite};
use crate::store::{Change, StoreError};

impl From<IncidentError> for ApiError {
    fn from(e: IncidentError) -> Self {
        match e {
            IncidentError::Role(_) | IncidentError::OutOfScope => Self::Forbidden(e.to_string()),
            IncidentError::NotFound(_) => Self::NotFound(e.to_string()),
            IncidentError::CountsOnly => Self::CountsOnly(e.to_string()),
            IncidentError::Closed(_) => Self::Conflict {
                detail: e.to_string(),
                extra: json!({ "code": "incident_closed" }),
            },
            IncidentError::Invalid { code, detail } => Self::Refused {
                detail,
                extra: json!({ "code": code }),
            },
        }
    }
}

fn etag(id: i64, seq: i64) -> String {
    format!("\"incidents-{id}-{seq}\"")
}

/// The seq `If-Match` names for incident `id`: 428 without one, 412 when
/// it names another record.
fn if_match(headers: &HeaderMap, id: i64) -> Result<i64, ApiError> {
    let Some(h) = headers.get(header::IF_MATCH) else {
        return Err(ApiError::PreconditionRequired(format!(
            "writing incident {id} needs If-Match with its ETag (GET /api/incidents/{id})"
        )));
    };
    let named = h.to_str().unwrap_or_default().trim();
    named
        .trim_start_matches("W/")
        .trim_matches('"')
        .strip_prefix(&format!("incidents-{id}-"))
        .and_then(|s| s.parse::<i64>().ok())
        .ok_or_else(|| ApiError::Stale {
            detail: format!("If-Match {named} is not an ETag of incident {id}"),
            extra: json!({}),
        })
}

/// The area as stored: what the officer sent, in the shape the area and
/// plan routes take.
fn stored(spec: &AreaSpec) -> Value {
    match (&spec.polygon, &spec.circle) {
        (Some(g), _) => json!({ "polygon": g }),
        (_, Some(c)) => json!({ "circle": { "lon": c.lon, "lat": c.lat, "radius_m": c.radius_m } }),
        _ => Value::Null,
    }
}

/// Incident `id` as the caller may see it (404 otherwise, so that
/// existence is not disclosed).
pub(super) fn visible(st: &AppState, caller: &Caller, id: i64) -> Result<Incident, ApiError> {
    incident::may_keep(caller)?;
    st.incidents
        .incident(id)?
        .filter(|i| incident::visible(&st.snapshot.load(), caller, i))
        .ok_or_else(|| IncidentError::NotFound(id).into())
}

fn status_etag(id: i64, household: i64, version: i64) -> String {
    format!("\"incident-{id}-household-{household}-{version}\"")
}

/// A household's status in an incident as JSON with its ETag (untouched,
/// version 0, when never marked).
fn status_of(st: &AppState, id: i64, household: i64) -> Result<Value, ApiError> {
    let row = st
        .incidents
        .household_statuses(id)?
        .into_iter()
        .find(|h| h.household == household);
    let mut v = match row {
        Some(h) => json!(h),
        None => json!({ "household": household, "status": "untouched", "note": "", "version": 0 }),
    };
    let version = v["version"].as_i64().unwrap_or(0);
    v["etag"] = json!(status_etag(id, household, version));
    Ok(v)
}

/// The version `If-Match` names for household `household` of incident
/// `id`: 428 without one, 412 when it names anything else.
fn status_match(headers: &HeaderMap, id: i64, household: i64) -> Result<i64, ApiError> {
    let Some(h) = headers.get(header::IF_MATCH) else {
        return Err(ApiError::PreconditionRequired(format!(
            "marking household {household} needs If-Match with its status's ETag \
             (GET /api/incidents/{id}/households; \"incident-{id}-household-{household}-0\" when never marked)"
        )));
    };
    let named = h.to_str().unwrap_or_default().trim();
    named
        .trim_start_matches("W/")
        .trim_matches('"')
        .strip_prefix(&format!("incident-{id}-household-{household}-"))
        .and_then(|s| s.parse::<i64>().ok())
        .ok_or_else(|| ApiError::Stale {
            detail: format!(
                "If-Match {named} is not an ETag of household {household} in incident {id}"
            ),
            extra: json!({}),
        })
}

fn body(i: &Incident, seq: i64) -> Value {
    let mut v = json!(i);
    v["etag"] = json!(etag(i.id, seq));
    v
}

/// `GET /api/incidents`: the incidents whose areas meet the caller's
/// scope, newest first, each with its area versions and ETag.
pub async fn list(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
) -> Result<Json<Value>, ApiError> {
    incident::may_keep(&caller)?;
    blocking(move || {
        let s = st.snapshot.load();
        let mut out = vec![];
        for i in st.incidents.incidents()? {
            if incident::visible(&s, &caller, &i) {
                let seq = st.incidents.incident_etag(i.id)?;
                out.push(body(&i, seq));
            }
        }
        Ok::<_, ApiError>(Json(json!({ "incidents": out })))
    })
    .await
}

/// `GET /api/incidents/{id}`: one incident with its timeline, ETag.
pub async fn get_one(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    blocking(move || {
        let i = visible(&st, &caller, id)?;
        let seq = st.incidents.incident_etag(id)?;
        let mut v = body(&i, seq);
        v["timeline"] = json!(st.incidents.timeline(id)?);
        v["sent"] = json!(st.incidents.sent(id)?);
        Ok::<_, ApiError>(with_etag(StatusCode::OK, v, &etag(id, seq), None))
    })
    .await
}

/// Writes `w` (made from the snapshot under the write order) and answers
/// the incident as it is now.
async fn commit<F>(
    st: AppState,
    caller: Caller,
    from: String,
    status: StatusCode,
    make: F,
) -> Result<Response, ApiError>
where
    F: FnOnce(&crate::snapshot::Snapshot) -> Result<IncidentWrite, ApiError> + Send + 'static,
{
    blocking(move || {
        let _order = st
            .ledger
            .write
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let w = make(&st.snapshot.load())?;
        let detail = format!("{}: {}", w.what(), w.id().map_or("new".into(), |i| i.to_string()));
        let audit = super::auth::entry(&caller.name, w.what(), "incidents", &from, &detail);
        let done: Change = match st.incidents.write_incident(&w, &audit) {
            Err(StoreError::Precondition { id: household, current }) if matches!(w, IncidentWrite::Mark { .. }) => {
                let id = w.id().unwrap_or_default();
                let now = status_of(&st, id, household)?;
                return Err(ApiError::Stale {
                    detail: format!(
                        "household {household}'s status in incident {id} changed since it was read; nothing was written"
                    ),
                    extra: json!({ "current": now, "etag": status_etag(id, household, current) }),
                });
            }
            Err(StoreError::Precondition { id, current }) => {
                let now = st.incidents.incident(id)?;
                return Err(ApiError::Stale {
                    detail: format!("incident {id} changed since it was read; nothing was written"),
                    extra: json!({ "current": now.map(|i| body(&i, current)), "etag": etag(id, current) }),
                });
            }
            other => other?,
        };
        st.follow.wrote(done.seq);
        let id = done.id.unwrap_or_default();
        if let IncidentWrite::Mark { household, expect, .. } = w {
            let row = status_of(&st, id, household)?;
            return Ok(with_etag(status, row, &status_etag(id, household, expect + 1), None));
        }
        let i = st
            .incidents
            .incident(id)?
            .ok_or_else(|| ApiError::Internal(format!("incident {id} written but not read back")))?;
        let mut v = body(&i, done.seq);
        v["timeline"] = json!(st.incidents.timeline(id)?);
        v["sent"] = json!(st.incidents.sent(id)?);
        let location = (status == StatusCode::CREATED).then(|| format!("/api/incidents/{id}"));
        Ok(with_etag(status, v, &etag(id, done.seq), location))
    })
    .await
}

/// `POST /api/incidents` body.
#[derive(Debug, Deserialize)]
pub struct OpenRequest {
    pub title: String,
    pub kind: String,
    #[serde(flatten)]
    pub area: AreaSpec,
}

/// `POST /api/incidents`: opens an incident over a hazard area (201).
pub async fn open(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    Extension(auth): Extension<Authenticated>,
    AreaJson(req): AreaJson<OpenRequest>,
) -> Result<Response, ApiError> {
    incident::may_keep(&caller)?;
    let title = incident::title(&req.title)?;
    let kind = incident::kind(&req.kind)?;
    let area = req.area.parse()?;
    let value = stored(&req.area);
    let who = caller.clone();
    commit(st, caller, auth.address, StatusCode::CREATED, move |s| {
        let region = incident::writer_region(s, &who, &area)?;
        Ok(IncidentWrite::Open {
            title,
            kind,
            area: value,
            region,
        })
    })
    .await
}

/// `POST /api/incidents/{id}/areas` body: the area redrawn.
#[derive(Debug, Deserialize)]
pub struct RedrawRequest {
    #[serde(flatten)]
    pub area: AreaSpec,
}

/// `POST /api/incidents/{id}/areas`: the hazard area redrawn (a new
/// version; the ones before are kept). Needs `If-Match`.
pub async fn redraw(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    Extension(auth): Extension<Authenticated>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    AreaJson(req): AreaJson<RedrawRequest>,
) -> Result<Response, ApiError> {
    incident::may_keep(&caller)?;
    let expect = if_match(&headers, id)?;
    let area = req.area.parse()?;
    let value = stored(&req.area);
    let (who, st2) = (caller.clone(), st.clone());
    commit(st, caller, auth.address, StatusCode::OK, move |s| {
        let i = visible(&st2, &who, id)?;
        incident::open_one(&i)?;
        let region = incident::writer_region(s, &who, &area)?;
        Ok(IncidentWrite::Redraw {
            id,
            area: value,
            region,
            expect,
        })
    })
    .await
}

/// `POST /api/incidents/{id}/notes` and `/close` body.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoteRequest {
    #[serde(default)]
    pub note: String,
}

/// The region of an incident's area in force, for the change row.
fn region_of(
    s: &crate::snapshot::Snapshot,
    caller: &Caller,
    i: &Incident,
) -> Option<crate::domain::RegionCode> {
    i.area()
        .and_then(|a| incident::stored_area(&a.area))
        .and_then(|a| incident::touched_region(s, caller, &a))
}

/// A note or the close of incident `id`: the same checks, one write.
async fn remark(
    st: AppState,
    caller: Caller,
    from: String,
    id: i64,
    headers: &HeaderMap,
    text: &str,
    close: bool,
) -> Result<Response, ApiError> {
    incident::may_keep(&caller)?;
    let expect = if_match(headers, id)?;
    let note = incident::note(text, close)?;
    let (who, st2) = (caller.clone(), st.clone());
    commit(st, caller, from, StatusCode::OK, move |s| {
        let i = visible(&st2, &who, id)?;
        incident::open_one(&i)?;
        let region = region_of(s, &who, &i);
        Ok(if close {
            IncidentWrite::Close {
                id,
                note,
                region,
                expect,
            }
        } else {
            IncidentWrite::Note {
                id,
                note,
                region,
                expect,
            }
        })
    })
    .await
}

/// `POST /api/incidents/{id}/notes`: a line of the timeline. Needs `If-Match`.
pub async fn note(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    Extension(auth): Extension<Authenticated>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Json(req): Json<NoteRequest>,
) -> Result<Response, ApiError> {
    remark(st, caller, auth.address, id, &headers, &req.note, false).await
}

/// `POST /api/incidents/{id}/close`: the incident closed, with an
/// optional remark; it takes no more writes. Needs `If-Match`.
pub async fn close(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    Extension(auth): Extension<Authenticated>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Json(req): Json<NoteRequest>,
) -> Result<Response, ApiError> {
    remark(st, caller, auth.address, id, &headers, &req.note, true).await
}

/// `GET /api/incidents/{id}/households`: the households marked in the
/// incident (the others are untouched), each with its status's ETag.
pub async fn statuses(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    incident::may_see_households(&caller)?;
    blocking(move || {
        visible(&st, &caller, id)?;
        let s = st.snapshot.load();
        let rows: Vec<Value> = st
            .incidents
            .household_statuses(id)?
            .into_iter()
            .filter(|h| s.households.get(h.household, &caller.scope).is_some())
            .map(|h| {
                let tag = status_etag(id, h.household, h.version);
                let mut v = json!(h);
                v["etag"] = json!(tag);
                v
            })
            .collect();
        Ok::<_, ApiError>(Json(json!({ "households": rows })))
    })
    .await
}

/// `PUT /api/incidents/{id}/households/{household}` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarkRequest {
    pub status: String,
    #[serde(default)]
    pub note: String,
}

/// `PUT /api/incidents/{id}/households/{household}`: a household's status
/// marked (untouched, contacted, reached, not_home, needs_evacuation,
/// evacuated; or in Chinese). Needs `If-Match` with the status's ETag.
pub async fn mark(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    Extension(auth): Extension<Authenticated>,
    Path((id, household)): Path<(i64, i64)>,
    headers: HeaderMap,
    Json(req): Json<MarkRequest>,
) -> Result<Response, ApiError> {
    incident::may_see_households(&caller)?;
    let expect = status_match(&headers, id, household)?;
    let status = incident::contact_status(&req.status)?;
    let note = incident::note(&req.note, true)?;
    let (who, st2) = (caller.clone(), st.clone());
    commit(st, caller, auth.address, StatusCode::OK, move |s| {
        let i = visible(&st2, &who, id)?;
        incident::open_one(&i)?;
        let region = incident::household_region(s, &who, household)?;
        Ok(IncidentWrite::Mark {
            id,
            household,
            status,
            note,
            region,
            expect,
        })
    })
    .await
}
