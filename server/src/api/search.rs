//! `GET /api/search?q=`: regions, grids and addresses by what the caller
//! typed, city-wide within their scope ([`crate::search`]).

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::Json;
use serde_json::{json, Value};

use super::{ApiError, AppState, CallerOf};
use crate::access::projection::{reveals_personal, visibility, PersonalField, Visibility};
use crate::search::{search, Kind};

const DEFAULT_LIMIT: usize = 20;

pub async fn find(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    axum::Extension(auth): axum::Extension<super::auth::Authenticated>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let query = q.get("q").map(|s| s.trim()).unwrap_or_default();
    if query.is_empty() {
        return Err(ApiError::BadRequest(
            "q: what to search for is missing".into(),
        ));
    }
    if query.chars().count() > 100 {
        return Err(ApiError::BadRequest("q: at most 100 characters".into()));
    }
    let limit = super::layers::parse_usize(&q, "limit", DEFAULT_LIMIT, usize::MAX)?;
    super::limits::at_most_usize(
        "search_results",
        "results (limit)",
        super::limits::SEARCH_RESULTS,
        limit,
    )?;
    let s = st.snapshot.load();
    let hits = search(&s, &caller, query, limit);
    // Full addresses shown are personal data read: audited as a layer read.
    let full = visibility(caller.role, PersonalField::HouseholdAddress) == Visibility::Full;
    let shown: Vec<&str> = hits
        .iter()
        .filter(|h| h.kind == Kind::Household)
        .map(|h| h.code.as_str())
        .collect();
    if full && reveals_personal(caller.role) && !shown.is_empty() {
        super::auth::audit(
            &st,
            &caller.name,
            "read_personal",
            "search",
            &auth.address,
            &shown.join(","),
        );
    }
    Ok(Json(json!({ "query": query, "hits": hits })))
}
