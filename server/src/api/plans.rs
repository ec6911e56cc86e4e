//! Grid plans: generate one as a background job, follow its progress, and
//! read a plan's grids (GeoJSON) and figures. Plans carry no personal
//! field: households appear only as counts.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::auth::{audit, timestamp, Authenticated};
use super::error::ApiError;
use super::state::{AppState, CallerOf};
use crate::access::Scope;
use crate::domain::{GridCode, Level, RegionCode};
use crate::partition::plan::{self, grounds, plan_all, Previous, RegionPlan, Settings};
use crate::snapshot::Snapshot;

/// Jobs that make plans (evaluated plans are the snapshot's).
#[derive(Default)]
pub struct Plans {
    jobs: Mutex<Vec<Arc<Job>>>,
}

/// One generation run over a region's leaf regions.
#[derive(Debug)]
pub struct Job {
    pub id: usize,
    pub region: RegionCode,
    pub user: String,
    pub total: usize,
    pub done: AtomicUsize,
    pub state: Mutex<JobState>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum JobState {
    Running,
    Done { plans: Vec<serde_json::Value> },
    Failed { error: String },
}

impl Job {
    fn view(&self) -> serde_json::Value {
        let mut v = json!({
            "id": self.id,
            "region": self.region.to_string(),
            "user": self.user,
            "total": self.total,
            "done": self.done.load(Ordering::Relaxed),
        });
        let state = self.state.lock().expect("job state").clone();
        if let (Some(o), Ok(serde_json::Value::Object(s))) =
            (v.as_object_mut(), serde_json::to_value(state))
        {
            o.extend(s);
        }
        v
    }
}

/// What a generation may be told.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenerateBody {
    #[serde(default)]
    pub seed: Option<u64>,
    /// Grid codes of the newest plans to keep as they are.
    #[serde(default)]
    pub locks: Vec<String>,
    #[serde(default)]
    pub message: Option<String>,
    /// Lines no grid may cross: path, minor, major, river, railway.
    #[serde(default)]
    pub barriers: Vec<String>,
    /// `[lon, lat]` points level-1 grids grow from.
    #[serde(default)]
    pub seed_points: Vec<[f64; 2]>,
}

fn region_code(code: &str) -> Result<RegionCode, ApiError> {
    code.parse()
        .map_err(|e| ApiError::BadRequest(format!("region code {code:?}: {e}")))
}

/// `POST /api/regions/{code}/plans`: starts a job planning every leaf
/// region under `code` (within the caller's scope); 202 with the job.
#[allow(
    clippy::too_many_lines,
    reason = "the job's request checks, then the job itself, in the order the API documents them"
)]
pub async fn generate(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    axum::Extension(auth): axum::Extension<Authenticated>,
    Path(code): Path<String>,
    body: Option<Json<GenerateBody>>,
) -> Result<Response, ApiError> {
    let code = region_code(&code)?;
    let body = body.map(|b| b.0).unwrap_or_default();
    super::text::capped_opt("message", body.message.as_deref(), super::text::MESSAGE)?;
    super::text::capped_list("locks", &body.locks, super::text::CODE)?;
    let s = st.snapshot.load();
    if s.region(code, &caller.scope).is_none() {
        return Err(ApiError::NotFound(format!("region {code}")));
    }
    let total = leaf_codes(&s, code, &caller.scope).len();
    if total == 0 {
        return Err(ApiError::BadRequest(format!(
            "region {code} has no region to plan"
        )));
    }
    let locks: Vec<GridCode> = body.locks.iter().map(|c| GridCode(c.clone())).collect();
    for c in &locks {
        let known = s.plans.values().any(|p| {
            caller.scope.contains(p.version.region) && p.codes.iter().flatten().any(|x| x == c)
        });
        if !known {
            return Err(ApiError::BadRequest(format!(
                "lock {c}: no plan in scope has this grid"
            )));
        }
    }
    let mut barriers = Vec::new();
    for b in &body.barriers {
        barriers.push(crate::partition::atoms::EdgeKind::parse(b).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "barrier {b:?}: one of path, minor, major, river, railway"
            ))
        })?);
    }
    for p in &body.seed_points {
        if !((-180.0..=180.0).contains(&p[0]) && (-90.0..=90.0).contains(&p[1])) {
            return Err(ApiError::BadRequest(format!(
                "seed point {p:?}: [lon, lat] in degrees"
            )));
        }
    }
    let seed_points: Vec<geo_types::Coord<f64>> = body
        .seed_points
        .iter()
        .map(|p| geo_types::Coord { x: p[0], y: p[1] })
        .collect();
    let job = {
        let mut jobs = st.plans.jobs.lock().expect("jobs");
        let job = Arc::new(Job {
            id: jobs.len() + 1,
            region: code,
            user: caller.name.clone(),
            total,
            done: AtomicUsize::new(0),
            state: Mutex::new(JobState::Running),
        });
        jobs.push(job.clone());
        job
    };
    audit(
        &st,
        &caller.name,
        "plan_generate",
        &format!("regions/{code}/plans"),
        &auth.address,
        &format!("job {}", job.id),
    );
    tracing::info!(job = job.id, region = %code, regions = total, user = caller.name, "plan job started");
    let st2 = st.clone();
    let job2 = job.clone();
    let scope = caller.scope.clone();
    let message = body
        .message
        .unwrap_or_else(|| format!("generated by {}", caller.name));
    tokio::task::spawn_blocking(move || {
        let started = std::time::Instant::now();
        let result = run_job(
            &st2,
            &job2,
            &scope,
            (body.seed, &barriers, &seed_points),
            &locks,
            &message,
        );
        let state = match result {
            Ok(plans) => {
                tracing::info!(
                    job = job2.id,
                    plans = plans.len(),
                    ms = started.elapsed().as_millis(),
                    "plan job done"
                );
                JobState::Done { plans }
            }
            Err(e) => {
                tracing::warn!(job = job2.id, error = %e, "plan job failed");
                JobState::Failed {
                    error: e.to_string(),
                }
            }
        };
        *job2.state.lock().expect("job state") = state;
    });
    let mut v = job.view();
    v["url"] = json!(format!("/api/jobs/{}", job.id));
    Ok((StatusCode::ACCEPTED, Json(v)).into_response())
}

/// The leaf regions under `code` the caller may see.
fn leaf_codes(s: &Snapshot, code: RegionCode, scope: &Scope) -> Vec<RegionCode> {
    let regions = s.regions.items();
    grounds(regions, &[], &[], &[], Some(code))
        .into_iter()
        .map(|g| g.region.code)
        .filter(|c| scope.contains(*c))
        .collect()
}

fn run_job(
    st: &AppState,
    job: &Job,
    scope: &Scope,
    (seed, barriers, seed_points): (
        Option<u64>,
        &[crate::partition::atoms::EdgeKind],
        &[geo_types::Coord<f64>],
    ),
    locks: &[GridCode],
    message: &str,
) -> Result<Vec<serde_json::Value>, ApiError> {
    let s = st.snapshot.load();
    let mut ground = grounds(
        s.regions.items(),
        s.roads.items(),
        s.water.items(),
        s.households.iter(),
        Some(job.region),
    );
    ground.retain(|g| scope.contains(g.region.code));
    crate::partition::plan::attach_buildings(&mut ground, s.buildings.items());
    let mut settings = Settings::from_policy(&st.policy);
    if let Some(seed) = seed {
        settings.solver.seed = seed;
    }
    settings.atoms.barriers = barriers.to_vec();
    settings.seed_points = seed_points.to_vec();
    let mut atoms_of: HashMap<RegionCode, Vec<crate::domain::Atom>> = HashMap::new();
    for a in s.atoms.items() {
        atoms_of.entry(a.region).or_default().push(a.clone());
    }
    for v in atoms_of.values_mut() {
        v.sort_by_key(|a| a.id);
    }
    let mut locked: HashMap<RegionCode, Vec<GridCode>> = HashMap::new();
    for c in locks {
        if let Some(p) = s
            .plans
            .values()
            .find(|p| p.codes.iter().flatten().any(|x| x == c))
        {
            locked.entry(p.version.region).or_default().push(c.clone());
        }
    }
    let previous = |code: RegionCode| -> Option<Previous<'_>> {
        Some(Previous {
            plan: s.plans.get(&code)?,
            atoms: atoms_of.get(&code).map_or(&[][..], Vec::as_slice),
            locked: locked.get(&code)?,
        })
    };
    let results = plan_all(&ground, &settings, &previous, &|_, _| {
        job.done.fetch_add(1, Ordering::Relaxed);
    });
    let mut out = Vec::new();
    // In the write order (see `ledger`), saves and reload: no write of
    // another request lands between them and is lost by the reload.
    let order = st.ledger.order();
    for (g, r) in ground.iter().zip(results) {
        let p = r.map_err(|e| ApiError::BadRequest(format!("region {}: {e}", g.region.code)))?;
        let parent = s.plans.get(&p.region).map(|x| x.version.id);
        let mut record = p.to_plan(&job.user, message, parent);
        record.version.created_at = timestamp(0);
        let line = super::auth::entry(
            &job.user,
            "plan_generated",
            &format!("regions/{}/plans", p.region),
            "-",
            &format!("job {}: {message}", job.id),
        );
        let shapes = crate::store::PlanGridShape::of(&p);
        let v = st
            .store
            .save_partition(p.region, &p.atoms, &record, &line, &shapes)?;
        out.push(json!({
            "region": p.region.to_string(),
            "id": v.id,
            "number": v.number,
            "url": format!("/api/plans/{}", v.id),
            "levels": p.levels,
        }));
    }
    // The new atoms and plans are what every reader sees from now on.
    let upto = st.store.last_seq()?;
    st.snapshot.swap(Snapshot::from_store(&*st.store)?);
    st.follow.reloaded(upto);
    drop(order);
    st.tiles.warm_grids(&st.snapshot.load());
    Ok(out)
}

/// `GET /api/jobs/{id}`: a plan job's progress and, when done, its plans.
pub async fn job(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    Path(id): Path<usize>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let job = st
        .plans
        .jobs
        .lock()
        .expect("jobs")
        .get(id.wrapping_sub(1))
        .cloned()
        .filter(|j| caller.scope.contains(j.region))
        .ok_or_else(|| ApiError::NotFound(format!("job {id}")))?;
    Ok(Json(job.view()))
}

/// `GET /api/regions/{code}/plans`: plan versions of the leaf regions
/// under `code`.
pub async fn versions(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    Path(code): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let code = region_code(&code)?;
    let s = st.snapshot.load();
    if s.region(code, &caller.scope).is_none() {
        return Err(ApiError::NotFound(format!("region {code}")));
    }
    let leaves = leaf_codes(&s, code, &caller.scope);
    let store = st.store.clone();
    let versions = super::error::blocking(move || -> Result<Vec<_>, ApiError> {
        let mut all = Vec::new();
        for c in leaves {
            all.extend(store.plan_versions(c)?);
        }
        Ok(all)
    })
    .await?;
    Ok(Json(
        json!({ "region": code.to_string(), "versions": versions }),
    ))
}

/// A stored plan evaluated against the current snapshot (once per
/// version: [`Snapshot::evaluated`]).
pub(super) async fn evaluated(
    st: &AppState,
    scope: &Scope,
    id: i64,
) -> Result<Arc<RegionPlan>, ApiError> {
    let s = st.snapshot.load();
    if let Some(p) = s.evaluated_id(id) {
        if scope.contains(p.region) {
            return Ok(p);
        }
        return Err(ApiError::NotFound(format!("plan {id}")));
    }
    let store = st.store.clone();
    let policy = st.policy.clone();
    let scope = scope.clone();
    st.heavy
        .blocking(
            super::heavy::Class::Plans,
            move || -> Result<Arc<RegionPlan>, ApiError> {
                let plan = store
                    .plan(id)?
                    .filter(|p| scope.contains(p.version.region))
                    .ok_or_else(|| ApiError::NotFound(format!("plan {id}")))?;
                s.evaluated(&policy, &plan).map_err(|e| match *e {
                    plan::PlanError::EmptyRegion(code) => {
                        ApiError::NotFound(format!("region {code} of plan {id}"))
                    }
                    ref e => {
                        ApiError::BadRequest(format!("plan {id} no longer matches its atoms: {e}"))
                    }
                })
            },
        )
        .await?
}

fn grid_json(g: &plan::Grid) -> serde_json::Value {
    json!({
        "code": g.code,
        "level": g.level,
        "parent": g.parent,
        "valid": g.valid,
        "metrics": g.metrics,
    })
}

/// `GET /api/plans/{id}`: version, figures per level and per grid.
pub async fn detail(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let p = evaluated(&st, &caller.scope, id).await?;
    let newest = st
        .snapshot
        .load()
        .plans
        .get(&p.region)
        .map(|n| n.version.id);
    Ok((
        // What an edit of this version sends back in If-Match.
        [(header::ETAG, format!("\"plan-{id}\""))],
        Json(json!({
            "version": p.version,
            "newest": newest,
            "region": p.region.to_string(),
            "households": p.households,
            "atoms": p.atoms.len(),
            "levels": p.levels,
            "grids": p.grids.iter().map(grid_json).collect::<Vec<_>>(),
        })),
    )
        .into_response())
}

/// `GET /api/plans/{id}/grids?level=N`: grids as GeoJSON (all levels when
/// no level is given).
pub async fn grids(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    Path(id): Path<i64>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let level = match q.get("level") {
        None => None,
        Some(l) => Some(
            l.parse::<u8>()
                .ok()
                .and_then(Level::new)
                .ok_or_else(|| ApiError::BadRequest(format!("level={l:?}: 1, 2 or 3")))?,
        ),
    };
    let p = evaluated(&st, &caller.scope, id).await?;
    let features: Vec<serde_json::Value> = p
        .grids
        .iter()
        .filter(|g| level.is_none_or(|l| g.level == l))
        .map(|g| {
            let geometry = geojson::Geometry::from(&g.geometry);
            let mut props = grid_json(g);
            props["plan"] = json!(id);
            json!({
                "type": "Feature",
                "id": g.code,
                "geometry": geometry,
                "properties": props,
            })
        })
        .collect();
    let body = json!({ "type": "FeatureCollection", "features": features });
    Ok((
        [(header::CONTENT_TYPE, "application/geo+json")],
        body.to_string(),
    )
        .into_response())
}

/// `GET /api/plans/{id}/metrics?format=json|csv`: figures per level and
/// per grid.
pub async fn metrics(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    Path(id): Path<i64>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let p = evaluated(&st, &caller.scope, id).await?;
    match q.get("format").map(String::as_str) {
        None | Some("json") => Ok(Json(json!({
            "levels": p.levels,
            "grids": p.grids.iter().map(grid_json).collect::<Vec<_>>(),
        }))
        .into_response()),
        Some("csv") => {
            let keys: Vec<String> = p
                .grids
                .first()
                .map(|g| g.metrics.by_care.keys().cloned().collect())
                .unwrap_or_default();
            let mut out = String::from("\u{feff}code,level,parent,households,");
            // Every text cell through the one neutraliser (io::cell).
            let field = crate::io::cell::csv_field;
            for k in &keys {
                out.push_str(&field(k));
                out.push(',');
            }
            out.push_str("deviation,in_range,pieces,polsby_popper,reock,road_share,area_m2,atoms,tower,valid\n");
            for g in &p.grids {
                let m = &g.metrics;
                out.push_str(&format!(
                    "{},{},{},{},",
                    field(g.code.as_str()),
                    g.level.get(),
                    field(g.parent.as_ref().map_or("", |c| c.as_str())),
                    m.households
                ));
                for k in &keys {
                    out.push_str(&format!("{},", m.by_care.get(k).copied().unwrap_or(0)));
                }
                out.push_str(&format!(
                    "{:.4},{},{},{:.4},{:.4},{:.4},{:.1},{},{},{}\n",
                    m.deviation,
                    m.in_range,
                    m.pieces,
                    m.polsby_popper,
                    m.reock,
                    m.road_share,
                    m.area_m2,
                    m.atoms,
                    m.tower,
                    g.valid
                ));
            }
            Ok((
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                    (
                        header::CONTENT_DISPOSITION,
                        "attachment; filename=\"plan-metrics.csv\"",
                    ),
                ],
                out,
            )
                .into_response())
        }
        Some(f) => Err(ApiError::BadRequest(format!("format={f:?}: json or csv"))),
    }
}
