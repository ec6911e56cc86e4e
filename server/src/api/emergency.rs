//! `/api/emergency/*`: nearest volunteers, hazard-area reports, dispatch
//! plans. Thin: parse, call [`crate::emergency`], answer.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use geo_types::{Coord, MultiPolygon};
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::{audit, timestamp, Authenticated};
use super::{ApiError, AppState, CallerOf};
use crate::emergency::area::{self, PlanParams};
use crate::emergency::{Area, Filter};

fn num(q: &HashMap<String, String>, k: &str) -> Result<Option<f64>, ApiError> {
    q.get(k)
        .map(|s| {
            s.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| ApiError::BadRequest(format!("{k}={s:?} is not a number")))
        })
        .transpose()
}

fn list(s: Option<&String>) -> Vec<String> {
    s.map(|s| {
        s.split([',', '，', '、'])
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .map(str::to_string)
            .collect()
    })
    .unwrap_or_default()
}

fn point(lon: f64, lat: f64) -> Result<Coord<f64>, ApiError> {
    crate::io::validate::check_position(lon, lat, crate::spatial::crs::Crs::Wgs84)
        .map_err(ApiError::BadRequest)?;
    Ok(Coord { x: lon, y: lat })
}

fn reserve(v: Option<&String>) -> Result<Option<bool>, ApiError> {
    match v.map(String::as_str) {
        None | Some("true" | "1") => Ok(Some(true)),
        Some("false" | "0") => Ok(Some(false)),
        Some("any") => Ok(None),
        Some(o) => Err(ApiError::BadRequest(format!(
            "reserve={o:?}: true, false or any"
        ))),
    }
}

/// `GET /api/emergency/nearest?lon=&lat=&k=&radius_m=&skills=&team=&reserve=&by=`
pub async fn nearest(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    Extension(auth): Extension<Authenticated>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let (Some(lon), Some(lat)) = (num(&q, "lon")?, num(&q, "lat")?) else {
        return Err(ApiError::BadRequest(
            "lon and lat are required (WGS-84 degrees)".into(),
        ));
    };
    let at = point(lon, lat)?;
    let k = match q.get("k") {
        None => 10,
        Some(s) => s
            .parse::<usize>()
            .ok()
            .filter(|k| (1..=1000).contains(k))
            .ok_or_else(|| ApiError::BadRequest(format!("k={s:?}: 1 to 1000")))?,
    };
    let radius = num(&q, "radius_m")?;
    if radius.is_some_and(|r| r <= 0.0) {
        return Err(ApiError::BadRequest("radius_m must be positive".into()));
    }
    let filter = Filter {
        skills: list(q.get("skills")),
        team: q.get("team").cloned().filter(|t| !t.is_empty()),
        reserve: reserve(q.get("reserve"))?,
    };
    let s = st.snapshot.load();
    let walk = match q.get("by").map(String::as_str) {
        None | Some("road") => s.emergency.has_network(),
        Some("line") => false,
        Some(o) => return Err(ApiError::BadRequest(format!("by={o:?}: road or line"))),
    };
    let people = s.people.items();
    let found = s
        .emergency
        .nearest(people, at, k, radius, &filter, walk, &caller.scope);
    let rows: Vec<_> = found
        .iter()
        .map(|f| area::person_row(&people[f.person], &caller, f.straight_m, f.walk_m))
        .collect();
    if crate::access::projection::reveals_personal(caller.role) && !rows.is_empty() {
        let ids: Vec<String> = rows.iter().map(|r| r.id.to_string()).collect();
        audit(
            &st,
            &caller.name,
            "read_personal",
            "emergency/nearest",
            &auth.address,
            &ids.join(","),
        );
    }
    Ok(Json(json!({
        "at": [lon, lat],
        "by": if walk { "road" } else { "line" },
        "walk_m_per_s": crate::emergency::network::WALK_M_PER_S,
        "volunteers": rows,
    })))
}

/// The hazard area of a request: a GeoJSON polygon, or a circle.
#[derive(Debug, Deserialize)]
pub struct AreaSpec {
    pub polygon: Option<geojson::Geometry>,
    pub circle: Option<Circle>,
}

#[derive(Debug, Deserialize)]
pub struct Circle {
    pub lon: f64,
    pub lat: f64,
    pub radius_m: f64,
}

impl AreaSpec {
    pub fn parse(&self) -> Result<Area, String> {
        match (&self.polygon, &self.circle) {
            (Some(g), None) => {
                crate::io::validate::check_geojson_rings(g).map_err(|e| format!("polygon: {e}"))?;
                let geom: geo_types::Geometry<f64> = g.clone().try_into().map_err(|e| format!("polygon: {e}"))?;
                let mp = match geom {
                    geo_types::Geometry::Polygon(p) => MultiPolygon(vec![p]),
                    geo_types::Geometry::MultiPolygon(m) => m,
                    _ => return Err("polygon: a Polygon or MultiPolygon geometry is expected".into()),
                };
                for p in &mp.0 {
                    for c in p.exterior().coords().chain(p.interiors().iter().flat_map(|r| r.coords())) {
                        crate::io::validate::check_position(c.x, c.y, crate::spatial::crs::Crs::Wgs84).map_err(|e| format!("polygon: {e}"))?;
                    }
                    crate::io::validate::check_polygon(p).map_err(|e| format!("polygon: {e}"))?;
                }
                Ok(Area::Polygon(mp))
            }
            (None, Some(c)) => {
                crate::io::validate::check_position(c.lon, c.lat, crate::spatial::crs::Crs::Wgs84).map_err(|e| format!("circle: {e}"))?;
                if !(c.radius_m.is_finite() && c.radius_m > 0.0 && c.radius_m <= 100_000.0) {
                    return Err(format!("circle: radius_m {} must be between 0 and 100000", c.radius_m));
                }
                Ok(Area::Circle { center: Coord { x: c.lon, y: c.lat }, radius_m: c.radius_m })
            }
            _ => Err("give the area as exactly one of polygon (GeoJSON, WGS-84) or circle {lon, lat, radius_m}".into()),
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct AreaRequest {
    #[serde(flatten)]
    pub area: AreaSpec,
    #[serde(default)]
    pub margin_m: Option<f64>,
    #[serde(default)]
    pub skills: Vec<String>,
    #[serde(default)]
    pub team: Option<String>,
}

fn care_names(st: &AppState) -> Vec<String> {
    let _ = st;
    crate::domain::Policy::default()
        .care_levels
        .iter()
        .map(|c| c.name.clone())
        .collect()
}

/// `POST /api/emergency/area`
pub async fn area(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    Extension(auth): Extension<Authenticated>,
    Json(req): Json<AreaRequest>,
) -> Result<Json<Value>, ApiError> {
    super::text::capped_list("skills", &req.skills, super::text::CODE)?;
    super::text::capped_opt("team", req.team.as_deref(), super::text::NAME)?;
    let a = req.area.parse().map_err(ApiError::BadRequest)?;
    let filter = Filter {
        skills: req.skills,
        team: req.team,
        reserve: Some(true),
    };
    let s = st.snapshot.load();
    let report = area::report(
        &s,
        &a,
        req.margin_m.unwrap_or(500.0).clamp(0.0, 50_000.0),
        &filter,
        &caller,
        &care_names(&st),
    );
    if crate::access::projection::reveals_personal(caller.role) {
        audit(
            &st,
            &caller.name,
            "read_personal",
            "emergency/area",
            &auth.address,
            &format!(
                "{} households, {} volunteers",
                report.vulnerable.len(),
                report.volunteers.len()
            ),
        );
    }
    Ok(Json(
        serde_json::to_value(report).map_err(|e| ApiError::Internal(e.to_string()))?,
    ))
}

#[derive(Debug, Deserialize)]
pub struct PlanRequest {
    #[serde(flatten)]
    pub area: AreaSpec,
    pub capacity: Option<usize>,
    pub max_distance_m: Option<f64>,
    pub min_care: Option<u8>,
    pub margin_m: Option<f64>,
    #[serde(default)]
    pub skills: Vec<String>,
    pub team: Option<String>,
    pub walk: Option<bool>,
    /// json (default), geojson, csv or html.
    pub format: Option<String>,
    pub title: Option<String>,
}

impl PlanRequest {
    pub fn params(&self) -> Result<PlanParams, String> {
        let d = PlanParams::default();
        let p = PlanParams {
            capacity: self.capacity.unwrap_or(d.capacity),
            max_distance_m: self.max_distance_m.unwrap_or(d.max_distance_m),
            min_care: self.min_care.unwrap_or(d.min_care),
            margin_m: self.margin_m.unwrap_or(d.margin_m),
            filter: Filter {
                skills: self.skills.clone(),
                team: self.team.clone(),
                reserve: Some(true),
            },
            walk: self.walk.unwrap_or(true),
        };
        if !(1..=100).contains(&p.capacity) {
            return Err(format!(
                "capacity {} must be 1 to 100 households per volunteer",
                p.capacity
            ));
        }
        if !(p.max_distance_m.is_finite() && p.max_distance_m > 0.0 && p.max_distance_m <= 50_000.0)
        {
            return Err(format!(
                "max_distance_m {} must be between 0 and 50000",
                p.max_distance_m
            ));
        }
        if !(p.margin_m.is_finite() && (0.0..=50_000.0).contains(&p.margin_m)) {
            return Err(format!(
                "margin_m {} must be between 0 and 50000",
                p.margin_m
            ));
        }
        Ok(p)
    }
}

/// `POST /api/emergency/plan`
pub async fn plan(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    Extension(auth): Extension<Authenticated>,
    Json(req): Json<PlanRequest>,
) -> Result<Response, ApiError> {
    super::text::capped_list("skills", &req.skills, super::text::CODE)?;
    super::text::capped_opt("team", req.team.as_deref(), super::text::NAME)?;
    super::text::capped_opt("title", req.title.as_deref(), super::text::NAME)?;
    let a = req.area.parse().map_err(ApiError::BadRequest)?;
    let params = req.params().map_err(ApiError::BadRequest)?;
    let s = st.snapshot.load();
    let plan = area::plan(&s, &a, &params, &caller, &care_names(&st));
    if crate::access::projection::reveals_personal(caller.role) {
        audit(
            &st,
            &caller.name,
            "read_personal",
            "emergency/plan",
            &auth.address,
            &format!(
                "{} households, {} volunteers",
                plan.households,
                plan.routes.len()
            ),
        );
    }
    let at = timestamp(0);
    let title = req.title.clone().unwrap_or_else(|| "应急走访调度单".into());
    Ok(match req.format.as_deref().unwrap_or("json") {
        "json" => Json(serde_json::to_value(&plan).map_err(|e| ApiError::Internal(e.to_string()))?)
            .into_response(),
        "geojson" => (
            [(header::CONTENT_TYPE, "application/geo+json")],
            crate::emergency::output::geojson(&plan).to_string(),
        )
            .into_response(),
        "csv" => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"dispatch.csv\"",
                ),
            ],
            crate::emergency::output::csv(&plan, &caller.name, &at),
        )
            .into_response(),
        "html" => (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            crate::emergency::output::html(&plan, &title, &caller.name, &at),
        )
            .into_response(),
        o => {
            return Err(ApiError::BadRequest(format!(
                "format {o:?}: json, geojson, csv or html"
            )))
        }
    })
}
