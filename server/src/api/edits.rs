//! Hand edits of a plan over HTTP: a dry run with the figures after the
//! edit, a save that makes a new version (optimistic, `If-Match`), the
//! diff between two versions, publishing. Every edit is named, checked,
//! made and measured by [`crate::edit`]; this module parses the request,
//! loads what the edit needs, calls it, saves, and maps its errors.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::{entry, timestamp, Authenticated};
use super::error::{blocking, ApiError};
use super::heavy::Class;
use super::plans::evaluated;
use super::state::{AppState, CallerOf};
use crate::access::account::AuditEntry;
use crate::access::Scope;
use crate::domain::{Plan, PlanVersion};
use crate::edit::named::{self, EditBody};
use crate::edit::{self, EditError, Edited};
use crate::partition::plan::RegionPlan;

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
    let plan = blocking(move || store.plan(id))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("plan {id}")))?;
    Ok((rp, Arc::new(plan)))
}

/// The plan after the edit with its figures, or why not: the request
/// resolved against the plan (a restore loads the version it names), then
/// run by [`edit::perform`], on the heavy pool when it is slow.
async fn edited(
    st: &AppState,
    scope: &Scope,
    rp: &Arc<RegionPlan>,
    plan: &Arc<Plan>,
    req: &EditRequest,
) -> Result<Edited, ApiError> {
    let rules = named::rules(plan, rp, &req.locks)?;
    let restored = match req.edit.restores() {
        Some(v) => Some((*load(st, scope, v).await?.1).clone()),
        None => None,
    };
    let e = req.edit.resolve(plan, rp, &rules, restored)?;
    let cx = edit::Owned {
        evaluated: rp.clone(),
        snapshot: st.snapshot.load(),
        settings: crate::partition::plan::Settings::from_policy(&st.policy),
    };
    if !e.heavy(plan) {
        return Ok(edit::perform(&cx.context(), plan, &rules, &e)?);
    }
    let plan = plan.clone();
    Ok(st
        .heavy
        .blocking(Class::Plans, move || {
            edit::perform(&cx.context(), &plan, &rules, &e)
        })
        .await??)
}

impl From<EditError> for ApiError {
    fn from(e: EditError) -> Self {
        match e {
            EditError::Invalid(m) => Self::BadRequest(m),
            EditError::Missing(m) => Self::NotFound(m),
            EditError::Refused(b) => Self::Refused {
                extra: json!({
                    "rule": b.rule,
                    "grid": b.grid,
                    "atoms": b.atoms,
                    "geometry": b.geometry.as_ref().map(geojson::Geometry::from),
                }),
                detail: b.detail,
            },
        }
    }
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
    let mut v = edited(&st, &caller.scope, &rp, &plan, &req).await?.figures;
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
    let base_id = base.version.id;
    // The plan's grids with their shapes, evaluated before the save and
    // written in its transaction: the `plan_grids_current` layer never
    // lacks an acknowledged version. An evaluation that fails does not
    // lose the save: it is saved without shapes (the start fills them).
    let (s, policy, unsaved, kept) = (
        st.snapshot.load(),
        st.policy.clone(),
        next.clone(),
        added.clone(),
    );
    let evaluated = tokio::task::spawn_blocking(move || {
        s.evaluate_unsaved(&policy, &unsaved, &kept)
            .map_err(|e| e.to_string())
    })
    .await?;
    let shapes = match &evaluated {
        Ok(p) => crate::store::PlanGridShape::of(p),
        Err(e) => {
            tracing::warn!(base = base_id, error = %e, "plan not evaluated: saved without grid shapes");
            Vec::new()
        }
    };
    // In the write order (see `ledger`): the snapshot holds the version
    // before the change stream hears of it.
    let (st2, kept) = (st.clone(), added);
    let saved = tokio::task::spawn_blocking(move || {
        let _order = st2.ledger.order();
        let saved = st2
            .store
            .save_plan_on(&next, &kept, base_id, &audit, &shapes)
            .map(|v| Plan { version: v, ..next })?;
        let snapshot = st2.snapshot.put_plan(&saved, &kept);
        st2.follow.saved_plans(&[saved.version.id]);
        super::pickup::settle_own(&*st2.store, &st2.follow);
        Ok::<_, crate::store::StoreError>((saved, snapshot))
    })
    .await?;
    let (saved, snapshot) = match saved {
        Ok(p) => p,
        Err(crate::store::StoreError::Stale { newest, .. }) => {
            return Err(stale(st, scope, base, newest, tried).await)
        }
        Err(e) => return Err(e.into()),
    };
    let v = saved.version.clone();
    if let Ok(p) = evaluated {
        snapshot.seed(&st.policy, &saved, p);
    }
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

/// The version a save of an edit to `plan` goes on top of: `plan` itself
/// when `If-Match` names it, or the region's newest when `If-Match` names
/// that one and `plan` is an older version of the same region. The viewer
/// undoes and redoes by showing older versions of its session (a pointer,
/// no new version each time); an edit made there branches from what is
/// shown but is saved after the newest, which the caller must have seen
/// (the stale-base protection stays: any other `If-Match` is a 412).
async fn base_of(
    st: &AppState,
    scope: &Scope,
    headers: &HeaderMap,
    plan: &Arc<Plan>,
    tried: &Value,
) -> Result<Arc<Plan>, ApiError> {
    let id = plan.version.id;
    let newest = st
        .snapshot
        .load()
        .plans
        .get(&plan.version.region)
        .map(|n| n.version.id);
    match newest {
        Some(n) if n != id && named(headers, n) => Ok(load(st, scope, n).await?.1),
        // An older version and an ETag that is not the newest's: what
        // changed since, as for any stale save.
        Some(n) if n != id && headers.contains_key(header::IF_MATCH) => {
            Err(stale(st, scope, plan, n, tried.clone()).await)
        }
        _ => {
            precondition(headers, id)?;
            newest_is(st, scope, plan, tried).await?;
            Ok(plan.clone())
        }
    }
}

/// Whether `If-Match` names version `id`.
fn named(headers: &HeaderMap, id: i64) -> bool {
    headers
        .get(header::IF_MATCH)
        .and_then(|h| h.to_str().ok())
        .is_some_and(|h| h.split(',').any(|t| t.trim() == etag(id)))
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

/// `POST /api/plans/{id}/edits` with `If-Match: "plan-{id}"` (or the ETag
/// of the region's newest version, see [`base_of`]): applies the
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
    let tried = serde_json::to_value(&req.edit).unwrap_or_default();
    let base = base_of(&st, &caller.scope, &headers, &plan, &tried).await?;
    let out = edited(&st, &caller.scope, &rp, &plan, &req).await?;
    let (mut next, added) = (out.plan, out.added);
    let message = req.message.clone().unwrap_or_else(|| req.edit.describe());
    // Derived from the version edited, saved after `base`.
    next.version = PlanVersion::unsaved(plan.version.region, &caller.name, &message, Some(id));
    next.version.created_at = timestamp(0);
    let line = entry(
        &caller.name,
        "plan_edit",
        &format!("plans/{id}"),
        &auth.address,
        &format!("{message}; {tried}"),
    );
    save(
        &st,
        &caller.scope,
        &base,
        next,
        added,
        tried,
        out.figures,
        line,
    )
    .await
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
    let tried = json!({ "op": "publish" });
    let base = base_of(&st, &caller.scope, &headers, &plan, &tried).await?;
    let region = plan.version.region;
    let store = st.store.clone();
    let history = blocking(move || -> Result<Vec<Plan>, ApiError> {
        let mut out = Vec::new();
        for v in store.plan_versions(region)? {
            if v.published {
                out.extend(store.plan(v.id)?);
            }
        }
        Ok(out)
    })
    .await?;
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
        &base,
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
            "staff": d.staff(st.snapshot.load().people.items()),
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
