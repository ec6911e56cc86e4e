//! Uploads (issue 20): a CSV or XLSX table of households or staff sent
//! over HTTP, read by the CLI's readers ([`crate::io::read_table`]),
//! checked as a dry run by [`crate::ledger::bulk`] in a job whose progress
//! and report are polled, then committed all or nothing in one store
//! transaction; and `POST /api/households/bulk`, the same check and commit
//! for a JSON array.
//!
//! Jobs live in this server's memory only: at most [`MAX_JOBS`] at once,
//! each dropped [`JOB_TTL`] after it started (committed or not), and all
//! of them when the server restarts. A job is its uploader's alone.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{json, Value};

use super::auth::Authenticated;
use super::error::blocking;
use super::{limits, ApiError, AppState, CallerOf};
use crate::access::Caller;
use crate::domain::{Household, Layer, Person, Record};
use crate::io::{self, ImportOptions, TableFormat};
use crate::ledger::bulk::{self, Check, Checked, Report};
use crate::ledger::HouseholdFields;
use crate::spatial::crs::Crs;

/// Upload jobs held at once; one more is refused (503) until one expires.
pub const MAX_JOBS: usize = 16;

/// How long a job (its report and checked rows) is kept.
pub const JOB_TTL: Duration = Duration::from_secs(30 * 60);

/// Where a job is.
#[derive(Debug, Clone)]
enum Status {
    Checking,
    /// Checked against the snapshot whose layer `basis` points at.
    Ready {
        checked: Arc<Checked>,
        basis: usize,
    },
    /// The file could not be read at all.
    Failed {
        code: &'static str,
        detail: String,
    },
    Committing,
    Committed {
        stored: u64,
    },
}

#[derive(Debug)]
struct Job {
    id: u64,
    owner: String,
    layer: Layer,
    started: Instant,
    read: AtomicU64,
    status: Mutex<Status>,
}

impl Job {
    fn status(&self) -> Status {
        self.status
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn set(&self, s: Status) {
        *self
            .status
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = s;
    }

    fn view(&self) -> Value {
        let read = self.read.load(Ordering::Relaxed);
        let (status, report, extra) = match self.status() {
            Status::Checking => ("checking", None, json!({})),
            Status::Ready { checked, .. } => {
                let s = if checked.report.ok() {
                    "ready"
                } else {
                    "invalid"
                };
                (s, Some(checked.report.clone()), json!({}))
            }
            Status::Failed { code, detail } => {
                ("failed", None, json!({ "code": code, "detail": detail }))
            }
            Status::Committing => ("committing", None, json!({})),
            Status::Committed { stored } => ("committed", None, json!({ "stored": stored })),
        };
        let validated = report.as_ref().map_or(read, |r| r.rows);
        let mut v = json!({
            "id": self.id,
            "layer": self.layer,
            "status": status,
            "progress": { "rows_read": read, "rows_validated": validated },
            "report": report,
        });
        if let (Some(o), Value::Object(e)) = (v.as_object_mut(), extra) {
            o.extend(e);
        }
        v
    }
}

/// The upload jobs of a server.
#[derive(Debug, Default)]
pub struct Uploads {
    jobs: Mutex<HashMap<u64, Arc<Job>>>,
    next: AtomicU64,
}

impl Uploads {
    fn add(&self, owner: &str, layer: Layer) -> Result<Arc<Job>, ApiError> {
        let mut jobs = self
            .jobs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        jobs.retain(|_, j| j.started.elapsed() < JOB_TTL);
        if jobs.len() >= MAX_JOBS {
            return Err(ApiError::Busy {
                detail: format!(
                    "{MAX_JOBS} uploads are held already (each for {} min); try again later",
                    JOB_TTL.as_secs() / 60
                ),
                retry_after: 60,
            });
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let job = Arc::new(Job {
            id,
            owner: owner.to_string(),
            layer,
            started: Instant::now(),
            read: AtomicU64::new(0),
            status: Mutex::new(Status::Checking),
        });
        jobs.insert(id, job.clone());
        Ok(job)
    }

    /// The caller's job `id` (another user's looks missing).
    fn get(&self, id: &str, caller: &Caller) -> Result<Arc<Job>, ApiError> {
        let missing = || ApiError::NotFound(format!("upload {id}"));
        let n: u64 = id.parse().map_err(|_| missing())?;
        self.jobs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&n)
            .filter(|j| j.owner == caller.name && j.started.elapsed() < JOB_TTL)
            .cloned()
            .ok_or_else(missing)
    }
}

fn refused(code: &'static str, detail: impl Into<String>, extra: Value) -> ApiError {
    let mut e = json!({ "code": code });
    if let (Some(o), Value::Object(x)) = (e.as_object_mut(), extra) {
        o.extend(x);
    }
    ApiError::Refused {
        detail: detail.into(),
        extra: e,
    }
}

/// The body, at most [`limits::UPLOAD_BYTES`] (413 beyond).
async fn body_bytes(body: Body) -> Result<Vec<u8>, ApiError> {
    axum::body::to_bytes(body, limits::UPLOAD_BYTES)
        .await
        .map(|b| b.to_vec())
        .map_err(|_| limits::upload_too_large(None))
}

/// The table's reading options from the query: `crs` (default wgs84),
/// `encoding` (detected when absent).
fn options(q: &HashMap<String, String>, st: &AppState) -> Result<ImportOptions, ApiError> {
    let crs = match q.get("crs") {
        Some(c) => c
            .parse::<Crs>()
            .map_err(|e| ApiError::BadRequest(format!("crs={c:?}: {e}")))?,
        None => Crs::Wgs84,
    };
    let encoding = q
        .get("encoding")
        .map(String::as_str)
        .map(io::encoding)
        .transpose()
        .map_err(ApiError::BadRequest)?;
    Ok(ImportOptions {
        crs,
        encoding,
        policy: (*st.policy).clone(),
        ..ImportOptions::default()
    })
}

/// `POST /api/uploads?layer=households|people&crs=&encoding=`: the body
/// is the table. 202 with the job's id; the dry run goes on behind.
pub async fn start(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    crate::ledger::may_write(&caller)?;
    let layer = match q.get("layer").map(String::as_str) {
        Some("households") => Layer::Households,
        Some("people") => Layer::People,
        other => {
            return Err(ApiError::BadRequest(format!(
                "layer={}: upload households or people",
                other.unwrap_or("(none)")
            )))
        }
    };
    let opts = options(&q, &st)?;
    let bytes = body_bytes(body).await?;
    if bytes.is_empty() {
        return Err(refused(
            "empty_upload",
            "the body is empty: send the table",
            json!({}),
        ));
    }
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let format = TableFormat::detect(&bytes, ct);
    let job = st.uploads.add(&caller.name, layer)?;
    let (j, snapshot) = (job.clone(), st.snapshot.load());
    let name = q.get("name").cloned().unwrap_or_else(|| "upload".into());
    tokio::task::spawn_blocking(move || {
        let check = match Check::new(&snapshot, &caller, layer) {
            Ok(c) => c,
            Err(e) => {
                j.set(Status::Failed {
                    code: "refused",
                    detail: e.to_string(),
                });
                return;
            }
        };
        let stream = match io::read_table(bytes, format, &name, layer, &opts) {
            Ok(s) => s,
            Err(e) => {
                j.set(Status::Failed {
                    code: "unreadable_file",
                    detail: e.to_string(),
                });
                return;
            }
        };
        let checked = bulk::check_rows(check, stream, &opts.row, &|n| {
            j.read.store(n, Ordering::Relaxed);
        });
        j.set(Status::Ready {
            checked: Arc::new(checked),
            basis: basis(&snapshot, layer),
        });
    });
    let url = format!("/api/uploads/{}", job.id);
    let mut resp = (StatusCode::ACCEPTED, Json(job.view())).into_response();
    if let Ok(v) = header::HeaderValue::from_str(&url) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(resp)
}

/// Which version of `layer` a check saw: the layer's address in memory
/// (every write makes a new one).
fn basis(s: &crate::snapshot::Snapshot, layer: Layer) -> usize {
    match layer {
        Layer::People => Arc::as_ptr(&s.people) as usize,
        _ => Arc::as_ptr(&s.households) as usize,
    }
}

/// `GET /api/uploads/{id}`: status, progress and, once checked, the dry
/// run's report.
pub async fn status(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(st.uploads.get(&id, &caller)?.view()))
}

/// Stores `checked` in one transaction (creates and updates, a change
/// row and an audit line) and puts it in the snapshot. Under the ledger's
/// write lock; checked again first when the layer changed since.
fn commit_checked(
    st: &AppState,
    caller: &Caller,
    from: &str,
    layer: Layer,
    checked: &Checked,
    checked_basis: usize,
) -> Result<u64, ApiError> {
    let _order = st
        .ledger
        .write
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let s = st.snapshot.load();
    if basis(&s, layer) != checked_basis {
        let again = bulk::recheck(&s, caller, layer, &checked.records)?;
        if !again.report.ok() {
            return Err(invalid(
                &again.report,
                "the ledger changed since the dry run",
            ));
        }
    }
    if checked.records.is_empty() {
        return Ok(0); // Nothing to store, nothing to log.
    }
    let records = bulk::commit_plan(&s, &checked.records);
    let detail = format!(
        "{} rows: {} created, {} updated",
        records.len(),
        checked.report.creates,
        checked.report.updates
    );
    let audit = super::auth::entry(&caller.name, "upload_commit", layer.as_str(), from, &detail);
    let stream: io::RecordStream = Box::new(records.clone().into_iter().map(Ok));
    let seq0 = st.store.last_seq()?;
    let report = io::import(
        &*st.store,
        stream,
        &ImportOptions::default(),
        &audit,
        &mut |_| {},
    )
    .map_err(|e| match e {
        io::IoError::Store(s) => ApiError::Store(s),
        other => ApiError::Internal(other.to_string()),
    })?;
    if layer == Layer::People {
        let puts: Vec<(i64, Option<Person>)> = records
            .into_iter()
            .filter_map(|r| match r {
                Record::Person(p) => Some((p.id, Some(p))),
                _ => None,
            })
            .collect();
        st.snapshot.put_people(&puts);
    } else {
        let puts: Vec<(i64, Option<Household>)> = records
            .into_iter()
            .filter_map(|r| match r {
                Record::Household(h) => Some((h.id, Some(h))),
                _ => None,
            })
            .collect();
        st.snapshot.put_households(&puts);
    }
    // The import's change rows are this server's own: the follower must
    // not reload the snapshot for them (a writer elsewhere in between
    // leaves a gap, and that is reloaded).
    for seq in seq0 + 1..=st.store.last_seq()? {
        st.follow.wrote(seq);
    }
    Ok(report.counts.values().sum())
}

/// 422 `upload_invalid`: the report had problems; its figures and first
/// problems come along.
fn invalid(r: &Report, why: &str) -> ApiError {
    refused(
        "upload_invalid",
        format!(
            "{why}: {} problem(s) in {} row(s); nothing was stored",
            r.problems_total, r.rows
        ),
        json!({ "report": r }),
    )
}

/// `POST /api/uploads/{id}/commit`: stores a checked upload, all or
/// nothing. 409 while it is checked or once committed; 422 when its
/// report has problems.
pub async fn commit(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    Extension(auth): Extension<Authenticated>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let job = st.uploads.get(&id, &caller)?;
    let conflict = |code: &'static str, detail: &str| ApiError::Conflict {
        detail: detail.to_string(),
        extra: json!({ "code": code }),
    };
    let (checked, checked_basis) = {
        let mut status = job
            .status
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match &*status {
            Status::Checking => {
                return Err(conflict(
                    "upload_not_ready",
                    "the dry run is still going: poll the upload until its status is ready",
                ))
            }
            Status::Committing => {
                return Err(conflict(
                    "upload_committing",
                    "the upload is being committed",
                ))
            }
            Status::Committed { .. } => {
                return Err(conflict(
                    "upload_committed",
                    "the upload was committed already",
                ))
            }
            Status::Failed { code, detail } => {
                return Err(refused(code, detail.clone(), json!({})));
            }
            Status::Ready { checked, .. } if !checked.report.ok() => {
                return Err(invalid(&checked.report, "the dry run found problems"));
            }
            Status::Ready { checked, basis } => {
                let out = (checked.clone(), *basis);
                *status = Status::Committing;
                out
            }
        }
    };
    let (st2, j, c) = (st.clone(), job.clone(), caller.clone());
    let layer = job.layer;
    let done = blocking(move || {
        commit_checked(&st2, &c, &auth.address, layer, &checked, checked_basis).inspect_err(|_| {
            // Refused or failed: the dry run stands; commit may be tried again.
            j.set(Status::Ready {
                checked: checked.clone(),
                basis: checked_basis,
            });
        })
    })
    .await?;
    job.set(Status::Committed { stored: done });
    Ok(Json(job.view()))
}

/// `POST /api/households/bulk`: a JSON array of household upserts (`id`
/// to update a held one, none to create), checked as an upload is and
/// stored all or nothing: 200 with the report, or 422 with it.
pub async fn households_bulk(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    Extension(auth): Extension<Authenticated>,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    crate::ledger::may_write(&caller)?;
    let bytes = body_bytes(body).await?;
    let items: Vec<Value> = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::BadRequest(format!("a JSON array of households: {e}")))?;
    let (st2, c) = (st.clone(), caller.clone());
    blocking(move || {
        let s = st2.snapshot.load();
        let mut check = Check::new(&s, &c, Layer::Households)?;
        for (i, item) in items.into_iter().enumerate() {
            let row = i as u64 + 1;
            let (id, fields) = match split_item(item) {
                Ok(x) => x,
                Err(e) => {
                    check.refused(row, &e);
                    continue;
                }
            };
            match bulk::household_of(&s, &st2.policy, &c, id, &fields) {
                Ok(h) => check.record(row, Record::Household(h)),
                Err(e) => check.refused(row, &e),
            }
        }
        let checked = check.finish();
        if !checked.report.ok() {
            return Err(invalid(&checked.report, "the households have problems"));
        }
        let b = basis(&s, Layer::Households);
        let stored = commit_checked(&st2, &c, &auth.address, Layer::Households, &checked, b)?;
        Ok(Json(json!({ "stored": stored, "report": checked.report })))
    })
    .await
}

/// An item's `id` and its other fields.
fn split_item(
    mut item: Value,
) -> Result<(Option<i64>, HouseholdFields), crate::ledger::LedgerError> {
    let bad = |d: String| crate::ledger::LedgerError::Invalid {
        code: "bad_field",
        detail: d,
    };
    let id = match item.as_object_mut().and_then(|o| o.remove("id")) {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_i64()
                .filter(|n| *n > 0)
                .ok_or_else(|| bad(format!("id {v}: a whole number above 0")))?,
        ),
    };
    let f = serde_json::from_value(item).map_err(|e| bad(e.to_string()))?;
    Ok((id, f))
}
