//! `/api/regions`: the areas being gridded, with their figures.

use axum::extract::{Path, State};
use axum::Json;
use geo::BoundingRect;
use serde_json::{json, Value};

use super::{ApiError, AppState, CallerScope};
use crate::domain::{Region, RegionCode};
use crate::snapshot::Snapshot;

fn summary(s: &Snapshot, r: &Region) -> Value {
    let bbox = r
        .boundary
        .bounding_rect()
        .map(|b| [b.min().x, b.min().y, b.max().x, b.max().y]);
    json!({
        "code": r.code,
        "name": r.name,
        "parent": r.parent,
        "bbox": bbox,
        "counts": s.region_counts(r.code),
    })
}

pub async fn list(State(st): State<AppState>, CallerScope(scope): CallerScope) -> Json<Value> {
    let s = st.snapshot.load();
    let regions: Vec<Value> = s.regions(&scope).map(|r| summary(&s, r)).collect();
    Json(json!({ "regions": regions }))
}

pub async fn detail(
    State(st): State<AppState>,
    CallerScope(scope): CallerScope,
    Path(code): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let code: RegionCode = code
        .parse()
        .map_err(|e| ApiError::BadRequest(format!("{e}")))?;
    let s = st.snapshot.load();
    let r = s
        .region(code, &scope)
        .ok_or_else(|| ApiError::NotFound(format!("region {code}")))?;
    let mut v = summary(&s, r);
    v["boundary"] = serde_json::to_value(geojson::Geometry::from(&r.boundary))?;
    Ok(Json(v))
}
