//! Grid shapes the store kept for the plan versions in force, so that a
//! server start draws every region's grids without evaluating its plan
//! (30 s for 1 M households, minutes beyond). Only the versions in force
//! when the snapshot was read from the store are kept; a version saved
//! since is evaluated (once, see [`super::derived`]), as are coverage and
//! edits, which need the whole evaluation.

use std::collections::HashMap;
use std::sync::Arc;

use super::Snapshot;
use crate::store::{PlanGridShape, Store};

/// Stored shapes by plan version id.
pub(super) type Stored = Arc<HashMap<i64, Arc<Vec<PlanGridShape>>>>;

impl Snapshot {
    /// The store's snapshot with the stored grid shapes of the plans in
    /// force: what a server start serves grid tiles from.
    pub fn from_store<S: Store + ?Sized>(store: &S) -> crate::store::Result<Self> {
        let data = store.load()?;
        let ids: Vec<i64> = data.plans.iter().map(|p| p.version.id).collect();
        let shapes = if ids.is_empty() {
            crate::store::ShapesByVersion::default()
        } else {
            store.plan_grid_shapes(Some(&ids))?
        };
        Ok(Self::build(data).with_stored_shapes(shapes))
    }

    /// This snapshot with `shapes` (by version) as the stored grids of its
    /// plans in force; shapes of other versions are dropped, and so are
    /// those whose households do not add up to their region's (households
    /// imported since the save): those plans are evaluated instead.
    #[must_use]
    pub fn with_stored_shapes(mut self, shapes: crate::store::ShapesByVersion) -> Self {
        let mut kept = HashMap::new();
        for (id, list) in shapes {
            let Some(plan) = self.plans.values().find(|p| p.version.id == id) else {
                continue;
            };
            let counted: u64 = list
                .iter()
                .filter(|s| s.level == 1)
                .map(|s| u64::from(s.households))
                .sum();
            let held = self.region_counts(plan.version.region).households;
            if list.is_empty() || counted != held {
                tracing::info!(
                    plan = id,
                    counted,
                    held,
                    "stored grid shapes not used: households changed since"
                );
                continue;
            }
            kept.insert(id, Arc::new(list));
        }
        self.stored = Arc::new(kept);
        self
    }

    /// The stored grid shapes of plan version `id`, when it is in force
    /// and the store kept them.
    pub fn stored_shapes(&self, id: i64) -> Option<Arc<Vec<PlanGridShape>>> {
        self.stored.get(&id).cloned()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::domain::{Dataset, Policy};
    use crate::generate::{generate, Params};
    use crate::partition::plan::{grounds, plan_region, Settings};
    use crate::snapshot::Snapshot;
    use crate::store::{PlanGridShape, ShapesByVersion};
    use crate::tiles::grids::region_grids;

    #[test]
    fn stored_shapes_draw_the_grids_evaluation_draws_without_evaluating() {
        let city = generate(
            Params {
                households: 1_500,
                seed: 5,
            },
            &mut |_| {},
        );
        let policy = Policy::preset("ankang").unwrap();
        let ground = grounds(
            &city.regions,
            &city.roads,
            &city.water,
            &city.households,
            None,
        )
        .into_iter()
        .max_by_key(|g| g.households.len())
        .unwrap();
        let code = ground.region.code;
        let made = plan_region(&ground, &Settings::from_policy(&policy), None).unwrap();
        let mut plan = made.to_plan("test", "", None);
        plan.version.id = 1;
        let data = Dataset {
            regions: city.regions.clone(),
            roads: city.roads.clone(),
            water: city.water.clone(),
            households: city.households.clone(),
            atoms: made.atoms.clone(),
            plans: vec![plan.clone()],
            ..Dataset::default()
        };
        // Evaluated: what the tiles drew before shapes were stored.
        let evaluated = Arc::new(Snapshot::build(data.clone()));
        let want = region_grids(&evaluated, &policy, code);
        assert_eq!(evaluated.evaluations(), 1);
        let shapes = PlanGridShape::of(&evaluated.evaluated(&policy, &plan).unwrap());
        // Stored: the same grids, no evaluation.
        let stored = Snapshot::build(data.clone())
            .with_stored_shapes(ShapesByVersion::from([(1, shapes.clone())]));
        assert!(stored.stored_shapes(1).is_some(), "households add up");
        let got = region_grids(&stored, &policy, code);
        assert_eq!(stored.evaluations(), 0, "no plan evaluated");
        assert_eq!(got.plan, Some(1));
        assert_eq!(got.grids.len(), want.grids.len());
        for (g, w) in got.grids.iter().zip(&want.grids) {
            assert_eq!(
                (g.level, &g.code, &g.parent, g.households, g.balance),
                (w.level, &w.code, &w.parent, w.households, w.balance)
            );
            assert!((g.deviation.unwrap() - w.deviation.unwrap()).abs() < 1e-12);
            assert_eq!(g.geometry, w.geometry);
        }
        // Households imported since the save: the stored shapes are not used.
        let mut more = data;
        let mut h = more
            .households
            .iter()
            .find(|h| h.region == Some(code))
            .unwrap()
            .clone();
        h.id = 9_999_999;
        more.households.push(h);
        let stale = Snapshot::build(more).with_stored_shapes(ShapesByVersion::from([(1, shapes)]));
        assert!(stale.stored_shapes(1).is_none());
    }
}
