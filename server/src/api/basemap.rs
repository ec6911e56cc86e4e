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
use crate::basemap::{self, BasemapError, BuildingFields, RoadFields};
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
        Err(ApiError::Store(StoreError::Precondition { current })) => {
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

/// `GET /api/buildings/{id}`: the building with its ETag.
pub async fn get_building(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(Layer::Buildings, &id)?;
    let r = st
        .snapshot
        .load()
        .layer_item(Layer::Buildings, id, &caller)
        .ok_or(BasemapError::NotFound(Layer::Buildings, id))?;
    read(&st, &caller, r).await
}

/// `POST /api/buildings`: a new building (201, ETag, Location).
pub async fn create_building(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    Extension(auth): Extension<Authenticated>,
    Json(f): Json<BuildingFields>,
) -> Result<Response, ApiError> {
    let (b, at) = basemap::create_building(&st.snapshot.load(), &caller, &f)?;
    let detail = basemap::building_detail(None, Some(&b));
    let r = Record::Building(b);
    let w = write(RecordOp::Create(r.clone()), at.region, vec![]);
    apply(&st, &caller, &auth.address, w, Some(r), &detail).await
}

/// `PATCH /api/buildings/{id}` with `If-Match`: changes the fields given.
pub async fn update_building(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    Extension(auth): Extension<Authenticated>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(f): Json<BuildingFields>,
) -> Result<Response, ApiError> {
    let id = parse_id(Layer::Buildings, &id)?;
    let s = st.snapshot.load();
    let (before, _) = basemap::current_building(&s, &caller, id)?;
    let expect = if_match(&headers, Layer::Buildings, id)?;
    let (after, at) = basemap::update_building(&s, &caller, &before, &f)?;
    let detail = basemap::building_detail(Some(&before), Some(&after));
    let record = Record::Building(after);
    let op = RecordOp::Update {
        record: record.clone(),
        expect,
    };
    apply(
        &st,
        &caller,
        &auth.address,
        write(op, at.region, vec![]),
        Some(record),
        &detail,
    )
    .await
}

/// `DELETE /api/buildings/{id}` with `If-Match` (204).
pub async fn delete_building(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    Extension(auth): Extension<Authenticated>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = parse_id(Layer::Buildings, &id)?;
    let s = st.snapshot.load();
    let (before, at) = basemap::current_building(&s, &caller, id)?;
    let expect = if_match(&headers, Layer::Buildings, id)?;
    let detail = basemap::building_detail(Some(&before), None);
    let op = RecordOp::Delete {
        layer: Layer::Buildings,
        id,
        expect,
    };
    apply(
        &st,
        &caller,
        &auth.address,
        write(op, at.region, vec![]),
        None,
        &detail,
    )
    .await
}

/// `GET /api/roads/{id}`: the road with its ETag.
pub async fn get_road(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(Layer::Roads, &id)?;
    let r = st
        .snapshot
        .load()
        .layer_item(Layer::Roads, id, &caller)
        .ok_or(BasemapError::NotFound(Layer::Roads, id))?;
    read(&st, &caller, r).await
}

/// `POST /api/roads`: a new road (201, ETag, Location).
pub async fn create_road(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    Extension(auth): Extension<Authenticated>,
    Json(f): Json<RoadFields>,
) -> Result<Response, ApiError> {
    let s = st.snapshot.load();
    let (road, at) = basemap::create_road(&s, &caller, &f)?;
    let detail = basemap::road_detail(None, Some(&road));
    let forget = s.road_reach(&road);
    let r = Record::Road(road);
    let w = write(RecordOp::Create(r.clone()), at.region, forget);
    apply(&st, &caller, &auth.address, w, Some(r), &detail).await
}

/// `PATCH /api/roads/{id}` with `If-Match`: changes the fields given.
pub async fn update_road(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    Extension(auth): Extension<Authenticated>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(f): Json<RoadFields>,
) -> Result<Response, ApiError> {
    let id = parse_id(Layer::Roads, &id)?;
    let s = st.snapshot.load();
    let (before, _) = basemap::current_road(&s, &caller, id)?;
    let expect = if_match(&headers, Layer::Roads, id)?;
    let (after, at) = basemap::update_road(&s, &caller, &before, &f)?;
    let detail = basemap::road_detail(Some(&before), Some(&after));
    let mut forget = s.road_reach(&before);
    forget.extend(s.road_reach(&after));
    let record = Record::Road(after);
    let op = RecordOp::Update {
        record: record.clone(),
        expect,
    };
    apply(
        &st,
        &caller,
        &auth.address,
        write(op, at.region, forget),
        Some(record),
        &detail,
    )
    .await
}

/// `DELETE /api/roads/{id}` with `If-Match` (204).
pub async fn delete_road(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    Extension(auth): Extension<Authenticated>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = parse_id(Layer::Roads, &id)?;
    let s = st.snapshot.load();
    let (before, at) = basemap::current_road(&s, &caller, id)?;
    let expect = if_match(&headers, Layer::Roads, id)?;
    let detail = basemap::road_detail(Some(&before), None);
    let op = RecordOp::Delete {
        layer: Layer::Roads,
        id,
        expect,
    };
    let forget = s.road_reach(&before);
    apply(
        &st,
        &caller,
        &auth.address,
        write(op, at.region, forget),
        None,
        &detail,
    )
    .await
}
