//! Volunteers over HTTP for the emergency team: the roster in scope, one
//! volunteer with their ETag, a change of status, skills, team or
//! check-in (`If-Match` required), and a confirmed dispatch that marks
//! all its volunteers dispatched in one store transaction. Thin: the rules
//! are in [`crate::ledger::volunteers`], the writes are person writes
//! ([`super::people::commit`]), so the snapshot and its emergency index
//! follow at once.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{json, Value};

use super::auth::Authenticated;
use super::error::blocking;
use super::ledger::with_etag;
use super::people::{commit, commit_in, etag, if_match, Staged};
use super::{ApiError, AppState, CallerOf};
use crate::access::projection::{project_person, shows, PersonalField};
use crate::access::Caller;
use crate::domain::{Layer, Person, Record};
use crate::incident::{self, IncidentWrite};
use crate::ledger::volunteers::{self, DispatchRequest, RosterFilter, VolunteerFields};
use crate::store::{PersonWrite, StoreError};

/// Volunteers listed per page of the roster at most.
const ROSTER_MAX: usize = 1000;

/// A volunteer as the caller's role sees them (name and phone projected).
fn row(p: &Person, caller: &Caller, tag: Option<&str>) -> Value {
    let q = project_person(p, caller.role);
    let shown = |f: PersonalField, v: String| shows(caller.role, f).then_some(v);
    let mut v = json!({
        "id": q.id,
        "roles": q.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
        "team": q.team,
        "skills": q.skills,
        "status": q.status.as_str(),
        "reserve": q.reserve,
        "region": q.region.map(|r| r.to_string()),
        "location": [q.position().x(), q.position().y()],
        "checkin": q.checkin.map(|c| [c.x(), c.y()]),
    });
    let o = v.as_object_mut().expect("an object");
    for (k, f, val) in [
        ("name", PersonalField::PersonName, q.name),
        ("phone", PersonalField::PersonPhone, q.phone),
    ] {
        if let Some(val) = shown(f, val) {
            o.insert(k.into(), val.into());
        }
    }
    if let Some(t) = tag {
        o.insert("etag".into(), t.into());
    }
    v
}

fn parse_id(id: &str) -> Result<i64, ApiError> {
    id.parse()
        .map_err(|_| ApiError::BadRequest(format!("volunteer id {id:?} is not a number")))
}

fn reveal(st: &AppState, caller: &Caller, from: &str, people: &[Person]) {
    let records: Vec<Record> = people.iter().cloned().map(Record::Person).collect();
    super::layers::audit_reveal(st, caller, from, Layer::People, &records);
}

/// The ETags of `people`, read from the store.
async fn etags(st: &AppState, ids: Vec<i64>) -> Result<Vec<String>, ApiError> {
    let store = st.store.clone();
    blocking(move || {
        ids.iter()
            .map(|id| Ok(etag(*id, store.etag_seq(Layer::People, *id)?)))
            .collect::<Result<Vec<_>, StoreError>>()
    })
    .await
}

/// `GET /api/volunteers?status=&team=&offset=&limit=`: the volunteers in
/// the caller's scope, each with their ETag, in id order.
pub async fn list(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    Extension(auth): Extension<Authenticated>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let filter = RosterFilter {
        status: q
            .get("status")
            .filter(|s| !s.is_empty())
            .map(|s| volunteers::status(s))
            .transpose()?,
        team: q.get("team").cloned().filter(|t| !t.is_empty()),
    };
    let number = |k: &str, default: usize| -> Result<usize, ApiError> {
        q.get(k).map_or(Ok(default), |s| {
            s.parse()
                .map_err(|_| ApiError::BadRequest(format!("{k}={s:?}: a whole number")))
        })
    };
    let (offset, limit) = (number("offset", 0)?, number("limit", ROSTER_MAX)?);
    super::limits::at_most_usize("limit", "limit (volunteers per page)", ROSTER_MAX, limit)?;
    let s = st.snapshot.load();
    let all = volunteers::roster(&s, &caller, &filter)?;
    let total = all.len();
    let page: Vec<Person> = all.into_iter().skip(offset).take(limit).cloned().collect();
    let tags = etags(&st, page.iter().map(|p| p.id).collect()).await?;
    reveal(&st, &caller, &auth.address, &page);
    let rows: Vec<Value> = page
        .iter()
        .zip(&tags)
        .map(|(p, t)| row(p, &caller, Some(t.as_str())))
        .collect();
    Ok(Json(json!({ "total": total, "offset": offset, "volunteers": rows })).into_response())
}

/// `GET /api/volunteers/{id}`: one volunteer with their ETag.
pub async fn get_one(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    Extension(auth): Extension<Authenticated>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let s = st.snapshot.load();
    let p = volunteers::current(&s, &caller, id)?.clone();
    let tag = etags(&st, vec![id]).await?.remove(0);
    reveal(&st, &caller, &auth.address, std::slice::from_ref(&p));
    Ok(with_etag(
        StatusCode::OK,
        row(&p, &caller, None),
        &tag,
        None,
    ))
}

/// The 412 of a stale write to volunteer `id`: their current record.
fn stale(st: &AppState, caller: &Caller, id: i64, current: i64) -> ApiError {
    let s = st.snapshot.load();
    let now = s
        .people
        .get(id, &caller.scope)
        .map(|p| row(p, caller, None));
    ApiError::Stale {
        detail: format!("volunteer {id} changed since it was read"),
        extra: json!({ "current": now, "etag": etag(id, current) }),
    }
}

/// `PATCH /api/volunteers/{id}` with `If-Match`: status, skills, team or
/// check-in.
pub async fn update(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    Extension(auth): Extension<Authenticated>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(f): Json<VolunteerFields>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let s = st.snapshot.load();
    let before = volunteers::current(&s, &caller, id)?.clone();
    let expect = if_match(&headers, id)?;
    let after = volunteers::update(&s, &caller, &before, &f)?;
    let detail = volunteers::audit_detail(&before, &after, &[]);
    let audit = super::auth::entry(
        &caller.name,
        "volunteer_write",
        "people",
        &auth.address,
        &detail,
    );
    let w = PersonWrite::Update {
        person: after.clone(),
        expect,
    };
    match commit(&st, move |_| Ok(vec![(w, audit, Some(after))])).await {
        Ok(mut done) => {
            let (change, p) = done.remove(0);
            let p = p.expect("an update stores a person");
            Ok(with_etag(
                StatusCode::OK,
                row(&p, &caller, None),
                &etag(id, change.seq),
                None,
            ))
        }
        Err(ApiError::Store(StoreError::Precondition { current, .. })) => {
            Err(stale(&st, &caller, id, current))
        }
        Err(e) => Err(e),
    }
}

/// `POST /api/emergency/dispatch`: the routes of a dispatch plan
/// confirmed; every volunteer marked dispatched in one transaction, or
/// none (409 `volunteer_unavailable` when one is no longer on duty, 412
/// when a route's `etag` is stale).
pub async fn dispatch(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    Extension(auth): Extension<Authenticated>,
    Json(req): Json<DispatchRequest>,
) -> Result<Response, ApiError> {
    // Checked once here (a clear error without taking the lock) and
    // again under it, against the snapshot the store writes over.
    volunteers::dispatch(
        &st.snapshot.load(),
        &caller,
        &req,
        super::limits::DISPATCH_VOLUNTEERS,
    )?;
    let incident = match req.incident {
        Some(id) => Some(for_incident(&st, &caller, &auth.address, id, &req)?),
        None => None,
    };
    let store = st.store.clone();
    let (who, from) = (caller.clone(), auth.address.clone());
    let stage = move |s: &crate::snapshot::Snapshot| -> Result<Vec<Staged>, ApiError> {
        let sent = volunteers::dispatch(s, &who, &req, super::limits::DISPATCH_VOLUNTEERS)?;
        let mut out = vec![];
        for ((before, after), r) in sent.into_iter().zip(&req.routes) {
            let expect = match &r.etag {
                Some(t) => {
                    let mut h = HeaderMap::new();
                    h.insert(
                        axum::http::header::IF_MATCH,
                        t.parse().map_err(|_| {
                            ApiError::BadRequest(format!("etag {t:?} is not a header value"))
                        })?,
                    );
                    if_match(&h, before.id)?
                }
                None => store.etag_seq(Layer::People, before.id)?,
            };
            let detail = volunteers::audit_detail(&before, &after, &r.households);
            let audit = super::auth::entry(&who.name, "dispatch", "people", &from, &detail);
            let w = PersonWrite::Update {
                person: after.clone(),
                expect,
            };
            out.push((w, audit, Some(after)));
        }
        Ok(out)
    };
    let done = match commit_in(&st, stage, incident).await {
        Err(ApiError::Store(StoreError::Precondition { id, current })) => {
            return Err(ApiError::Stale {
                detail: format!(
                    "volunteer {id} changed since the plan was read; nobody was dispatched"
                ),
                extra: json!({ "seq": current, "volunteer": id }),
            })
        }
        other => other?,
    };
    let rows: Vec<Value> = done
        .iter()
        .filter_map(|(c, p)| {
            p.as_ref()
                .map(|p| row(p, &caller, Some(etag(p.id, c.seq).as_str())))
        })
        .collect();
    Ok(Json(json!({ "dispatched": rows })).into_response())
}

/// The incident's side of a dispatch made for it: the incident must be
/// one the caller sees and still open; its record names each volunteer
/// with their households, under the region its area touches.
fn for_incident(
    st: &AppState,
    caller: &Caller,
    from: &str,
    id: i64,
    req: &DispatchRequest,
) -> Result<(IncidentWrite, crate::access::account::AuditEntry), ApiError> {
    let i = super::incidents::visible(st, caller, id)?;
    incident::open_one(&i)?;
    let region = i
        .area()
        .and_then(|a| incident::stored_area(&a.area))
        .and_then(|a| incident::touched_region(&st.snapshot.load(), caller, &a));
    let w = IncidentWrite::Dispatch {
        id,
        routes: req
            .routes
            .iter()
            .map(|r| (r.volunteer, r.households.clone()))
            .collect(),
        region,
    };
    let audit = super::auth::entry(
        &caller.name,
        w.what(),
        "incidents",
        from,
        &format!("dispatched: {id}"),
    );
    Ok((w, audit))
}
