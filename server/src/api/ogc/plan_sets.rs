//! Which plan versions the plan collections show a caller, evaluated: each
//! region in the caller's scope with its newest (or newest published)
//! version, or the one version `?version=` names. Store reads run off the
//! async workers; evaluations not yet cached (the server warms each
//! region's newest at start and after every save) run in the heavy pool's
//! plans queue, as plan previews do.

use std::sync::Arc;

use geo::BoundingRect;
use geo_types::Rect;

use crate::access::Scope;
use crate::api::error::blocking;
use crate::api::heavy::Class;
use crate::api::{ApiError, AppState};
use crate::domain::RegionCode;
use crate::ogc::PlanSet;
use crate::partition::plan::RegionPlan;
use crate::snapshot::Snapshot;
use crate::store::StoreError;

/// A version that does not exist or lies outside the caller's scope: the
/// two look the same (404, `code: unknown_plan_version`).
pub(super) fn unknown_version(v: i64) -> ApiError {
    ApiError::NotFound(format!("plan version {v}: no such version in your scope"))
}

/// `(region, version id)` of what `set` shows `scope`, by region. Each
/// region's newest version is the snapshot's; its newest published one
/// is too when the newest is published, else the store's (versions are
/// never changed, so that is the last published before the newest).
pub(super) async fn versions(
    st: &AppState,
    s: &Snapshot,
    scope: &Scope,
    set: PlanSet,
) -> Result<Vec<(RegionCode, i64)>, ApiError> {
    let mut out = Vec::new();
    let mut ask = Vec::new();
    for (region, p) in &s.plans {
        if !scope.contains(*region) {
            continue;
        }
        match set {
            PlanSet::Current => out.push((*region, p.version.id)),
            PlanSet::Published if p.version.published => out.push((*region, p.version.id)),
            PlanSet::Published => ask.push((*region, p.version.number)),
        }
    }
    if !ask.is_empty() {
        let store = st.store.clone();
        let found = blocking(move || -> Result<Vec<(RegionCode, i64)>, StoreError> {
            let mut found = Vec::new();
            for (region, newest) in ask {
                let last = store
                    .plan_versions(region)?
                    .into_iter()
                    .filter(|v| v.published && v.number < newest)
                    .max_by_key(|v| v.number);
                found.extend(last.map(|v| (region, v.id)));
            }
            Ok(found)
        })
        .await?;
        out.extend(found);
    }
    out.sort_unstable();
    Ok(out)
}

/// `versions` evaluated over the snapshot `s`, by region. A version that
/// no longer matches its atoms leaves its region out (with a warning), as
/// the map leaves it to the imported grids.
pub(super) async fn evaluated(
    st: &AppState,
    s: Arc<Snapshot>,
    versions: Vec<(RegionCode, i64)>,
) -> Result<Vec<Arc<RegionPlan>>, ApiError> {
    let mut out = Vec::new();
    let mut missing = Vec::new();
    for (region, id) in versions {
        match s.evaluated_id(id) {
            Some(p) => out.push(p),
            None => missing.push((region, id)),
        }
    }
    if !missing.is_empty() {
        let store = st.store.clone();
        let policy = st.policy.clone();
        let more = st
            .heavy
            .blocking(
                Class::Plans,
                move || -> Result<Vec<Arc<RegionPlan>>, ApiError> {
                    let mut more = Vec::new();
                    for (region, id) in missing {
                        let newest = s.plans.get(&region).filter(|p| p.version.id == id);
                        let plan = match newest {
                            Some(p) => p.clone(),
                            None => match store.plan(id)? {
                                Some(p) => Arc::new(p),
                                None => continue,
                            },
                        };
                        match s.evaluated(&policy, &plan) {
                            Ok(p) => more.push(p),
                            Err(e) => {
                                tracing::warn!(region = %region, plan = id, error = %e, "plan does not match its atoms: not in the plan collections");
                            }
                        }
                    }
                    Ok(more)
                },
            )
            .await??;
        out.extend(more);
    }
    out.sort_by_key(|p| p.region);
    Ok(out)
}

/// The version `?version=` names, evaluated ([`crate::api::plans`]'s
/// reading of a version, with the plan collections' 404).
pub(super) async fn asked(
    st: &AppState,
    scope: &Scope,
    v: i64,
) -> Result<Arc<RegionPlan>, ApiError> {
    crate::api::plans::evaluated(st, scope, v)
        .await
        .map_err(|e| match e {
            ApiError::NotFound(d) if d == format!("plan {v}") => unknown_version(v),
            e => e,
        })
}

/// What a plan collection shows `scope`: the version asked for, or the
/// set's, evaluated.
pub(super) async fn shown(
    st: &AppState,
    scope: &Scope,
    set: PlanSet,
    version: Option<i64>,
) -> Result<Vec<Arc<RegionPlan>>, ApiError> {
    if let Some(v) = version {
        return Ok(vec![asked(st, scope, v).await?]);
    }
    let s = st.snapshot.load();
    let versions = versions(st, &s, scope, set).await?;
    evaluated(st, s, versions).await
}

/// The extent of what `set` shows `scope`: the regions it covers (their
/// grids tile them), so that no plan is evaluated to describe it.
pub(super) async fn extent(
    st: &AppState,
    s: &Snapshot,
    scope: &Scope,
    set: PlanSet,
) -> Result<Option<Rect<f64>>, ApiError> {
    let versions = versions(st, s, scope, set).await?;
    Ok(crate::ogc::plans::extent(versions.iter().map(
        |(code, _)| {
            s.region(*code, scope)
                .and_then(|r| r.boundary.bounding_rect())
        },
    )))
}
