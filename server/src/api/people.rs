//! Staff over HTTP: one person read with their ETag, created, updated
//! and deleted (`If-Match` required), and their grids assigned. Thin, as
//! [`super::ledger`] is for households: the rules are in
//! [`crate::ledger::people`], the transaction in the store
//! ([`crate::store::Store::write_person`]), the snapshot follows
//! ([`crate::snapshot::Snapshot::with_person`]), in log order under the
//! ledger's write lock.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{json, Value};

use super::auth::Authenticated;
use super::error::blocking;
use super::ledger::with_etag;
use super::{ApiError, AppState, CallerOf};
use crate::access::account::AuditEntry;
use crate::access::Caller;
use crate::domain::{Layer, Person, Record};
use crate::io::feature::feature_for;
use crate::ledger::people::{self, PersonFields};
use crate::store::{Change, PersonWrite, StoreError};

/// A person's ETag (a volunteer's too: the same record).
pub(super) fn etag(id: i64, seq: i64) -> String {
    format!("\"people-{id}-{seq}\"")
}

/// The seq `If-Match` names for person `id`: 428 without one, 412 when it
/// names another record or is not ours.
pub(super) fn if_match(headers: &HeaderMap, id: i64) -> Result<i64, ApiError> {
    let Some(h) = headers.get(header::IF_MATCH) else {
        return Err(ApiError::PreconditionRequired(format!(
            "writing person {id} needs If-Match with its ETag (GET /api/people/{id})"
        )));
    };
    let named = h.to_str().unwrap_or_default().trim();
    let prefix = format!("people-{id}-");
    named
        .trim_start_matches("W/")
        .trim_matches('"')
        .strip_prefix(&prefix)
        .and_then(|s| s.parse::<i64>().ok())
        .ok_or_else(|| ApiError::Stale {
            detail: format!("If-Match {named} is not an ETag of person {id}"),
            extra: json!({}),
        })
}

fn feature(p: &Person, caller: &Caller) -> Result<Value, ApiError> {
    let r = crate::access::projection::project_record(Record::Person(p.clone()), caller.role);
    Ok(serde_json::to_value(feature_for(&r, caller.role))?)
}

fn parse_id(id: &str) -> Result<i64, ApiError> {
    id.parse()
        .map_err(|_| ApiError::BadRequest(format!("person id {id:?} is not a number")))
}

/// `GET /api/people/{id}`: the person as the caller's role sees them,
/// with their ETag.
pub async fn get_one(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    Extension(auth): Extension<Authenticated>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let s = st.snapshot.load();
    let p = people::current(&s, &caller, id)?.clone();
    let store = st.store.clone();
    let seq = blocking(move || store.etag_seq(Layer::People, id)).await?;
    super::layers::audit_reveal(
        &st,
        &caller,
        &auth.address,
        Layer::People,
        &[Record::Person(p.clone())],
    );
    Ok(with_etag(
        StatusCode::OK,
        feature(&p, &caller)?,
        &etag(id, seq),
        None,
    ))
}

/// One person write as [`commit`] takes it: the write, its audit line,
/// and the person after it (`None` for a delete).
pub(super) type Staged = (PersonWrite, AuditEntry, Option<Person>);

/// Person writes made by `stage` from the current snapshot, applied in
/// ONE store transaction and then in the snapshot at once, all under the
/// ledger's write lock (so a check `stage` makes on the snapshot holds
/// when the store writes). Returns each change with the person stored
/// (their id given for a create).
pub(super) async fn commit<F>(
    st: &AppState,
    stage: F,
) -> Result<Vec<(Change, Option<Person>)>, ApiError>
where
    F: FnOnce(&crate::snapshot::Snapshot) -> Result<Vec<Staged>, ApiError> + Send + 'static,
{
    commit_in(st, stage, None).await
}

/// [`commit`], with an incident's write (a dispatch made for it) in the
/// same store transaction when one is given.
pub(super) async fn commit_in<F>(
    st: &AppState,
    stage: F,
    incident: Option<(crate::incident::IncidentWrite, AuditEntry)>,
) -> Result<Vec<(Change, Option<Person>)>, ApiError>
where
    F: FnOnce(&crate::snapshot::Snapshot) -> Result<Vec<Staged>, ApiError> + Send + 'static,
{
    let st2 = st.clone();
    blocking(move || {
        let _order = st2
            .ledger
            .write
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let snap = st2.snapshot.load();
        let staged = stage(&snap)?;
        let (writes, afters): (Vec<(PersonWrite, AuditEntry)>, Vec<Option<Person>>) =
            staged.into_iter().map(|(w, a, p)| ((w, a), p)).unzip();
        let mut changes = match &incident {
            Some((w, audit)) => st2.incidents.dispatch_in(w, &writes, audit)?,
            None => st2.store.write_people(&writes)?,
        };
        // The incident's change comes last: followed, not a person.
        let extra = changes.split_off(writes.len());
        let done: Vec<(Change, Option<Person>)> = changes
            .into_iter()
            .zip(afters)
            .map(|(c, p)| {
                let id = c.id.unwrap_or_default();
                let p = p.map(|mut p| {
                    p.id = id;
                    p
                });
                (c, p)
            })
            .collect();
        let puts: Vec<(i64, Option<Person>)> = done
            .iter()
            .map(|(c, p)| (c.id.unwrap_or_default(), p.clone()))
            .collect();
        st2.snapshot.put_people(&puts);
        for c in done.iter().map(|d| &d.0).chain(&extra) {
            st2.follow.wrote(c.seq);
        }
        Ok::<_, ApiError>(done)
    })
    .await
}

/// Applies `w` in the store and the snapshot, in log order; a stale ETag
/// becomes a 412 showing the current record.
async fn apply(
    st: &AppState,
    caller: &Caller,
    from: &str,
    w: PersonWrite,
    before: Option<Person>,
    after: Option<Person>,
) -> Result<(Change, Option<Person>), ApiError> {
    let detail = people::audit_detail(before.as_ref(), after.as_ref());
    let audit = super::auth::entry(&caller.name, "person_write", "people", from, &detail);
    let id_hint = before.as_ref().map(|p| p.id);
    let done = commit(st, move |_| Ok(vec![(w, audit, after)]))
        .await
        .map(|mut d| d.remove(0));
    match done {
        Err(ApiError::Store(StoreError::Precondition { current, .. })) => {
            let id = id_hint.unwrap_or_default();
            let s = st.snapshot.load();
            let now = s
                .people
                .get(id, &caller.scope)
                .map(|p| feature(p, caller))
                .transpose()?;
            Err(ApiError::Stale {
                detail: format!("person {id} changed since it was read"),
                extra: json!({ "current": now, "etag": etag(id, current) }),
            })
        }
        other => other,
    }
}

/// `POST /api/people`: a new staff member (201, ETag, Location).
pub async fn create(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    Extension(auth): Extension<Authenticated>,
    Json(f): Json<PersonFields>,
) -> Result<Response, ApiError> {
    let s = st.snapshot.load();
    let p = people::create(&s, &caller, &f)?;
    let w = PersonWrite::Create(p.clone());
    let (change, stored) = apply(&st, &caller, &auth.address, w, None, Some(p)).await?;
    let p = stored.expect("a create stores a person");
    Ok(with_etag(
        StatusCode::CREATED,
        feature(&p, &caller)?,
        &etag(p.id, change.seq),
        Some(format!("/api/people/{}", p.id)),
    ))
}

/// Writes `after` over `before` with `If-Match` (an update).
async fn replace(
    st: &AppState,
    caller: &Caller,
    from: &str,
    headers: &HeaderMap,
    before: Person,
    after: Person,
) -> Result<Response, ApiError> {
    let id = before.id;
    let expect = if_match(headers, id)?;
    let w = PersonWrite::Update {
        person: after.clone(),
        expect,
    };
    let (change, stored) = apply(st, caller, from, w, Some(before), Some(after)).await?;
    let p = stored.expect("an update stores a person");
    Ok(with_etag(
        StatusCode::OK,
        feature(&p, caller)?,
        &etag(id, change.seq),
        None,
    ))
}

/// `PATCH /api/people/{id}` with `If-Match`: changes the fields given.
pub async fn update(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    Extension(auth): Extension<Authenticated>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(f): Json<PersonFields>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let s = st.snapshot.load();
    let before = people::current(&s, &caller, id)?.clone();
    if_match(&headers, id)?;
    let after = people::update(&s, &caller, &before, &f)?;
    replace(&st, &caller, &auth.address, &headers, before, after).await
}

/// `PUT /api/people/{id}/grids` with `If-Match`: the person's grids are
/// exactly the codes given (`[]` unassigns all).
pub async fn put_grids(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    Extension(auth): Extension<Authenticated>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(codes): Json<Vec<String>>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let s = st.snapshot.load();
    let before = people::current(&s, &caller, id)?.clone();
    if_match(&headers, id)?;
    let after = people::assign(&s, &caller, &before, &codes)?;
    replace(&st, &caller, &auth.address, &headers, before, after).await
}

/// `DELETE /api/people/{id}` with `If-Match`: the person left (204).
pub async fn delete(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    Extension(auth): Extension<Authenticated>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let s = st.snapshot.load();
    let before = people::current(&s, &caller, id)?.clone();
    let expect = if_match(&headers, id)?;
    let w = PersonWrite::Delete {
        id,
        region: before.region,
        expect,
    };
    apply(&st, &caller, &auth.address, w, Some(before), None).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
