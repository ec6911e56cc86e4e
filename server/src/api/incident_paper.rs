//! What an incident adds up to: the live tally
//! (`/api/incidents/{id}/tally`), the sheets per grid and per team that go
//! out on paper (`/sheet`), and the report after it (`/report`, HTML or
//! XLSX). Read-only and thin: the figures are [`crate::incident::tally`],
//! the paper [`crate::incident::report`].

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;

use super::auth::{audit, Authenticated};
use super::error::blocking;
use super::incidents::visible;
use super::{ApiError, AppState, CallerOf};
use crate::access::Caller;
use crate::cancel::Cancel;
use crate::incident::report::{self, Paper};
use crate::incident::tally::{self, Tally};
use crate::incident::{self as core, stored_area};

/// Waiting households a tally lists by default, and at most.
const WAITING: usize = 200;
const WAITING_MAX: usize = 5000;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TallyQuery {
    /// Waiting households listed (200 by default, at most 5,000).
    pub limit: Option<usize>,
}

/// The tally of incident `id` for `caller`, listing `limit` waiting.
fn tally_of(
    st: &AppState,
    caller: &Caller,
    id: i64,
    limit: usize,
) -> Result<(core::Incident, Vec<core::HouseholdStatus>, Tally), ApiError> {
    let i = visible(st, caller, id)?;
    let statuses = st.incidents.household_statuses(id)?;
    let s = st.snapshot.load();
    let t = tally::tally(
        &s,
        &i,
        &statuses,
        caller,
        &super::emergency::care_names(),
        time::OffsetDateTime::now_utc(),
        limit,
        &Cancel::never(),
    )
    .map_err(|_| ApiError::Internal("a tally is never cancelled".into()))?;
    Ok((i, statuses, t))
}

/// `GET /api/incidents/{id}/tally`: vulnerable households in the area by
/// care level and status, by grid and community; volunteers near it by
/// status; minutes since opened; the households still waiting, 连心户
/// first, then the longest wait.
pub async fn tally(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    Path(id): Path<i64>,
    Query(q): Query<TallyQuery>,
) -> Result<Json<Tally>, ApiError> {
    core::may_see_households(&caller)?;
    let limit = q.limit.unwrap_or(WAITING);
    if limit > WAITING_MAX {
        return Err(ApiError::BadRequest(format!(
            "limit={limit}: at most {WAITING_MAX} waiting households per tally"
        )));
    }
    blocking(move || Ok::<_, ApiError>(Json(tally_of(&st, &caller, id, limit)?.2))).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaperQuery {
    /// Sheets: `grid` (default) or `team`. Report: `html` (default) or `xlsx`.
    pub by: Option<String>,
    pub format: Option<String>,
}

fn html(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
}

/// Reads everything the paper shows and hands it to `make`; audited as a
/// read of personal data when the caller's role reveals it.
async fn paper<F>(
    st: AppState,
    caller: Caller,
    address: String,
    id: i64,
    what: &'static str,
    make: F,
) -> Result<Response, ApiError>
where
    F: FnOnce(&AppState, &Caller, &Paper<'_>) -> Result<Response, ApiError> + Send + 'static,
{
    core::may_see_households(&caller)?;
    let who = caller.clone();
    let st2 = st.clone();
    let out = blocking(move || {
        let (i, statuses, t) = tally_of(&st2, &who, id, usize::MAX)?;
        let timeline = st2.incidents.timeline(id)?;
        let names = super::emergency::care_names();
        let s = st2.snapshot.load();
        let marked = tally::marked_rows(&s, &statuses, &who, &names);
        let made_at = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let p = Paper {
            incident: &i,
            tally: &t,
            timeline: &timeline,
            marked: &marked,
            made_by: &who.name,
            made_at: &made_at,
            offset: super::when::display_offset(),
            care_names: &names,
        };
        make(&st2, &who, &p)
    })
    .await?;
    if crate::access::projection::reveals_personal(caller.role) {
        audit(
            &st,
            &caller.name,
            "read_personal",
            &format!("incidents/{id}/{what}"),
            &address,
            "",
        );
    }
    Ok(out)
}

/// `GET /api/incidents/{id}/sheet?by=grid|team`: printable sheets with
/// tick boxes: per grid, the households still waiting in priority order;
/// per team, the volunteers near the area.
pub async fn sheet(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    Extension(auth): Extension<Authenticated>,
    Path(id): Path<i64>,
    Query(q): Query<PaperQuery>,
) -> Result<Response, ApiError> {
    let by = q.by.unwrap_or_else(|| "grid".into());
    if by != "grid" && by != "team" {
        return Err(ApiError::BadRequest(format!("by={by:?}: grid or team")));
    }
    paper(st, caller, auth.address, id, "sheet", move |st, who, p| {
        if by == "grid" {
            return Ok(html(report::grid_sheet(p)));
        }
        let s = st.snapshot.load();
        let area = p
            .incident
            .area()
            .and_then(|a| stored_area(&a.area))
            .ok_or_else(|| ApiError::Internal(format!("incident {id} has no readable area")))?;
        let volunteers: Vec<_> = tally::near_volunteers(&s, &area, who)
            .into_iter()
            .map(|(v, d)| {
                (
                    crate::emergency::area::person_row(v, who, d, None),
                    v.status,
                )
            })
            .collect();
        Ok(html(report::team_sheet(p, &volunteers)))
    })
    .await
}

/// `GET /api/incidents/{id}/report?format=html|xlsx`: the timeline, the
/// figures and who was reached when.
pub async fn report(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    Extension(auth): Extension<Authenticated>,
    Path(id): Path<i64>,
    Query(q): Query<PaperQuery>,
) -> Result<Response, ApiError> {
    let format = q.format.unwrap_or_else(|| "html".into());
    if format != "html" && format != "xlsx" {
        return Err(ApiError::BadRequest(format!(
            "format={format:?}: html or xlsx"
        )));
    }
    paper(st, caller, auth.address, id, "report", move |_, _, p| {
        if format == "html" {
            return Ok(html(report::report_html(p)));
        }
        Ok((
            [
                (
                    header::CONTENT_TYPE,
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string(),
                ),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"incident-{id}.xlsx\""),
                ),
            ],
            report::report_xlsx(p)?,
        )
            .into_response())
    })
    .await
}
