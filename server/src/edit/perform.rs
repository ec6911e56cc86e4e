//! One edit run whole: the plan after it, the atoms it cut, and its
//! figures, or why not.

use std::sync::Arc;

use super::figures::{self, Cut};
use super::{apply, Edit, EditError, Rules};
use crate::domain::{Atom, Plan};
use crate::partition::plan::{self, PlanError, RegionPlan, Settings, SplitError};
use crate::snapshot::Snapshot;

/// What an edit runs against besides the plan: the plan evaluated, the
/// data (ground and atoms a split cuts, staff), the partition settings.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    pub evaluated: &'a RegionPlan,
    pub snapshot: &'a Snapshot,
    pub settings: &'a Settings,
}

/// A plan after an edit: the atoms a split added, and the figures before
/// and after for every grid it touched (with their staff).
#[derive(Debug, Clone)]
pub struct Edited {
    pub plan: Plan,
    pub added: Vec<Atom>,
    pub figures: serde_json::Value,
}

/// `edit` made on `plan` under `rules`, with its figures. A split, a
/// re-solve or a restore across a split is slow ([`Edit::heavy`]): run it
/// off the async workers.
pub fn perform(
    cx: &Context<'_>,
    plan: &Plan,
    rules: &Rules,
    edit: &Edit,
) -> Result<Edited, EditError> {
    let (next, added, cut) = changed(cx, plan, rules, edit)?;
    let regraded = figures::regrade(cx, plan, &next, &added, cut.is_some())?;
    let figures = figures::figures(
        cx.snapshot.people.items(),
        cx.evaluated,
        plan,
        &next,
        cut.as_ref(),
        regraded.as_ref(),
    );
    Ok(Edited {
        plan: next,
        added,
        figures,
    })
}

/// The plan after `edit`, the atoms it added, and for a split the cut
/// atoms' figures and the grids it made.
fn changed(
    cx: &Context<'_>,
    plan: &Plan,
    rules: &Rules,
    edit: &Edit,
) -> Result<(Plan, Vec<Atom>, Option<Cut>), EditError> {
    match edit {
        Edit::Restore { version } => {
            let mut next = (**version).clone();
            next.version = plan.version.clone();
            Ok((next, Vec::new(), None))
        }
        Edit::Resolve { level, parent } => {
            let named = super::labels::code(plan, *level, *parent);
            plan::resolve(
                cx.evaluated,
                plan,
                cx.settings,
                usize::from(*level) - 1,
                *parent,
                &rules.locked,
            )
            .map(|next| (next, Vec::new(), None))
            .map_err(|e| EditError::Invalid(format!("re-solving under {named}: {e}")))
        }
        Edit::Split { grid, line } => {
            let code = super::labels::code(plan, 3, *grid);
            if rules.locked.contains(&code) {
                return Err(EditError::broken(
                    "locked",
                    &code,
                    format!("grid {code} is locked"),
                ));
            }
            split(cx, plan, *grid, line)
                .map(|sp| (sp.plan, sp.added, Some((sp.ledger, sp.touched))))
                .map_err(|e| EditError::broken("split", &code, e.to_string()))
        }
        Edit::Reassign { .. } | Edit::MoveGrid { .. } | Edit::Merge { .. } => {
            apply(plan, rules, edit)
                .map(|next| (next, Vec::new(), None))
                .map_err(|r| EditError::refused(cx.evaluated, plan, &r))
        }
    }
}

fn split(
    cx: &Context<'_>,
    plan: &Plan,
    grid: u32,
    line: &geo_types::LineString<f64>,
) -> Result<plan::Split, SplitError> {
    let atoms = cx
        .snapshot
        .plan_atoms(plan)
        .ok_or(SplitError::Plan(PlanError::Mismatch))?;
    let ground = cx
        .snapshot
        .ground(plan.version.region)
        .ok_or(SplitError::Plan(PlanError::EmptyRegion(
            plan.version.region,
        )))?;
    plan::split(&ground, cx.settings, plan, &atoms, grid, line)
}

/// The shared parts of a [`Context`] for work moved to another thread.
pub struct Owned {
    pub evaluated: Arc<RegionPlan>,
    pub snapshot: Arc<Snapshot>,
    pub settings: Settings,
}

impl Owned {
    pub fn context(&self) -> Context<'_> {
        Context {
            evaluated: &self.evaluated,
            snapshot: &self.snapshot,
            settings: &self.settings,
        }
    }
}
