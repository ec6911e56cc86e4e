//! The ledger over HTTP: households read with their ETag, created,
//! updated (`If-Match` required) and deleted (moved out), and the change
//! log. Thin: the rules are in [`crate::ledger`], the transaction in the
//! store, the snapshot follows in [`crate::snapshot`].
//!
//! A write holds [`LedgerState::write`] from the store transaction until
//! the snapshot holds it, so snapshots follow the change log's order and
//! the record a 412 shows is the one the store holds.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{json, Value};

use super::auth::Authenticated;
use super::error::blocking;
use super::{ApiError, AppState, CallerOf};
use crate::access::Caller;
use crate::domain::{Household, Layer, Record};
use crate::io::feature::feature_for;
use crate::ledger::{self, HouseholdFields, LedgerError};
use crate::store::{Change, HouseholdWrite, StoreError};

/// Changes sent per page of `GET /api/changes` at most.
const CHANGES_MAX: usize = 1000;

/// What the ledger's writes share in a server.
#[derive(Debug, Default)]
pub struct LedgerState {
    pub(super) write: Mutex<()>,
}

impl LedgerState {
    /// The write order: every write through this server holds it from its
    /// store transaction until the snapshot holds the write and
    /// [`crate::snapshot::follow::Follow`] has heard of it; the change
    /// log's poller holds it while it settles and reloads.
    pub(super) fn order(&self) -> std::sync::MutexGuard<'_, ()> {
        self.write
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl From<LedgerError> for ApiError {
    fn from(e: LedgerError) -> Self {
        match e {
            LedgerError::Role(_) | LedgerError::VolunteerRole(_) | LedgerError::OutOfScope(_) => {
                Self::Forbidden(e.to_string())
            }
            LedgerError::NotFound(_) | LedgerError::NoPerson(_) | LedgerError::NoVolunteer(_) => {
                Self::NotFound(e.to_string())
            }
            LedgerError::NotOnDuty(ref ids) => Self::Conflict {
                extra: json!({
                    "code": "volunteer_unavailable",
                    "volunteers": ids
                        .iter()
                        .map(|(id, s)| json!({ "id": id, "status": s.as_str() }))
                        .collect::<Vec<_>>(),
                }),
                detail: e.to_string(),
            },
            LedgerError::CountsOnly => Self::CountsOnly(e.to_string()),
            LedgerError::Invalid { code, detail } => Self::Refused {
                detail,
                extra: json!({ "code": code }),
            },
        }
    }
}

fn etag(id: i64, seq: i64) -> String {
    format!("\"households-{id}-{seq}\"")
}

/// The seq `If-Match` names for household `id`: 428 without one, 412 when
/// it names another record or is not ours.
fn if_match(headers: &HeaderMap, id: i64) -> Result<i64, ApiError> {
    let Some(h) = headers.get(header::IF_MATCH) else {
        return Err(ApiError::PreconditionRequired(format!(
            "writing household {id} needs If-Match with its ETag (GET /api/households/{id})"
        )));
    };
    let named = h.to_str().unwrap_or_default().trim();
    let prefix = format!("households-{id}-");
    named
        .trim_start_matches("W/")
        .trim_matches('"')
        .strip_prefix(&prefix)
        .and_then(|s| s.parse::<i64>().ok())
        .ok_or_else(|| ApiError::Stale {
            detail: format!("If-Match {named} is not an ETag of household {id}"),
            extra: json!({}),
        })
}

fn feature(h: &Household, caller: &Caller) -> Result<Value, ApiError> {
    let r = crate::access::projection::project_record(Record::Household(h.clone()), caller.role);
    Ok(serde_json::to_value(feature_for(&r, caller.role))?)
}

pub(super) fn with_etag(
    status: StatusCode,
    body: Value,
    tag: &str,
    location: Option<String>,
) -> Response {
    let mut resp = (status, Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(tag) {
        resp.headers_mut().insert(header::ETAG, v);
    }
    if let Some(l) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        resp.headers_mut().insert(header::LOCATION, l);
    }
    resp
}

fn parse_id(id: &str) -> Result<i64, ApiError> {
    id.parse()
        .map_err(|_| ApiError::BadRequest(format!("household id {id:?} is not a number")))
}

/// `GET /api/households/{id}`: the household as the caller's role sees
/// it, with its ETag.
pub async fn get_one(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    Extension(auth): Extension<Authenticated>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let s = st.snapshot.load();
    let h = ledger::current(&s, &caller, id)?.clone();
    let store = st.store.clone();
    let seq = blocking(move || store.etag_seq(Layer::Households, id)).await?;
    super::layers::audit_reveal(
        &st,
        &caller,
        &auth.address,
        Layer::Households,
        &[Record::Household(h.clone())],
    );
    Ok(with_etag(
        StatusCode::OK,
        feature(&h, &caller)?,
        &etag(id, seq),
        None,
    ))
}

/// Applies `w` in the store and the snapshot, in log order; a stale ETag
/// becomes a 412 showing the current record.
async fn apply(
    st: &AppState,
    caller: &Caller,
    from: &str,
    w: HouseholdWrite,
    before: Option<Household>,
    after: Option<Household>,
) -> Result<(Change, Option<Household>), ApiError> {
    let detail = ledger::audit_detail(before.as_ref(), after.as_ref());
    let audit = super::auth::entry(&caller.name, "household_write", "households", from, &detail);
    let (st2, id_hint) = (st.clone(), before.as_ref().map(|h| h.id));
    let done = blocking(move || {
        let _order = st2
            .ledger
            .write
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let change = st2.store.write_household(&w, &audit)?;
        let id = change.id.unwrap_or_default();
        let stored = after.map(|mut h| {
            h.id = id;
            h
        });
        st2.snapshot.put_household(id, stored.as_ref());
        st2.follow.wrote(change.seq);
        Ok::<_, StoreError>((change, stored))
    })
    .await;
    match done {
        Err(ApiError::Store(StoreError::Precondition { current, .. })) => {
            let id = id_hint.unwrap_or_default();
            let s = st.snapshot.load();
            let now = s
                .households
                .get(id, &caller.scope)
                .map(|h| feature(h, caller))
                .transpose()?;
            Err(ApiError::Stale {
                detail: format!("household {id} changed since it was read"),
                extra: json!({ "current": now, "etag": etag(id, current) }),
            })
        }
        other => other,
    }
}

/// `POST /api/households`: a new household (201, ETag, Location).
pub async fn create(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    Extension(auth): Extension<Authenticated>,
    Json(f): Json<HouseholdFields>,
) -> Result<Response, ApiError> {
    let s = st.snapshot.load();
    let h = ledger::create(&s, &st.policy, &caller, &f)?;
    let w = HouseholdWrite::Create(h.clone());
    let (change, stored) = apply(&st, &caller, &auth.address, w, None, Some(h)).await?;
    let h = stored.expect("a create stores a household");
    Ok(with_etag(
        StatusCode::CREATED,
        feature(&h, &caller)?,
        &etag(h.id, change.seq),
        Some(format!("/api/households/{}", h.id)),
    ))
}

/// `PATCH /api/households/{id}` with `If-Match`: changes the fields given.
pub async fn update(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    Extension(auth): Extension<Authenticated>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(f): Json<HouseholdFields>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let s = st.snapshot.load();
    let before = ledger::current(&s, &caller, id)?.clone();
    let expect = if_match(&headers, id)?;
    let after = ledger::update(&s, &st.policy, &caller, &before, &f)?;
    let w = HouseholdWrite::Update {
        household: after.clone(),
        expect,
    };
    let (change, stored) = apply(&st, &caller, &auth.address, w, Some(before), Some(after)).await?;
    let h = stored.expect("an update stores a household");
    Ok(with_etag(
        StatusCode::OK,
        feature(&h, &caller)?,
        &etag(id, change.seq),
        None,
    ))
}

/// `DELETE /api/households/{id}` with `If-Match`: the household moved out.
pub async fn delete(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    Extension(auth): Extension<Authenticated>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let s = st.snapshot.load();
    let before = ledger::current(&s, &caller, id)?.clone();
    let expect = if_match(&headers, id)?;
    let w = HouseholdWrite::Delete {
        id,
        region: before.region,
        expect,
    };
    apply(&st, &caller, &auth.address, w, Some(before), None).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /api/households/{id}/history`: who wrote the household, what
/// and when, newest first (office, admin in their scope).
pub async fn history(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    ledger::history::may_read(&st.snapshot.load(), &caller, id)?;
    let (accounts, target) = (
        st.accounts.clone(),
        ledger::history::target(Layer::Households, id),
    );
    let lines = blocking(move || accounts.audit_of(&target, ledger::history::HISTORY_MAX)).await?;
    let entries: Vec<_> = lines.iter().map(ledger::history::entry).collect();
    Ok(Json(json!({ "id": id, "entries": entries })))
}

/// `GET /api/changes?since=SEQ&limit=N`: the changes after `since` in the
/// caller's scope, oldest first (ids, kinds, layer, region: no personal
/// field). `next` is the seq to ask from next (the last one read, in
/// scope or not).
pub async fn changes(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let num = |k: &str, d: i64| -> Result<i64, ApiError> {
        q.get(k).map_or(Ok(d), |v| {
            v.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
                ApiError::BadRequest(format!("{k}={v:?}: a whole number, 0 or more"))
            })
        })
    };
    let since = num("since", 0)?;
    let limit = usize::try_from(num("limit", 100)?).unwrap_or(CHANGES_MAX);
    super::limits::at_most_usize("changes", "changes per page (limit)", CHANGES_MAX, limit)?;
    let store = st.store.clone();
    let all = blocking(move || store.changes_since(since, limit)).await?;
    let next = all.last().map_or(since, |c| c.seq);
    let seen: Vec<&Change> = all.iter().filter(|c| visible(c, &caller)).collect();
    Ok(Json(
        json!({ "since": since, "next": next, "changes": seen }),
    ))
}

/// A change is shown when its record's region is in the caller's scope;
/// a bulk change (no id) names nothing and is shown to all.
pub(super) fn visible(c: &Change, caller: &Caller) -> bool {
    c.id.is_none() || caller.scope.contains_opt(c.region)
}
