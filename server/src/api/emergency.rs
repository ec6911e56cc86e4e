//! `/api/emergency/*`: nearest volunteers, hazard-area reports, dispatch
//! plans. Thin: parse, check the [`limits`] (cheap, first), run the core on
//! the [`heavy`](super::heavy) pool, answer.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use geo_types::{Coord, MultiPolygon};
use serde::Deserialize;
use serde_json::json;

use super::auth::{audit, Authenticated};
use super::heavy::Class;
use super::limits;
use super::{ApiError, AppState, CallerOf};
use crate::domain::Availability;
use crate::emergency::area::{self, PlanError, PlanParams};
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
) -> Result<Response, ApiError> {
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
            .filter(|k| *k >= 1)
            .ok_or_else(|| ApiError::BadRequest(format!("k={s:?}: a whole number from 1")))?,
    };
    limits::at_most_usize("k", "k (volunteers asked for)", limits::NEAREST_K, k)?;
    let radius = num(&q, "radius_m")?;
    if radius.is_some_and(|r| r <= 0.0) {
        return Err(ApiError::BadRequest("radius_m must be positive".into()));
    }
    let radius = radius.unwrap_or(limits::NEAREST_RADIUS_M);
    limits::at_most_f64("radius_m", "radius_m", limits::NEAREST_RADIUS_M, radius)?;
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
    let find = {
        let caller = caller.clone();
        move |_: &crate::cancel::Cancel| {
            let people = s.people.items();
            let found =
                s.emergency
                    .nearest(people, at, k, Some(radius), &filter, walk, &caller.scope);
            Ok(found
                .iter()
                .map(|f| area::person_row(&people[f.person], &caller, f.straight_m, f.walk_m))
                .collect::<Vec<_>>())
        }
    };
    // A straight-line search is an R-tree walk; a walk search is a
    // Dijkstra over the roads, which belongs on the pool.
    let rows = if walk {
        st.heavy.run(Class::Nearest, find).await?
    } else {
        find(&crate::cancel::Cancel::never())?
    };
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
    Ok(axum::Json(json!({
        "at": [lon, lat],
        "by": if walk { "road" } else { "line" },
        "walk_m_per_s": crate::emergency::network::WALK_M_PER_S,
        "volunteers": rows,
    }))
    .into_response())
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
    /// The [`limits`] on the area (points, km²), checked before anything
    /// else is: counting is cheap, validating a huge polygon is not.
    pub fn check_limits(&self) -> Result<(), ApiError> {
        if let Some(g) = &self.polygon {
            let n = limits::vertices(&g.value);
            limits::at_most_usize(
                "polygon_vertices",
                "the polygon's points",
                limits::POLYGON_VERTICES,
                n,
            )?;
            let km2 = limits::area_km2(&g.value);
            limits::at_most_f64(
                "hazard_area_km2",
                "the polygon's area (km²)",
                limits::HAZARD_AREA_KM2,
                km2,
            )?;
        }
        if let Some(c) = &self.circle {
            if c.radius_m.is_finite() && c.radius_m > 0.0 {
                let km2 = std::f64::consts::PI * (c.radius_m / 1000.0).powi(2);
                limits::at_most_f64(
                    "hazard_area_km2",
                    "the circle's area (km²)",
                    limits::HAZARD_AREA_KM2,
                    km2,
                )?;
            }
        }
        Ok(())
    }

    /// The area, within the limits and valid (positions, closed simple
    /// rings), or a 400/422 saying what is wrong.
    pub fn parse(&self) -> Result<Area, ApiError> {
        self.check_limits()?;
        self.validate().map_err(ApiError::BadRequest)
    }

    fn validate(&self) -> Result<Area, String> {
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
                if !(c.radius_m.is_finite() && c.radius_m > 0.0) {
                    return Err(format!("circle: radius_m {} must be a positive number of metres", c.radius_m));
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

pub(super) fn care_names() -> Vec<String> {
    crate::domain::Policy::default()
        .care_levels
        .iter()
        .map(|c| c.name.clone())
        .collect()
}

/// `margin_m`: absent is `default`; negative or not a number is a 400,
/// over [`limits::MARGIN_M`] a 422.
fn margin(m: Option<f64>, default: f64) -> Result<f64, ApiError> {
    let m = m.unwrap_or(default);
    if !(m.is_finite() && m >= 0.0) {
        return Err(ApiError::BadRequest(format!(
            "margin_m {m} must be a number of metres, 0 or more"
        )));
    }
    limits::at_most_f64("margin_m", "margin_m", limits::MARGIN_M, m)?;
    Ok(m)
}

/// A JSON body whose polygon's points are counted on the raw bytes before
/// it is parsed: a 10⁶-point polygon is refused (422, `polygon_vertices`)
/// in well under a millisecond instead of being deserialized first.
pub struct AreaJson<T>(pub T);

impl<S, T> axum::extract::FromRequest<S> for AreaJson<T>
where
    S: Send + Sync,
    T: serde::de::DeserializeOwned,
{
    type Rejection = Response;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let bytes = axum::body::to_bytes(body, limits::JSON_BODY_BYTES)
            .await
            .map_err(|_| limits::body_too_large(None).into_response())?;
        let n = limits::positions_in(&bytes);
        limits::at_most_usize(
            "polygon_vertices",
            "the polygon's points",
            limits::POLYGON_VERTICES,
            n,
        )
        .map_err(IntoResponse::into_response)?;
        let req = axum::extract::Request::from_parts(parts, axum::body::Body::from(bytes));
        axum::Json::<T>::from_request(req, state)
            .await
            .map(|axum::Json(v)| Self(v))
            .map_err(IntoResponse::into_response)
    }
}

fn json_body<T: serde::Serialize>(v: &T) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(v).map_err(ApiError::from)
}

/// `POST /api/emergency/area`
pub async fn area(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    Extension(auth): Extension<Authenticated>,
    AreaJson(req): AreaJson<AreaRequest>,
) -> Result<Response, ApiError> {
    super::text::capped_list("skills", &req.skills, super::text::CODE)?;
    super::text::capped_opt("team", req.team.as_deref(), super::text::NAME)?;
    req.area.check_limits()?;
    let margin_m = margin(req.margin_m, 500.0)?;
    let filter = Filter {
        skills: req.skills,
        team: req.team,
        reserve: Some(true),
    };
    let s = st.snapshot.load();
    let who = caller.clone();
    let area_spec = req.area;
    let (households, volunteers, body) = st
        .heavy
        .run(Class::Emergency, move |cancel| {
            let a = area_spec.parse()?;
            let report = area::report(&s, &a, margin_m, &filter, &who, &care_names(), cancel)?;
            Ok((
                report.vulnerable.len(),
                report.volunteers.len(),
                json_body(&report)?,
            ))
        })
        .await?;
    if crate::access::projection::reveals_personal(caller.role) {
        audit(
            &st,
            &caller.name,
            "read_personal",
            "emergency/area",
            &auth.address,
            &format!("{households} households, {volunteers} volunteers"),
        );
    }
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// A plan made for incident `id`: over its area in force unless the
/// request draws one, leaving out the households already served
/// (reached, evacuated).
fn for_incident(
    st: &AppState,
    caller: &crate::access::Caller,
    id: i64,
    spec: &AreaSpec,
    mut p: PlanParams,
) -> Result<(Area, PlanParams), ApiError> {
    let i = super::incidents::visible(st, caller, id)?;
    let area = if spec.polygon.is_none() && spec.circle.is_none() {
        i.area()
            .and_then(|a| crate::incident::stored_area(&a.area))
            .ok_or_else(|| ApiError::Internal(format!("incident {id} has no readable area")))?
    } else {
        spec.parse()?
    };
    p.served = st
        .incidents
        .household_statuses(id)?
        .into_iter()
        .filter(|h| h.status.served())
        .map(|h| h.household)
        .collect();
    // A household someone is on the way to (or at) is theirs: the next
    // plan sends nobody else. Once they are done or off duty without it
    // being reached, it is planned again.
    let s = st.snapshot.load();
    p.served.extend(
        st.incidents
            .sent(id)?
            .into_iter()
            .filter(|x| {
                s.people.get(x.volunteer, &caller.scope).is_some_and(|v| {
                    matches!(v.status, Availability::Dispatched | Availability::Arrived)
                })
            })
            .map(|x| x.household),
    );
    Ok((area, p))
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
    /// Send volunteers who are inside the hazard area too (the officer's
    /// say; by default they are flagged and left out).
    pub allow_inside: Option<bool>,
    /// json (default), geojson, csv or html.
    pub format: Option<String>,
    pub title: Option<String>,
    /// A plan for this incident: over its area in force unless the
    /// request gives one, leaving out the households already served.
    pub incident: Option<i64>,
}

impl PlanRequest {
    /// The plan's parameters: a 400 for values that mean nothing, a 422
    /// naming the limit for values over one.
    pub fn params(&self) -> Result<PlanParams, ApiError> {
        let d = PlanParams::default();
        let p = PlanParams {
            capacity: self.capacity.unwrap_or(d.capacity),
            max_distance_m: self.max_distance_m.unwrap_or(d.max_distance_m),
            min_care: self.min_care.unwrap_or(d.min_care),
            margin_m: margin(self.margin_m, d.margin_m)?,
            filter: Filter {
                skills: self.skills.clone(),
                team: self.team.clone(),
                reserve: Some(true),
            },
            walk: self.walk.unwrap_or(true),
            max_households: limits::DISPATCH_HOUSEHOLDS,
            max_volunteers: limits::DISPATCH_VOLUNTEERS,
            allow_inside: self.allow_inside.unwrap_or(false),
            served: std::collections::HashSet::new(),
        };
        if p.capacity == 0 {
            return Err(ApiError::BadRequest(
                "capacity 0: a volunteer takes at least 1 household".into(),
            ));
        }
        limits::at_most_usize(
            "capacity",
            "capacity (households per volunteer)",
            limits::CAPACITY,
            p.capacity,
        )?;
        if !(p.max_distance_m.is_finite() && p.max_distance_m > 0.0) {
            return Err(ApiError::BadRequest(format!(
                "max_distance_m {} must be a positive number of metres",
                p.max_distance_m
            )));
        }
        limits::at_most_f64(
            "max_distance_m",
            "max_distance_m",
            limits::MAX_DISTANCE_M,
            p.max_distance_m,
        )?;
        Ok(p)
    }
}

impl From<PlanError> for ApiError {
    fn from(e: PlanError) -> Self {
        match e {
            PlanError::Cancelled(c) => c.into(),
            PlanError::TooMany {
                limit,
                what,
                max,
                got,
            } => limits::over(limit, &format!("{what} in one dispatch plan"), max, got),
        }
    }
}

/// `POST /api/emergency/plan`
pub async fn plan(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    Extension(auth): Extension<Authenticated>,
    AreaJson(req): AreaJson<PlanRequest>,
) -> Result<Response, ApiError> {
    super::text::capped_list("skills", &req.skills, super::text::CODE)?;
    super::text::capped_opt("team", req.team.as_deref(), super::text::NAME)?;
    super::text::capped_opt("title", req.title.as_deref(), super::text::NAME)?;
    req.area.check_limits()?;
    let params = req.params()?;
    let format = req.format.clone().unwrap_or_else(|| "json".into());
    let ctype = match format.as_str() {
        "json" => "application/json",
        "geojson" => "application/geo+json",
        "csv" => "text/csv; charset=utf-8",
        "html" => "text/html; charset=utf-8",
        o => {
            return Err(ApiError::BadRequest(format!(
                "format {o:?}: json, geojson, csv or html"
            )))
        }
    };
    let s = st.snapshot.load();
    let who = caller.clone();
    let title = req.title.clone().unwrap_or_else(|| "应急走访调度单".into());
    let area_spec = req.area;
    let (incident, st2) = (req.incident, st.clone());
    let (households, volunteers, body) = st
        .heavy
        .run(Class::Emergency, move |cancel| {
            let (a, params) = match incident {
                None => (area_spec.parse()?, params),
                Some(id) => for_incident(&st2, &who, id, &area_spec, params)?,
            };
            let plan = area::plan(&s, &a, &params, &who, &care_names(), cancel)?;
            let at = super::when::now_for_people();
            let body = match format.as_str() {
                "geojson" => crate::emergency::output::geojson(&plan)
                    .to_string()
                    .into_bytes(),
                "csv" => crate::emergency::output::csv(&plan, &who.name, &at).into_bytes(),
                "html" => {
                    crate::emergency::output::html(&plan, &title, &who.name, &at).into_bytes()
                }
                _ => json_body(&plan)?,
            };
            Ok((plan.households, plan.routes.len(), body))
        })
        .await?;
    if crate::access::projection::reveals_personal(caller.role) {
        audit(
            &st,
            &caller.name,
            "read_personal",
            "emergency/plan",
            &auth.address,
            &format!("{households} households, {volunteers} volunteers"),
        );
    }
    let mut resp = ([(header::CONTENT_TYPE, ctype)], body).into_response();
    if ctype.starts_with("text/csv") {
        resp.headers_mut().insert(
            header::CONTENT_DISPOSITION,
            header::HeaderValue::from_static("attachment; filename=\"dispatch.csv\""),
        );
    }
    Ok(resp)
}
