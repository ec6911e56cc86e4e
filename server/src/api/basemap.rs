//! Buildings and roads over HTTP, for planners: one read with its ETag,
//! created, updated and deleted (`If-Match` required). Thin, as
//! [`super::ledger`] is for households: the rules are in
//! [`crate::basemap`], the transaction in the store
//! ([`crate::store::Store::write_record`]), the snapshot follows
//! ([`crate::snapshot::SnapshotCell::put_building`], `put_road`) in log
//! order under the ledger's write lock.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{json, Value};

use super::auth::Authenticated;
use super::error::blocking;
use super::ledger::with_etag;
use super::{ApiError, AppState, CallerOf};
use crate::access::Caller;
use crate::basemap::{self, BasemapError, Ground};
use crate::domain::{Layer, Record, RegionCode};
use crate::io::feature::feature_for;
use crate::store::{Change, RecordOp, RecordWrite, StoreError};

impl From<BasemapError> for ApiError {
    fn from(e: BasemapError) -> Self {
        match e {
            BasemapError::Role(_) | BasemapError::OutOfScope(_) => Self::Forbidden(e.to_string()),
            BasemapError::NotFound(..) => Self::NotFound(e.to_string()),
            BasemapError::Invalid { code, detail, at } => Self::Refused {
                detail,
                extra: if at.is_null() {
                    json!({ "code": code })
                } else {
                    json!({ "code": code, "where": at })
                },
            },
        }
    }
}

fn etag(layer: Layer, id: i64, seq: i64) -> String {
    format!("\"{layer}-{id}-{seq}\"")
}

/// The seq `If-Match` names for record `id` of `layer`: 428 without one,
/// 412 when it names another record.
fn if_match(headers: &HeaderMap, layer: Layer, id: i64) -> Result<i64, ApiError> {
    let Some(h) = headers.get(header::IF_MATCH) else {
        return Err(ApiError::PreconditionRequired(format!(
            "writing {layer} {id} needs If-Match with its ETag (GET /api/{layer}/{id})"
        )));
    };
    let named = h.to_str().unwrap_or_default().trim();
    named
        .trim_start_matches("W/")
        .trim_matches('"')
        .strip_prefix(&format!("{layer}-{id}-"))
        .and_then(|s| s.parse::<i64>().ok())
        .ok_or_else(|| ApiError::Stale {
            detail: format!("If-Match {named} is not an ETag of {layer} {id}"),
            extra: json!({}),
        })
}

fn feature(r: &Record, caller: &Caller) -> Result<Value, ApiError> {
    Ok(serde_json::to_value(feature_for(r, caller.role))?)
}

fn parse_id(layer: Layer, id: &str) -> Result<i64, ApiError> {
    id.parse()
        .map_err(|_| ApiError::BadRequest(format!("{layer} id {id:?} is not a number")))
}

/// The record with its ETag (200).
async fn read(st: &AppState, caller: &Caller, r: Record) -> Result<Response, ApiError> {
    let (layer, id) = (r.layer(), crate::snapshot::record_id(&r));
    let store = st.store.clone();
    let seq = blocking(move || store.etag_seq(layer, id)).await?;
    Ok(with_etag(
        StatusCode::OK,
        feature(&r, caller)?,
        &etag(layer, id, seq),
        None,
    ))
}

/// Applies `w` in the store and the snapshot, in log order, and answers
/// with the stored record (`status`) or 204 for a delete; a stale ETag
/// becomes a 412 showing the current record.
async fn apply(
    st: &AppState,
    caller: &Caller,
    from: &str,
    w: RecordWrite,
    after: Option<Record>,
    detail: &str,
) -> Result<Response, ApiError> {
    let layer = w.layer();
    let audit = super::auth::entry(&caller.name, "record_write", layer.as_str(), from, detail);
    let hint = after.as_ref().map(crate::snapshot::record_id);
    let hint = match &w.op {
        RecordOp::Delete { id, .. } => Some(*id),
        _ => hint,
    };
    let created = matches!(w.op, RecordOp::Create(_));
    let st2 = st.clone();
    let done = blocking(move || {
        let _order = st2
            .ledger
            .write
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let change: Change = st2.store.write_record(&w, &audit)?;
        let id = change.id.unwrap_or_default();
        let stored = after.map(|mut r| {
            if let Some(slot) = crate::store::changes::id_of(&mut r) {
                *slot = id;
            }
            r
        });
        match (layer, &stored) {
            (Layer::Buildings, Some(Record::Building(b))) => {
                drop(st2.snapshot.put_building(id, Some(b)))
            }
            (Layer::Buildings, _) => drop(st2.snapshot.put_building(id, None)),
            (_, Some(Record::Road(r))) => drop(st2.snapshot.put_road(id, Some(r))),
            _ => drop(st2.snapshot.put_road(id, None)),
        }
        Ok::<_, StoreError>((change, stored))
    })
    .await;
    let (change, stored) = match done {
        Err(ApiError::Store(StoreError::Precondition { current, .. })) => {
            let id = hint.unwrap_or_default();
            let now = st
                .snapshot
                .load()
                .layer_item(layer, id, caller)
                .map(|r| feature(&r, caller))
                .transpose()?;
            return Err(ApiError::Stale {
                detail: format!("{layer} {id} changed since it was read"),
                extra: json!({ "current": now, "etag": etag(layer, id, current) }),
            });
        }
        other => other?,
    };
    let Some(r) = stored else {
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    let id = change.id.unwrap_or_default();
    let (status, location) = if created {
        (StatusCode::CREATED, Some(format!("/api/{layer}/{id}")))
    } else {
        (StatusCode::OK, None)
    };
    Ok(with_etag(
        status,
        feature(&r, caller)?,
        &etag(layer, id, change.seq),
        location,
    ))
}

fn write(op: RecordOp, region: RegionCode, forget: Vec<RegionCode>) -> RecordWrite {
    RecordWrite {
        op,
        region: Some(region),
        forget,
        forget_stored: false,
    }
}

/// `GET /api/buildings/{id}`, `GET /api/roads/{id}`: the feature with its
/// ETag, for any signed-in user (the basemap is everyone's).
pub async fn get_one<T: Ground>(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(T::LAYER, &id)?;
    let r = st
        .snapshot
        .load()
        .layer_item(T::LAYER, id, &caller)
        .ok_or(BasemapError::NotFound(T::LAYER, id))?;
    read(&st, &caller, r).await
}

/// `POST /api/buildings`, `POST /api/roads`: a new feature (201, ETag,
/// Location).
pub async fn create<T: Ground>(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    Extension(auth): Extension<Authenticated>,
    Json(f): Json<T::Fields>,
) -> Result<Response, ApiError> {
    let s = st.snapshot.load();
    let (x, at) = basemap::create::<T>(&s, &caller, &f)?;
    let detail = T::detail(None, Some(&x));
    let forget = x.measured_in(&s);
    let r = x.into_record();
    let w = write(RecordOp::Create(r.clone()), at.region, forget);
    apply(&st, &caller, &auth.address, w, Some(r), &detail).await
}

/// `PATCH /api/buildings/{id}`, `PATCH /api/roads/{id}` with `If-Match`:
/// changes the fields given.
pub async fn update<T: Ground>(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    Extension(auth): Extension<Authenticated>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(f): Json<T::Fields>,
) -> Result<Response, ApiError> {
    let id = parse_id(T::LAYER, &id)?;
    let s = st.snapshot.load();
    let (before, _) = basemap::current::<T>(&s, &caller, id)?;
    let expect = if_match(&headers, T::LAYER, id)?;
    let (after, at) = basemap::update(&s, &caller, &before, &f)?;
    let detail = T::detail(Some(&before), Some(&after));
    let mut forget = before.measured_in(&s);
    forget.extend(after.measured_in(&s));
    let record = after.into_record();
    let op = RecordOp::Update {
        record: record.clone(),
        expect,
    };
    let w = write(op, at.region, forget);
    apply(&st, &caller, &auth.address, w, Some(record), &detail).await
}

/// `DELETE /api/buildings/{id}`, `DELETE /api/roads/{id}` with
/// `If-Match` (204).
pub async fn delete<T: Ground>(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    Extension(auth): Extension<Authenticated>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = parse_id(T::LAYER, &id)?;
    let s = st.snapshot.load();
    let (before, at) = basemap::current::<T>(&s, &caller, id)?;
    let expect = if_match(&headers, T::LAYER, id)?;
    let detail = T::detail(Some(&before), None);
    let op = RecordOp::Delete {
        layer: T::LAYER,
        id,
        expect,
    };
    let w = write(op, at.region, before.measured_in(&s));
    apply(&st, &caller, &auth.address, w, None, &detail).await
}
