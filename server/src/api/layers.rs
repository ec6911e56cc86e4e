//! `/api/layers/{layer}`: any layer as GeoJSON, filtered by bbox, paged.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::Json;
use geo_types::Rect;
use serde_json::{json, Value};

use super::{ApiError, AppState, CallerOf};
use crate::access::Caller;
use crate::domain::Layer;
use crate::domain::Record;
use crate::io::feature::feature_for;

/// Features per page when the caller does not say.
const DEFAULT_LIMIT: usize = 1000;

fn layer(name: &str) -> Result<Layer, ApiError> {
    Layer::parse(name).ok_or_else(|| {
        let known: Vec<_> = Layer::ALL.iter().map(|l| l.as_str()).collect();
        ApiError::NotFound(format!(
            "unknown layer {name:?}; layers: {}",
            known.join(", ")
        ))
    })
}

/// Parses `minlon,minlat,maxlon,maxlat` (WGS-84).
pub fn parse_bbox(s: &str) -> Result<Rect<f64>, ApiError> {
    let v: Vec<f64> = s
        .split(',')
        .map(|p| p.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| {
            ApiError::BadRequest(format!(
                "bbox {s:?}: four numbers expected, minlon,minlat,maxlon,maxlat"
            ))
        })?;
    if v.len() != 4 || v.iter().any(|x| !x.is_finite()) {
        return Err(ApiError::BadRequest(format!(
            "bbox {s:?}: four finite numbers expected, minlon,minlat,maxlon,maxlat"
        )));
    }
    if v[0] > v[2] || v[1] > v[3] {
        return Err(ApiError::BadRequest(format!(
            "bbox {s:?}: min must not exceed max"
        )));
    }
    if v[0] < -180.0 || v[2] > 180.0 || v[1] < -90.0 || v[3] > 90.0 {
        return Err(ApiError::BadRequest(format!(
            "bbox {s:?}: outside WGS-84 longitude/latitude ranges"
        )));
    }
    Ok(Rect::new((v[0], v[1]), (v[2], v[3])))
}

pub(super) fn parse_usize(
    q: &HashMap<String, String>,
    key: &str,
    default: usize,
    max: usize,
) -> Result<usize, ApiError> {
    match q.get(key) {
        None => Ok(default),
        Some(s) => match s.parse::<usize>() {
            Ok(n) if n <= max => Ok(n),
            _ => Err(ApiError::BadRequest(format!(
                "{key}={s:?}: a whole number from 0 to {max} expected"
            ))),
        },
    }
}

/// Refuses, with 403 `counts_only`, a request for households or people one
/// by one from a role that sees them only as counts.
pub(super) fn check_listable(st: &AppState, caller: &Caller, layer: Layer) -> Result<(), ApiError> {
    if crate::access::projection::may_list(caller.role, layer) {
        return Ok(());
    }
    Err(ApiError::CountsOnly(format!(
        "{}: the {} role sees households and people only as counts (per region, per grid, and per map cell of at least {} households in the households tiles), never one by one",
        layer.as_str(),
        caller.role,
        st.policy.privacy.min_cell_households
    )))
}

/// The layers the caller may list (households and people only for roles
/// that see individuals), with their feature counts.
pub async fn list(State(st): State<AppState>, CallerOf(caller): CallerOf) -> Json<Value> {
    let s = st.snapshot.load();
    let layers: Vec<Value> = Layer::ALL
        .iter()
        .filter(|&&l| crate::access::projection::may_list(caller.role, l))
        .map(|&l| {
            let n = s.layer_page(l, None, &caller, 0, 0).matched;
            json!({ "name": l.as_str(), "features": n, "href": format!("/api/layers/{}", l.as_str()) })
        })
        .collect();
    Json(json!({ "layers": layers }))
}

pub async fn items(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    axum::Extension(auth): axum::Extension<super::auth::Authenticated>,
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let layer = layer(&name)?;
    check_listable(&st, &caller, layer)?;
    let bbox = q.get("bbox").map(|s| parse_bbox(s)).transpose()?;
    let limit = parse_usize(&q, "limit", DEFAULT_LIMIT, usize::MAX)?;
    super::limits::at_most_usize(
        "page_items",
        "features per page (limit)",
        super::limits::PAGE_ITEMS,
        limit,
    )?;
    let offset = parse_usize(&q, "offset", 0, usize::MAX)?;
    let s = st.snapshot.load();
    let page = s.layer_page(layer, bbox, &caller, offset, limit);
    audit_reveal(&st, &caller, &auth.address, layer, &page.items);
    let features: Vec<Value> = page
        .items
        .iter()
        .map(|r| serde_json::to_value(feature_for(r, caller.role)).map_err(ApiError::from))
        .collect::<Result<_, _>>()?;
    let returned = features.len();
    let mut links = vec![];
    if offset + returned < page.matched {
        let mut next = format!(
            "/api/layers/{name}?limit={limit}&offset={}",
            offset + returned
        );
        if let Some(b) = q.get("bbox") {
            next.push_str(&format!("&bbox={b}"));
        }
        links.push(json!({ "rel": "next", "href": next, "type": "application/geo+json" }));
    }
    Ok(Json(json!({
        "type": "FeatureCollection",
        "numberMatched": page.matched,
        "numberReturned": returned,
        "links": links,
        "features": features,
    })))
}

pub async fn item(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    axum::Extension(auth): axum::Extension<super::auth::Authenticated>,
    Path((name, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let layer = layer(&name)?;
    check_listable(&st, &caller, layer)?;
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::BadRequest(format!("feature id {id:?} is not a number")))?;
    let s = st.snapshot.load();
    let r = s
        .layer_item(layer, id, &caller)
        .ok_or_else(|| ApiError::NotFound(format!("{} feature {id}", layer.as_str())))?;
    audit_reveal(&st, &caller, &auth.address, layer, std::slice::from_ref(&r));
    serde_json::to_value(feature_for(&r, caller.role))
        .map(Json)
        .map_err(ApiError::from)
}

/// Records in the audit log that `caller` was shown personal fields of
/// these households or people (ids, up to 200 of them, then a count).
pub(super) fn audit_reveal(
    st: &AppState,
    caller: &Caller,
    from: &str,
    layer: Layer,
    records: &[Record],
) {
    if !crate::access::projection::reveals_personal(caller.role)
        || !matches!(layer, Layer::Households | Layer::People)
        || records.is_empty()
    {
        return;
    }
    let ids: Vec<String> = records
        .iter()
        .take(200)
        .map(|r| crate::snapshot::record_id(r).to_string())
        .collect();
    let more = records.len().saturating_sub(200);
    let detail = if more > 0 {
        format!("{} and {more} more", ids.join(","))
    } else {
        ids.join(",")
    };
    super::auth::audit(
        st,
        &caller.name,
        "read_personal",
        layer.as_str(),
        from,
        &detail,
    );
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn bbox_errors_say_what_is_wrong() {
        assert!(parse_bbox("109,32,110,33").is_ok());
        for bad in [
            "109,32,110",
            "a,b,c,d",
            "110,32,109,33",
            "109,32,200,33",
            "NaN,1,2,3",
        ] {
            assert!(
                matches!(parse_bbox(bad), Err(ApiError::BadRequest(_))),
                "{bad}"
            );
        }
    }
}
