//! Coverage of a region: figures and gaps. The analysis runs over the
//! region's subtree within the caller's scope, on the heavy pool (with its
//! deadline and queue limit).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::error::ApiError;
use super::heavy::Class;
use super::limits;
use super::state::{AppState, CallerOf};
use crate::access::Caller;
use crate::coverage::{export, Options, Report, Suggestion};
use crate::domain::RegionCode;

/// Runs the analysis of `code` for `caller`.
async fn analyse(
    st: &AppState,
    caller: &Caller,
    code: &str,
    q: &HashMap<String, String>,
) -> Result<(Report, Vec<Suggestion>), ApiError> {
    let code: RegionCode = code
        .parse()
        .map_err(|e| ApiError::BadRequest(format!("{e}")))?;
    let by_road = match q.get("by").map(String::as_str) {
        None | Some("road") => true,
        Some("line") => false,
        Some(o) => return Err(ApiError::BadRequest(format!("by={o:?}: road or line"))),
    };
    let suggest = match q.get("suggest") {
        None => 0,
        Some(s) => s.parse::<usize>().map_err(|_| {
            ApiError::BadRequest(format!("suggest={s:?}: a whole number, 0 or more"))
        })?,
    };
    limits::at_most_usize(
        "suggest",
        "suggest (carer places)",
        limits::COVERAGE_SUGGESTIONS,
        suggest,
    )?;
    let s = st.snapshot.load();
    if s.region(code, &caller.scope).is_none() {
        return Err(ApiError::NotFound(format!("region {code}")));
    }
    let policy = st.policy.clone();
    let scope = caller.scope.clone();
    st.heavy
        .run(Class::Coverage, move |cancel| {
            let opts = Options {
                by_road,
                cancel: cancel.clone(),
                ..Options::default()
            };
            // Regions with a plan are analysed with its grids, evaluated
            // once per plan version by the snapshot and shared with tiles.
            let out = crate::coverage::region::analyse(&s, &policy, code, &scope, opts, suggest);
            // A cancelled analysis stopped early: never answer with it.
            cancel.check()?;
            Ok(out)
        })
        .await
}

/// `GET /api/regions/{code}/coverage?format=json|csv|xlsx&by=road|line&suggest=N`
pub async fn coverage(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    Path(code): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let format = q.get("format").map_or("json", String::as_str).to_string();
    if !matches!(format.as_str(), "json" | "csv" | "xlsx") {
        return Err(ApiError::BadRequest(format!(
            "format={format:?}: json, csv or xlsx"
        )));
    }
    let (report, suggestions) = analyse(&st, &caller, &code, &q).await?;
    let name = format!("coverage-{code}");
    Ok(match format.as_str() {
        "csv" => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{name}.csv\""),
                ),
            ],
            export::csv(&report),
        )
            .into_response(),
        "xlsx" => (
            [
                (
                    header::CONTENT_TYPE,
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string(),
                ),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{name}.xlsx\""),
                ),
            ],
            export::xlsx(&report)?,
        )
            .into_response(),
        _ => {
            let mut v = serde_json::to_value(&report)?;
            v["suggestions"] = serde_json::to_value(&suggestions).unwrap_or_default();
            Json(v).into_response()
        }
    })
}

/// `GET /api/regions/{code}/gaps`: findings with a place, as GeoJSON.
pub async fn gaps(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    Path(code): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let (report, _) = analyse(&st, &caller, &code, &q).await?;
    Ok((
        [(header::CONTENT_TYPE, "application/geo+json")],
        export::geojson(&report).to_string(),
    )
        .into_response())
}
