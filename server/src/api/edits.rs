//! Hand edits of a plan over HTTP: a dry run with the figures after the
//! edit, a save that makes a new version (optimistic, `If-Match`), the
//! diff between two versions, publishing. The rules live in
//! [`crate::edit`]; this module maps codes and ids to it and back.

use std::collections::HashSet;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use geo::{Contains, InteriorPoint};
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::{entry, timestamp, Authenticated};
use super::error::ApiError;
use super::heavy::Class;
use super::plans::evaluated;
use super::state::{AppState, CallerOf};
use crate::access::account::AuditEntry;
use crate::access::Scope;
use crate::domain::{GridCode, Plan, PlanVersion};
use crate::edit::{self, Edit, Refusal, Rules};
use crate::partition::plan::RegionPlan;

/// An edit as a client names it: grids by code, atoms by id.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum EditBody {
    /// Atoms (by id, or those inside a drawn polygon: lasso or brush)
    /// join the level-3 grid `to`.
    Reassign {
        #[serde(default)]
        atoms: Vec<u32>,
        #[serde(default)]
        within: Option<geojson::Geometry>,
        to: String,
    },
    Merge {
        keep: String,
        gone: String,
    },
    Move {
        grid: String,
        parent: String,
    },
    /// Everything under grid `parent` (level 1 or 2) but its locked
    /// children solved again by the partitioner.
    Resolve {
        parent: String,
    },
    /// Level-3 grid `grid` cut in two along a drawn line (a GeoJSON
    /// LineString, WGS-84); the part right of the line becomes a new grid.
    Split {
        grid: String,
        line: geojson::Geometry,
    },
    /// The labels and codes of another version of the same region, as they
    /// were (undo and redo).
    Restore {
        version: i64,
    },
}

/// A plan after an edit, with the atoms a split added and, for a split,
/// the cut atoms' figures and the grids it made.
struct Outcome {
    plan: Plan,
    added: Vec<crate::domain::Atom>,
    cut: Option<Cut>,
}

/// The ledger of a split's atoms and the two grids (level index, id) it made.
type Cut = (Arc<crate::partition::plan::Ledger>, Vec<(usize, u32)>);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditRequest {
    pub edit: EditBody,
    /// Grids (any level) the edit must leave as they are.
    #[serde(default)]
    pub locks: Vec<String>,
    #[serde(default)]
    pub message: Option<String>,
}

impl EditRequest {
    /// Every text field within its cap ([`super::text`]).
    fn check_text(&self) -> Result<(), ApiError> {
        use super::text::{capped, capped_list, capped_opt, CODE, MESSAGE};
        capped_opt("message", self.message.as_deref(), MESSAGE)?;
        capped_list("locks", &self.locks, CODE)?;
        match &self.edit {
            EditBody::Reassign { to, .. } => capped("edit.to", to, CODE),
            EditBody::Merge { keep, gone } => {
                capped("edit.keep", keep, CODE)?;
                capped("edit.gone", gone, CODE)
            }
            EditBody::Move { grid, parent } => {
                capped("edit.grid", grid, CODE)?;
                capped("edit.parent", parent, CODE)
            }
            EditBody::Resolve { parent } => capped("edit.parent", parent, CODE),
            EditBody::Split { grid, .. } => capped("edit.grid", grid, CODE),
            EditBody::Restore { .. } => Ok(()),
        }
    }
}

/// The stored plan `id` with its evaluation.
async fn load(
    st: &AppState,
    scope: &Scope,
    id: i64,
) -> Result<(Arc<RegionPlan>, Arc<Plan>), ApiError> {
    let rp = evaluated(st, scope, id).await?;
    let s = st.snapshot.load();
    if let Some(p) = s.plans.get(&rp.region).filter(|p| p.version.id == id) {
        return Ok((rp, p.clone()));
    }
    let store = st.store.clone();
    let plan = tokio::task::spawn_blocking(move || store.plan(id))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))??
        .ok_or_else(|| ApiError::NotFound(format!("plan {id}")))?;
    Ok((rp, Arc::new(plan)))
}

fn grid_id(plan: &Plan, level: usize, code: &str) -> Result<u32, ApiError> {
    plan.codes[level - 1]
        .iter()
        .position(|c| c.0 == code)
        .map(|i| i as u32)
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "plan {} has no level-{level} grid {code}",
                plan.version.id
            ))
        })
}

fn grid_level(plan: &Plan, code: &str) -> Result<(u8, u32), ApiError> {
    (1..=3)
        .find_map(|l| grid_id(plan, l, code).ok().map(|g| (l as u8, g)))
        .ok_or_else(|| ApiError::BadRequest(format!("plan {} has no grid {code}", plan.version.id)))
}

/// The plan after the edit, or the refusal as a 422 problem naming the
/// rule and drawing the offending atoms.
async fn edited(
    st: &AppState,
    scope: &Scope,
    rp: &Arc<RegionPlan>,
    plan: &Plan,
    req: &EditRequest,
) -> Result<Outcome, ApiError> {
    let mut locked = HashSet::new();
    for c in &req.locks {
        grid_level(plan, c)?;
        locked.insert(GridCode(c.clone()));
    }
    let rules = Rules {
        adjacency: rp.adjacency.clone(),
        locked,
    };
    let e = match &req.edit {
        EditBody::Reassign { atoms, within, to } => {
            let to = grid_id(plan, 3, to)?;
            let mut picked: Vec<usize> = Vec::new();
            for &a in atoms {
                let i = plan.atoms.iter().position(|&x| x == a).ok_or_else(|| {
                    ApiError::BadRequest(format!("plan {} has no atom {a}", plan.version.id))
                })?;
                picked.push(i);
            }
            if let Some(g) = within {
                let shape = lasso(g)?;
                for (i, a) in rp.atoms.iter().enumerate() {
                    if a.geometry
                        .interior_point()
                        .is_some_and(|p| shape.contains(&p))
                    {
                        picked.push(i);
                    }
                }
            }
            picked.sort_unstable();
            picked.dedup();
            if picked.is_empty() {
                return Err(ApiError::BadRequest(
                    "the edit picks no atom: give atom ids or a polygon around some".into(),
                ));
            }
            Edit::Reassign { atoms: picked, to }
        }
        EditBody::Merge { keep, gone } => {
            let (level, k) = grid_level(plan, keep)?;
            let g = grid_id(plan, usize::from(level), gone)?;
            Edit::Merge {
                level,
                keep: k,
                gone: g,
            }
        }
        EditBody::Move { grid, parent } => {
            let (level, g) = grid_level(plan, grid)?;
            if level == 1 {
                return Err(ApiError::BadRequest(format!(
                    "{grid} is a level-1 grid: it has no parent grid to move to"
                )));
            }
            let p = grid_id(plan, usize::from(level) - 1, parent)?;
            Edit::MoveGrid {
                level,
                grid: g,
                parent: p,
            }
        }
        EditBody::Restore { version } => {
            let (_, other) = load(st, scope, *version).await?;
            if other.version.region != plan.version.region {
                return Err(ApiError::BadRequest(format!(
                    "plan {version} is of region {}, not {}",
                    other.version.region, plan.version.region
                )));
            }
            let mut next = (*other).clone();
            next.version = plan.version.clone();
            return Ok(Outcome {
                plan: next,
                added: Vec::new(),
                cut: None,
            });
        }
        EditBody::Resolve { parent } => {
            let (level, g) = grid_level(plan, parent)?;
            if level == 3 {
                return Err(ApiError::BadRequest(format!(
                    "{parent} is a level-3 grid: there is nothing below it to solve"
                )));
            }
            let (rp, plan, locked) = (rp.clone(), plan.clone(), rules.locked.clone());
            let settings = crate::partition::plan::Settings::from_policy(&st.policy);
            let next = st
                .heavy
                .blocking(Class::Plans, move || {
                    crate::partition::plan::resolve(
                        &rp,
                        &plan,
                        &settings,
                        usize::from(level) - 1,
                        g,
                        &locked,
                    )
                })
                .await?
                .map_err(|e| ApiError::BadRequest(format!("re-solving under {parent}: {e}")))?;
            return Ok(Outcome {
                plan: next,
                added: Vec::new(),
                cut: None,
            });
        }
        EditBody::Split { grid, line } => {
            let g = grid_id(plan, 3, grid)?;
            if rules.locked.contains(&GridCode(grid.clone())) {
                return Err(ApiError::Refused {
                    detail: format!("grid {grid} is locked"),
                    extra: json!({ "rule": "locked", "grid": grid, "atoms": [], "geometry": null }),
                });
            }
            let line: geo_types::Geometry<f64> = line
                .clone()
                .try_into()
                .map_err(|e| ApiError::BadRequest(format!("line: {e}")))?;
            let geo_types::Geometry::LineString(line) = line else {
                return Err(ApiError::BadRequest("line: a LineString".into()));
            };
            if line.0.len() < 2
                || line
                    .0
                    .iter()
                    .any(|c| !(c.x.abs() <= 180.0 && c.y.abs() <= 90.0))
            {
                return Err(ApiError::BadRequest(
                    "line: two or more [lon, lat] points in degrees".into(),
                ));
            }
            let s = st.snapshot.load();
            let settings = crate::partition::plan::Settings::from_policy(&st.policy);
            let plan = plan.clone();
            let sp = st
                .heavy
                .blocking(Class::Plans, move || {
                    let atoms =
                        s.plan_atoms(&plan)
                            .ok_or(crate::partition::plan::SplitError::Plan(
                                crate::partition::plan::PlanError::Mismatch,
                            ))?;
                    let ground = s.ground(plan.version.region).ok_or(
                        crate::partition::plan::SplitError::Plan(
                            crate::partition::plan::PlanError::EmptyRegion(plan.version.region),
                        ),
                    )?;
                    crate::partition::plan::split(&ground, &settings, &plan, &atoms, g, &line)
                })
                .await?
                .map_err(|e| ApiError::Refused {
                    detail: e.to_string(),
                    extra: json!({ "rule": "split", "grid": grid, "atoms": [], "geometry": null }),
                })?;
            return Ok(Outcome {
                plan: sp.plan,
                added: sp.added,
                cut: Some((sp.ledger, sp.touched)),
            });
        }
    };
    edit::apply(plan, &rules, &e)
        .map(|plan| Outcome {
            plan,
            added: Vec::new(),
            cut: None,
        })
        .map_err(|r| refused(rp, plan, &r))
}

/// A drawn polygon (WGS-84 GeoJSON Polygon or MultiPolygon).
fn lasso(g: &geojson::Geometry) -> Result<geo_types::MultiPolygon<f64>, ApiError> {
    crate::io::validate::check_geojson_rings(g)
        .map_err(|e| ApiError::BadRequest(format!("within: {e}")))?;
    let shape: geo_types::Geometry<f64> = g
        .clone()
        .try_into()
        .map_err(|e| ApiError::BadRequest(format!("within: {e}")))?;
    match shape {
        geo_types::Geometry::Polygon(p) => Ok(geo_types::MultiPolygon(vec![p])),
        geo_types::Geometry::MultiPolygon(m) => Ok(m),
        _ => Err(ApiError::BadRequest(
            "within: a Polygon or MultiPolygon".into(),
        )),
    }
}

fn refused(rp: &RegionPlan, plan: &Plan, r: &Refusal) -> ApiError {
    let (rule, grid, atoms): (&str, Option<&GridCode>, &[usize]) = match r {
        Refusal::Locked { code, atoms } => ("locked", Some(code), atoms),
        Refusal::Disconnects { code, atoms, .. } => ("one_piece", Some(code), atoms),
        Refusal::Empties { code } => ("not_empty", Some(code), &[]),
        Refusal::CrossParent { a, .. } => ("same_parent", Some(a), &[]),
        Refusal::UnknownGrid { .. } | Refusal::UnknownAtom(_) | Refusal::Invalid(_) => {
            ("invalid", None, &[])
        }
    };
    let shape = geo_types::MultiPolygon(
        atoms
            .iter()
            .filter_map(|&i| rp.atoms.get(i))
            .flat_map(|a| a.geometry.0.iter().cloned())
            .collect(),
    );
    ApiError::Refused {
        detail: r.to_string(),
        extra: json!({
            "rule": rule,
            "grid": grid,
            "atoms": atoms.iter().filter_map(|&i| plan.atoms.get(i)).collect::<Vec<_>>(),
            "geometry": (!shape.0.is_empty()).then(|| geojson::Geometry::from(&shape)),
        }),
    }
}

/// Staff (people by role) assigned to grids by code, before and after an
/// edit: a grid's staff stay with it, and the staff of a grid the edit
/// retires go to the grid that took most of its atoms.
struct Staffing {
    by_code: std::collections::HashMap<String, std::collections::BTreeMap<&'static str, u32>>,
    /// Retired code → the code that took most of its atoms.
    heir: std::collections::HashMap<String, String>,
}

impl Staffing {
    fn of(people: &[crate::domain::Person], before: &Plan, after: &Plan) -> Self {
        let mut by_code: std::collections::HashMap<
            String,
            std::collections::BTreeMap<&'static str, u32>,
        > = std::collections::HashMap::new();
        for p in people {
            for c in &p.grids {
                let e = by_code.entry(c.0.clone()).or_default();
                for r in &p.roles {
                    *e.entry(r.as_str()).or_default() += 1;
                }
            }
        }
        let mut heir = std::collections::HashMap::new();
        if before.atoms == after.atoms {
            for l in 0..3 {
                for (g, c) in before.codes[l].iter().enumerate() {
                    if after.codes[l].contains(c) {
                        continue;
                    }
                    let mut votes: std::collections::HashMap<&GridCode, usize> =
                        std::collections::HashMap::new();
                    for (i, x) in before.labels.iter().enumerate() {
                        if x.0[l] as usize == g {
                            if let Some(to) = after.codes[l].get(after.labels[i].0[l] as usize) {
                                *votes.entry(to).or_default() += 1;
                            }
                        }
                    }
                    if let Some((to, _)) = votes.into_iter().max_by_key(|v| v.1) {
                        heir.insert(c.0.clone(), to.0.clone());
                    }
                }
            }
        }
        Self { by_code, heir }
    }

    fn of_grid(
        &self,
        code: &GridCode,
    ) -> (
        std::collections::BTreeMap<&'static str, u32>,
        std::collections::BTreeMap<&'static str, u32>,
    ) {
        let before = self.by_code.get(&code.0).cloned().unwrap_or_default();
        let mut after = before.clone();
        for (gone, to) in &self.heir {
            if to == &code.0 {
                for (r, n) in self.by_code.get(gone).into_iter().flatten() {
                    *after.entry(r).or_default() += n;
                }
            }
        }
        (before, after)
    }
}

/// Figures before and after for every grid the edit touched, with the
/// grids' new shapes, and warnings for balance out of range.
fn figures(
    people: &[crate::domain::Person],
    rp: &RegionPlan,
    before: &Plan,
    after: &Plan,
    cut: Option<&Cut>,
    regraded: Option<&RegionPlan>,
) -> Value {
    if let Some((ledger, which)) = cut {
        return rows(people, rp, before, after, ledger.measure(after, which));
    }
    let grids: Vec<crate::partition::plan::Grid> = match regraded {
        // Other atoms (a split, or a restore across one): the grids whose
        // figures or shape changed, from the plan evaluated afresh.
        Some(new) => new
            .grids
            .iter()
            .filter(|g| {
                rp.grids
                    .iter()
                    .find(|x| x.level == g.level && x.code == g.code)
                    .is_none_or(|x| {
                        x.metrics.households != g.metrics.households
                            || (x.metrics.area_m2 - g.metrics.area_m2).abs()
                                > 1e-6 * x.metrics.area_m2.max(1.0)
                    })
            })
            .cloned()
            .collect(),
        None => rp.ledger.measure(after, &edit::touched(before, after)),
    };
    rows(people, rp, before, after, grids)
}

/// The answer about `grids`, the grids an edit touched, measured after it.
fn rows(
    people: &[crate::domain::Person],
    rp: &RegionPlan,
    before: &Plan,
    after: &Plan,
    grids: Vec<crate::partition::plan::Grid>,
) -> Value {
    let mut warnings = Vec::new();
    let staffing = Staffing::of(people, before, after);
    let rows: Vec<Value> = grids
        .iter()
        .map(|g| {
            let was = rp
                .grids
                .iter()
                .find(|x| x.level == g.level && x.code == g.code)
                .map(|x| &x.metrics);
            let (staff_before, staff_after) = staffing.of_grid(&g.code);
            if !g.metrics.in_range {
                warnings.push(format!(
                    "level-{} grid {}: {} households, outside the policy range",
                    g.level.get(),
                    g.code,
                    g.metrics.households
                ));
            }
            json!({
                "code": g.code,
                "level": g.level,
                "parent": g.parent,
                "before": was,
                "after": g.metrics,
                "staff_before": staff_before,
                "staff_after": staff_after,
                "geometry": geojson::Geometry::from(&g.geometry),
            })
        })
        .collect();
    let retired: Vec<&GridCode> = (0..3)
        .flat_map(|l| {
            before.codes[l]
                .iter()
                .filter(move |c| !after.codes[l].contains(c))
        })
        .collect();
    let households = rp.ledger.households();
    let code3 = |p: &Plan, i: usize| p.codes[2].get(p.labels[i].0[2] as usize).cloned();
    let (atoms_moved, households_moved) = if before.atoms == after.atoms {
        let moved: Vec<usize> = (0..before.labels.len())
            .filter(|&i| code3(before, i) != code3(after, i))
            .collect();
        let n: u64 = moved
            .iter()
            .map(|&i| u64::from(households.get(i).copied().unwrap_or(0)))
            .sum();
        (moved.len(), n)
    } else {
        // Across a cut, households that changed grid are those the new
        // grids hold.
        let new: Vec<&crate::partition::plan::Grid> = grids
            .iter()
            .filter(|g| g.level.get() == 3 && !before.codes[2].contains(&g.code))
            .collect();
        (
            new.iter().map(|g| g.metrics.atoms as usize).sum(),
            new.iter().map(|g| u64::from(g.metrics.households)).sum(),
        )
    };
    json!({
        "grids": rows,
        "retired": retired,
        "atoms_moved": atoms_moved,
        "households_moved": households_moved,
        "warnings": warnings,
    })
}

/// The plan after an edit evaluated afresh when its atoms are not the
/// base's (a split): the ledger only knows the base's atoms.
async fn regrade(
    st: &AppState,
    base: &Plan,
    out: &Outcome,
) -> Result<Option<RegionPlan>, ApiError> {
    if out.plan.atoms == base.atoms || out.cut.is_some() {
        return Ok(None);
    }
    let s = st.snapshot.load();
    let policy = st.policy.clone();
    let plan = out.plan.clone();
    let added = out.added.clone();
    st.heavy
        .blocking(Class::Plans, move || {
            let mut by_id: std::collections::HashMap<crate::domain::AtomId, crate::domain::Atom> =
                added.into_iter().map(|a| (a.id, a)).collect();
            let mut shown = plan.clone();
            shown.atoms.retain(|id| !by_id.contains_key(id));
            let known = s.plan_atoms(&shown).unwrap_or_default();
            for a in known {
                by_id.insert(a.id, a);
            }
            let atoms: Option<Vec<_>> =
                plan.atoms.iter().map(|id| by_id.get(id).cloned()).collect();
            let atoms = atoms.ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "some atoms of the plan are gone: a plan generated afresh cut region {} again",
                    plan.version.region
                ))
            })?;
            let ground = s
                .ground(plan.version.region)
                .ok_or_else(|| ApiError::NotFound(format!("region {}", plan.version.region)))?;
            crate::partition::plan::evaluate(
                &ground,
                &crate::partition::plan::Settings::from_policy(&policy),
                &plan,
                &atoms,
            )
            .map(Some)
            .map_err(|e| ApiError::BadRequest(format!("the edited plan: {e}")))
        })
        .await?
}

/// `POST /api/plans/{id}/preview`: the figures after an edit, nothing saved.
pub async fn preview(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    Path(id): Path<i64>,
    Json(req): Json<EditRequest>,
) -> Result<Json<Value>, ApiError> {
    req.check_text()?;
    let (rp, plan) = load(&st, &caller.scope, id).await?;
    let next = edited(&st, &caller.scope, &rp, &plan, &req).await?;
    let regraded = regrade(&st, &plan, &next).await?;
    let people = st.snapshot.load().people.clone();
    let mut v = figures(
        people.items(),
        &rp,
        &plan,
        &next.plan,
        next.cut.as_ref(),
        regraded.as_ref(),
    );
    v["base"] = json!(id);
    Ok(Json(v))
}

fn etag(id: i64) -> String {
    format!("\"plan-{id}\"")
}

/// The version `If-Match` names, which must be `id`, the region's newest.
fn precondition(headers: &HeaderMap, id: i64) -> Result<(), ApiError> {
    let Some(h) = headers.get(header::IF_MATCH) else {
        return Err(ApiError::PreconditionRequired(format!(
            "saving needs If-Match: {} (the ETag of the version edited)",
            etag(id)
        )));
    };
    let named = h.to_str().unwrap_or_default();
    if named.split(',').any(|t| t.trim() == etag(id)) {
        Ok(())
    } else {
        Err(ApiError::Stale {
            detail: format!("If-Match {named} does not name plan {id}"),
            extra: json!({ "base": id }),
        })
    }
}

/// A 412 saying what changed between `base` and the newest version.
async fn stale(st: &AppState, scope: &Scope, base: &Plan, newest: i64, tried: Value) -> ApiError {
    let since = match load(st, scope, newest).await {
        Ok((_, n)) => edit::diff(base, &n).map(|d| {
            json!({
                "levels": d.levels,
                "atoms_moved": d.moved.len(),
                "author": n.version.author,
                "created_at": n.version.created_at,
                "message": n.version.message,
            })
        }),
        Err(_) => None,
    };
    ApiError::Stale {
        detail: format!(
            "plan {} is not the newest any more: plan {newest} was saved since; \
             nothing of yours was saved, apply your edit to plan {newest}",
            base.version.id
        ),
        extra: json!({
            "base": base.version.id,
            "newest": newest,
            "etag": etag(newest),
            "since": since,
            "yours": tried,
        }),
    }
}

/// Saves `next` as the version after `base`, makes it what every reader
/// sees, and answers 201 with its ETag.
async fn save(
    st: &AppState,
    scope: &Scope,
    base: &Plan,
    next: Plan,
    added: Vec<crate::domain::Atom>,
    tried: Value,
    mut body: Value,
    audit: AuditEntry,
) -> Result<Response, ApiError> {
    let store = st.store.clone();
    let base_id = base.version.id;
    let kept = added.clone();
    let saved = tokio::task::spawn_blocking(move || {
        store
            .save_plan_on(&next, &kept, base_id, &audit)
            .map(|v| Plan { version: v, ..next })
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    let saved = match saved {
        Ok(p) => p,
        Err(crate::store::StoreError::Stale { newest, .. }) => {
            return Err(stale(st, scope, base, newest, tried).await)
        }
        Err(e) => return Err(e.into()),
    };
    let v = saved.version.clone();
    let snapshot = st.snapshot.put_plan(&saved, &added);
    // Tiles compare snapshots: only the region's grids are cut again.
    let tiles = st.tiles.clone();
    tokio::task::spawn_blocking(move || tiles.warm_grids(&snapshot));
    tracing::info!(plan = v.id, region = %v.region, base = base_id, user = v.author, "plan saved");
    body["version"] = json!(v);
    body["url"] = json!(format!("/api/plans/{}", v.id));
    Ok((
        StatusCode::CREATED,
        [
            (header::ETAG, etag(v.id)),
            (header::LOCATION, format!("/api/plans/{}", v.id)),
        ],
        Json(body),
    )
        .into_response())
}

/// The region's newest version must be `id`, or 412 before any work.
async fn newest_is(
    st: &AppState,
    scope: &Scope,
    plan: &Plan,
    tried: &Value,
) -> Result<(), ApiError> {
    let s = st.snapshot.load();
    match s.plans.get(&plan.version.region) {
        Some(n) if n.version.id != plan.version.id => {
            Err(stale(st, scope, plan, n.version.id, tried.clone()).await)
        }
        _ => Ok(()),
    }
}

/// `POST /api/plans/{id}/edits` with `If-Match: "plan-{id}"`: applies the
/// edit and saves it as a new version (201, its ETag and figures).
pub async fn commit(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    axum::Extension(auth): axum::Extension<Authenticated>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Json(req): Json<EditRequest>,
) -> Result<Response, ApiError> {
    req.check_text()?;
    let (rp, plan) = load(&st, &caller.scope, id).await?;
    precondition(&headers, id)?;
    let tried = serde_json::to_value(&req.edit).unwrap_or_default();
    newest_is(&st, &caller.scope, &plan, &tried).await?;
    let out = edited(&st, &caller.scope, &rp, &plan, &req).await?;
    let regraded = regrade(&st, &plan, &out).await?;
    let people = st.snapshot.load().people.clone();
    let body = figures(
        people.items(),
        &rp,
        &plan,
        &out.plan,
        out.cut.as_ref(),
        regraded.as_ref(),
    );
    let (mut next, added) = (out.plan, out.added);
    let message = req.message.clone().unwrap_or_else(|| describe(&req.edit));
    next.version = PlanVersion::unsaved(plan.version.region, &caller.name, &message, Some(id));
    next.version.created_at = timestamp(0);
    let line = entry(
        &caller.name,
        "plan_edit",
        &format!("plans/{id}"),
        &auth.address,
        &format!("{message}; {tried}"),
    );
    save(&st, &caller.scope, &plan, next, added, tried, body, line).await
}

fn describe(e: &EditBody) -> String {
    match e {
        EditBody::Reassign { atoms, within, to } => {
            let n = if within.is_some() {
                "a drawn area".to_string()
            } else {
                format!("{} atoms", atoms.len())
            };
            format!("{n} to {to}")
        }
        EditBody::Merge { keep, gone } => format!("{gone} merged into {keep}"),
        EditBody::Move { grid, parent } => format!("{grid} moved under {parent}"),
        EditBody::Split { grid, .. } => format!("{grid} split along a line"),
        EditBody::Resolve { parent } => format!("the unlocked grids under {parent} solved again"),
        EditBody::Restore { version } => format!("restored plan {version}"),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishRequest {
    #[serde(default)]
    pub message: Option<String>,
}

/// `POST /api/plans/{id}/publish` with `If-Match`: the version again,
/// published, its new grids numbered after every code ever published.
pub async fn publish(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    axum::Extension(auth): axum::Extension<Authenticated>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    body: Option<Json<PublishRequest>>,
) -> Result<Response, ApiError> {
    if let Some(b) = &body {
        super::text::capped_opt("message", b.0.message.as_deref(), super::text::MESSAGE)?;
    }
    let (rp, plan) = load(&st, &caller.scope, id).await?;
    precondition(&headers, id)?;
    let tried = json!({ "op": "publish" });
    newest_is(&st, &caller.scope, &plan, &tried).await?;
    let region = plan.version.region;
    let store = st.store.clone();
    let history = tokio::task::spawn_blocking(move || -> Result<Vec<Plan>, ApiError> {
        let mut out = Vec::new();
        for v in store.plan_versions(region)? {
            if v.published {
                out.extend(store.plan(v.id)?);
            }
        }
        Ok(out)
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))??;
    let mut next = edit::publish(&plan, &history, st.policy.code_widths);
    let message = body
        .and_then(|b| b.0.message)
        .unwrap_or_else(|| format!("published plan {id}"));
    next.version = PlanVersion {
        published: true,
        created_at: timestamp(0),
        ..PlanVersion::unsaved(region, &caller.name, &message, Some(id))
    };
    let renamed: Vec<Value> = (0..3)
        .flat_map(|l| {
            plan.codes[l]
                .iter()
                .zip(&next.codes[l])
                .filter(|(a, b)| a != b)
                .map(|(a, b)| json!({ "from": a, "to": b }))
                .collect::<Vec<_>>()
        })
        .collect();
    let body = json!({ "renamed": renamed, "grids": rp.grids.len() });
    let line = entry(
        &caller.name,
        "plan_publish",
        &format!("plans/{id}"),
        &auth.address,
        &message,
    );
    save(
        &st,
        &caller.scope,
        &plan,
        next,
        Vec::new(),
        tried,
        body,
        line,
    )
    .await
}

/// `POST /api/regions/{code}/plans/from-grids`: the grids drawn elsewhere
/// (imported for this region) snapped onto the atoms of its newest plan
/// and saved as the next version (201), with every household and the
/// land that changed grid on the way.
pub async fn from_grids(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    axum::Extension(auth): axum::Extension<Authenticated>,
    Path(code): Path<String>,
    body: Option<Json<PublishRequest>>,
) -> Result<Response, ApiError> {
    if let Some(b) = &body {
        super::text::capped_opt("message", b.0.message.as_deref(), super::text::MESSAGE)?;
    }
    let region: crate::domain::RegionCode = code
        .parse()
        .map_err(|e| ApiError::BadRequest(format!("region code {code:?}: {e}")))?;
    let s = st.snapshot.load();
    if s.region(region, &caller.scope).is_none() {
        return Err(ApiError::NotFound(format!("region {region}")));
    }
    let newest = s.plans.get(&region).cloned().ok_or_else(|| {
        ApiError::BadRequest(format!(
            "region {region} has no plan: generate one first, drawn grids are snapped onto its atoms"
        ))
    })?;
    let rp = evaluated(&st, &caller.scope, newest.version.id).await?;
    let widths = st.policy.code_widths;
    let s2 = s.clone();
    let rp2 = rp.clone();
    let snapped = st
        .heavy
        .blocking(Class::Plans, move || {
            let drawn: Vec<&crate::domain::ImportedGrid> = s2
                .grids
                .items()
                .iter()
                .filter(|g| g.region == region)
                .collect();
            let ground = s2
                .ground(region)
                .ok_or(crate::partition::plan::PlanError::EmptyRegion(region))?;
            crate::partition::plan::snap(&rp2, &ground, &drawn, widths)
        })
        .await?
        .map_err(|e| ApiError::BadRequest(format!("snapping the grids of region {region}: {e}")))?;
    let mut next = snapped.plan;
    let message = body
        .and_then(|b| b.0.message)
        .unwrap_or_else(|| "grids drawn elsewhere, snapped onto atoms".into());
    next.version = PlanVersion::unsaved(region, &caller.name, &message, Some(newest.version.id));
    next.version.created_at = timestamp(0);
    let changed: Vec<Value> = snapped
        .moved
        .iter()
        .map(|(h, from, to)| json!({ "household": h, "drawn": from, "snapped": to }))
        .collect();
    let report = json!({
        "households_changed": changed.len(),
        "households": changed,
        "area_changed_m2": snapped.area_changed_m2,
        "warnings": snapped.warnings,
        "grids": next.codes.iter().map(Vec::len).collect::<Vec<_>>(),
    });
    let line = entry(
        &caller.name,
        "plan_from_grids",
        &format!("regions/{region}/plans"),
        &auth.address,
        &message,
    );
    save(
        &st,
        &caller.scope,
        &newest,
        next,
        Vec::new(),
        json!({ "op": "from_grids" }),
        report,
        line,
    )
    .await
}

/// `GET /api/plans/{id}/atoms`: the plan's atoms as GeoJSON with their
/// grid at each level, households (a count) and the atoms they share a
/// boundary with: what edit tools pick and grow selections from.
pub async fn atoms(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let (rp, plan) = load(&st, &caller.scope, id).await?;
    let mut next: Vec<Vec<u32>> = vec![Vec::new(); rp.atoms.len()];
    for &(a, b) in &rp.adjacency {
        if let (Some(&ia), Some(&ib)) = (plan.atoms.get(a), plan.atoms.get(b)) {
            next[a].push(ib);
            next[b].push(ia);
        }
    }
    let households = rp.ledger.households();
    let features: Vec<Value> = rp
        .atoms
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let code = |l: usize| {
                plan.labels
                    .get(i)
                    .and_then(|x| plan.codes[l].get(x.0[l] as usize))
            };
            json!({
                "type": "Feature",
                "id": plan.atoms.get(i),
                "geometry": geojson::Geometry::from(&a.geometry),
                "properties": {
                    "atom": plan.atoms.get(i),
                    "kind": a.kind.as_str(),
                    "level1": code(0), "level2": code(1), "level3": code(2),
                    "households": households.get(i),
                    "neighbours": next[i],
                },
            })
        })
        .collect();
    Ok((
        [(header::CONTENT_TYPE, "application/geo+json")],
        json!({ "type": "FeatureCollection", "features": features }).to_string(),
    )
        .into_response())
}

/// `GET /api/plans/{id}/diff/{other}`: how `other` differs from `id`:
/// grids added, retired and changed per level, atoms and households that
/// changed grid; `?format=geojson` gives the moved atoms as features.
pub async fn diff(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    Path((id, other)): Path<(i64, i64)>,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let (rp, a) = load(&st, &caller.scope, id).await?;
    let (_, b) = load(&st, &caller.scope, other).await?;
    let d = edit::diff(&a, &b).ok_or_else(|| {
        ApiError::BadRequest(format!(
            "plans {id} and {other} are not over the same atoms: a plan generated afresh \
             cut its region again"
        ))
    })?;
    let collection = d.features(&rp, &a.atoms);
    match q.get("format").map(String::as_str) {
        None | Some("json") => Ok(Json(json!({
            "from": id,
            "to": other,
            "levels": d.levels,
            "atoms_moved": d.moved.len(),
            "households_moved": d.households_moved(rp.ledger.households()),
            "moved": collection,
        }))
        .into_response()),
        Some("geojson") => Ok((
            [(header::CONTENT_TYPE, "application/geo+json")],
            collection.to_string(),
        )
            .into_response()),
        Some(f) => Err(ApiError::BadRequest(format!("format={f}: json or geojson"))),
    }
}
