//! Derived plan state: each plan version evaluated against the snapshot's
//! ground once, then shared by tiles, coverage, the API and the CLI.
//!
//! An evaluation depends on the plan (never changed under one version id),
//! its atoms (never changed under one atom id) and the ground (regions,
//! roads, water, households). A saved plan makes a new snapshot over the
//! same ground, so the snapshots of one ground share one [`Evaluations`]:
//! an edit re-evaluates only the version it saved. A failed evaluation is
//! kept for one generation only, since a later swap may bring the atoms it
//! missed.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use super::Snapshot;
use crate::domain::{Atom, AtomId, ImportedGrid, Plan, Policy, RegionCode};
use crate::partition::plan::{evaluate, PlanError, RegionPlan, Settings};

/// What evaluating a plan gives; errors are shared by all who waited.
pub type Evaluated = Result<Arc<RegionPlan>, Arc<PlanError>>;

/// Versions kept beyond each region's newest plan (older versions the API
/// was asked for); past this the older ones are dropped.
const OLDER_KEPT: usize = 256;

/// One version's evaluation, computed by whoever asks first.
#[derive(Debug, Default)]
struct Slot {
    /// Generation of the snapshot that computed it (failures are kept for
    /// that generation only).
    generation: u64,
    value: OnceLock<Evaluated>,
}

/// Evaluated plans by version id, shared by the snapshots of one ground.
#[derive(Debug, Default)]
pub(super) struct Evaluations {
    /// The policy evaluations use: the one the first caller passed. A
    /// caller with another policy gets its own, uncached evaluation.
    policy: OnceLock<Policy>,
    slots: Mutex<HashMap<i64, Arc<Slot>>>,
    /// Evaluations run, for tests and logs.
    runs: AtomicU64,
}

impl Evaluations {
    /// The evaluation of `plan`, computed (once per version) by `compute`.
    /// `generation` is the asking snapshot's; `newest` the versions it
    /// shows, never dropped to make room.
    pub(super) fn get(
        &self,
        policy: &Policy,
        plan: &Plan,
        generation: u64,
        newest: impl Fn() -> HashSet<i64>,
        compute: impl FnOnce() -> Result<RegionPlan, PlanError>,
    ) -> Evaluated {
        let run = || {
            self.runs.fetch_add(1, Ordering::Relaxed);
            compute().map(Arc::new).map_err(Arc::new)
        };
        if self.policy.get_or_init(|| policy.clone()) != policy {
            return run();
        }
        let id = plan.version.id;
        let slot = {
            let mut slots = self.slots.lock().expect("evaluations");
            let stale = slots.get(&id).is_some_and(|s| {
                s.generation != generation && s.value.get().is_some_and(Result::is_err)
            });
            if stale {
                slots.remove(&id);
            }
            if !slots.contains_key(&id) {
                make_room(&mut slots, &newest);
            }
            slots
                .entry(id)
                .or_insert_with(|| {
                    Arc::new(Slot {
                        generation,
                        value: OnceLock::new(),
                    })
                })
                .clone()
        };
        slot.value.get_or_init(run).clone()
    }

    /// Keeps `value` as the evaluation of `plan` (saved just now, evaluated
    /// before its save) unless one is kept already or `policy` is not the
    /// one evaluations use.
    pub(super) fn seed(&self, policy: &Policy, id: i64, generation: u64, value: Arc<RegionPlan>) {
        if self.policy.get_or_init(|| policy.clone()) != policy {
            return;
        }
        let mut slots = self.slots.lock().expect("evaluations");
        slots.entry(id).or_insert_with(|| {
            let value = OnceLock::from(Ok(value));
            Arc::new(Slot { generation, value })
        });
    }

    /// The evaluation of version `id` when one succeeded already.
    pub(super) fn peek(&self, id: i64) -> Option<Arc<RegionPlan>> {
        let slots = self.slots.lock().expect("evaluations");
        slots.get(&id)?.value.get()?.as_ref().ok().cloned()
    }

    /// A copy keeping every evaluation but those of `regions` (their
    /// ground changed: a road or building written), and those of
    /// `versions` (not evaluated yet, region unknown): a write
    /// re-evaluates its regions only.
    pub(super) fn without(&self, regions: &[RegionCode], versions: &[i64]) -> Self {
        self.followed(regions, versions, &|_| None)
    }

    /// As [`Self::without`], but an evaluation of `regions` that
    /// `recount` can bring up to date (a household written: the same
    /// shapes, other figures) is kept as it gives it instead of dropped.
    pub(super) fn followed(
        &self,
        regions: &[RegionCode],
        versions: &[i64],
        recount: &dyn Fn(&RegionPlan) -> Option<RegionPlan>,
    ) -> Self {
        let slots = self.slots.lock().expect("evaluations");
        let kept = slots
            .iter()
            .filter_map(|(id, slot)| match slot.value.get() {
                Some(Ok(p)) if regions.contains(&p.region) => {
                    let value = OnceLock::from(Ok(Arc::new(recount(p)?)));
                    let generation = slot.generation;
                    Some((*id, Arc::new(Slot { generation, value })))
                }
                Some(Ok(_)) if !versions.contains(id) => Some((*id, slot.clone())),
                _ => None,
            })
            .collect();
        let policy = OnceLock::new();
        if let Some(p) = self.policy.get() {
            let _ = policy.set(p.clone());
        }
        Self {
            policy,
            slots: Mutex::new(kept),
            runs: AtomicU64::new(self.runs()),
        }
    }

    pub(super) fn runs(&self) -> u64 {
        self.runs.load(Ordering::Relaxed)
    }
}

/// Drops older versions once more than [`OLDER_KEPT`] of them are kept.
fn make_room(slots: &mut HashMap<i64, Arc<Slot>>, newest: &impl Fn() -> HashSet<i64>) {
    if slots.len() < OLDER_KEPT {
        return;
    }
    let newest = newest();
    if slots.len() >= OLDER_KEPT + newest.len() {
        slots.retain(|id, _| newest.contains(id));
    }
}

/// The grids in force in a leaf region.
#[derive(Debug, Clone)]
pub enum GridsInForce<'a> {
    /// Its newest plan, evaluated.
    Plan(Arc<RegionPlan>),
    /// No plan, or one that no longer matches its atoms: the grids drawn
    /// elsewhere and imported for it.
    Imported(Vec<&'a ImportedGrid>),
}

impl Snapshot {
    /// `plan` evaluated against this snapshot's ground: the figures and
    /// shapes every reader of a plan shows. Computed once per version
    /// (see the module docs) and shared.
    pub fn evaluated(&self, policy: &Policy, plan: &Plan) -> Evaluated {
        self.evaluations.get(
            policy,
            plan,
            self.generation,
            || self.plans.values().map(|p| p.version.id).collect(),
            || self.evaluate(policy, plan),
        )
    }

    /// `plan`, not saved yet (its atoms among this snapshot's and `added`),
    /// evaluated: what a save writes as its grid shapes, in the save's own
    /// transaction. Not cached (the plan has no id yet): [`Self::seed`]
    /// keeps it once saved. Counted in [`Self::evaluations`].
    pub fn evaluate_unsaved(
        &self,
        policy: &Policy,
        plan: &Plan,
        added: &[Atom],
    ) -> Result<RegionPlan, PlanError> {
        self.evaluations.runs.fetch_add(1, Ordering::Relaxed);
        let code = plan.version.region;
        let atoms = if added.is_empty() {
            self.plan_atoms(plan)
        } else {
            let mut by_id: HashMap<AtomId, &Atom> = self
                .atoms
                .items()
                .iter()
                .filter(|a| a.region == code)
                .map(|a| (a.id, a))
                .collect();
            for a in self.retired.get(&code).into_iter().flatten().chain(added) {
                by_id.insert(a.id, a);
            }
            plan.atoms
                .iter()
                .map(|id| by_id.get(id).map(|a| (*a).clone()))
                .collect()
        }
        .ok_or(PlanError::Mismatch)?;
        self.evaluate_over(policy, plan, &atoms)
    }

    /// Keeps `evaluated` (from [`Self::evaluate_unsaved`]) as the
    /// evaluation of `plan`, saved since: tiles and coverage do not
    /// evaluate it again.
    pub fn seed(&self, policy: &Policy, plan: &Plan, mut evaluated: RegionPlan) {
        evaluated.version = Some(plan.version.clone());
        self.evaluations.seed(
            policy,
            plan.version.id,
            self.generation,
            Arc::new(evaluated),
        );
    }

    /// Plan version `id` evaluated, when it already was over this ground.
    pub fn evaluated_id(&self, id: i64) -> Option<Arc<RegionPlan>> {
        self.evaluations.peek(id)
    }

    /// The grids in force in `region`: its newest plan's, as the map shows
    /// them (so an edit shows in coverage once saved), or the imported ones.
    pub fn grids_in_force(&self, policy: &Policy, region: RegionCode) -> GridsInForce<'_> {
        if let Some(plan) = self.plans.get(&region) {
            match self.evaluated(policy, plan) {
                Ok(p) => return GridsInForce::Plan(p),
                Err(e) => {
                    tracing::warn!(region = %region, plan = plan.version.id, error = %e, "plan does not match its atoms: its imported grids are in force");
                }
            }
        }
        GridsInForce::Imported(
            self.grids
                .items()
                .iter()
                .filter(|g| g.region == region)
                .collect(),
        )
    }

    /// Plan evaluations run over this snapshot's ground (for tests: each
    /// version is evaluated once however many readers ask).
    pub fn evaluations(&self) -> u64 {
        self.evaluations.runs()
    }

    fn evaluate(&self, policy: &Policy, plan: &Plan) -> Result<RegionPlan, PlanError> {
        let atoms = self.plan_atoms(plan).ok_or(PlanError::Mismatch)?;
        self.evaluate_over(policy, plan, &atoms)
    }

    fn evaluate_over(
        &self,
        policy: &Policy,
        plan: &Plan,
        atoms: &[Atom],
    ) -> Result<RegionPlan, PlanError> {
        let code = plan.version.region;
        let ground = self.ground(code).ok_or(PlanError::EmptyRegion(code))?;
        let mut r = evaluate(&ground, &Settings::from_policy(policy), plan, atoms)?;
        r.version = Some(plan.version.clone());
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use geo::InteriorPoint;

    use crate::access::Scope;
    use crate::coverage::{region::analyse, Options};
    use crate::domain::Dataset;
    use crate::domain::Policy;
    use crate::generate::{generate, Params};
    use crate::partition::plan::{grounds, plan_region, Settings};
    use crate::snapshot::{GridsInForce, Snapshot};
    use crate::tiles::mvt::Frame;
    use crate::tiles::{Source, TileCache};

    /// The tile holding a point at zoom `z`.
    fn tile_at(z: u8, lon: f64, lat: f64) -> Frame {
        let n = f64::from(1u32 << z);
        let x = ((lon + 180.0) / 360.0 * n) as u32;
        let r = lat.to_radians();
        let y = ((1.0 - (r.tan() + 1.0 / r.cos()).ln() / std::f64::consts::PI) / 2.0 * n) as u32;
        Frame::new(z, x, y).unwrap()
    }

    #[test]
    fn a_plan_version_is_evaluated_once_however_many_readers_ask() {
        let city = generate(
            Params {
                households: 1_500,
                seed: 3,
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
        let street = ground.region.parent;
        let inside = ground.region.boundary.interior_point().unwrap();
        let made = plan_region(&ground, &Settings::from_policy(&policy), None).unwrap();
        let mut plan = made.to_plan("test", "", None);
        plan.version.id = 1;
        let s = Arc::new(Snapshot::build(Dataset {
            regions: city.regions.clone(),
            roads: city.roads.clone(),
            water: city.water.clone(),
            households: city.households.clone(),
            people: city.people.clone(),
            grids: city.grids.clone(),
            atoms: made.atoms.clone(),
            plans: vec![plan.clone()],
            ..Dataset::default()
        }));
        assert_eq!(s.evaluations(), 0, "evaluated lazily");

        // Tiles: grids and findings at several zooms.
        let tiles = TileCache::new(Arc::new(policy.clone()));
        for z in 12..=16 {
            let frame = tile_at(z, inside.x(), inside.y());
            for source in [Source::Grids, Source::Gaps] {
                tiles.get(&s, source, frame, &Scope::all());
            }
        }
        // Coverage of the community and of its street.
        for at in [Some(code), street, Some(code)].into_iter().flatten() {
            analyse(&s, &policy, at, &Scope::all(), Options::default(), 0);
        }
        // The plans API.
        for _ in 0..3 {
            assert!(s.evaluated(&policy, &plan).is_ok());
        }
        assert!(s.evaluated_id(1).is_some());
        assert!(matches!(
            s.grids_in_force(&policy, code),
            GridsInForce::Plan(_)
        ));
        assert_eq!(s.evaluations(), 1);

        // A snapshot a saved plan makes from it shares the evaluation.
        let next = s.with_plan(plan.clone(), Vec::new());
        assert!(next.evaluated(&policy, &plan).is_ok());
        assert_eq!(next.evaluations(), 1);
    }

    /// Households written into a planned region (care changed, moved
    /// across the region, created, deleted, moved out) leave the plan's
    /// evaluation counted again, not evaluated again, and every figure of
    /// it equals a fresh evaluation over the same ground.
    #[test]
    fn a_household_write_recounts_the_plan_as_a_fresh_evaluation_would() {
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
            people: city.people.clone(),
            grids: city.grids.clone(),
            atoms: made.atoms.clone(),
            plans: vec![plan.clone()],
            ..Dataset::default()
        };
        let mut s = Snapshot::build(data.clone());
        assert!(s.evaluated(&policy, &plan).is_ok());
        let runs = s.evaluations();
        let mine: Vec<crate::domain::Household> = s.households.in_region(code).to_vec();
        let other = city
            .households
            .iter()
            .find(|h| h.region != Some(code))
            .unwrap()
            .clone();
        let (first, far) = (mine[0].clone(), mine[mine.len() - 1].clone());
        let mut writes: Vec<(i64, Option<crate::domain::Household>)> = Vec::new();
        let mut care = mine[1].clone();
        care.care.0 = (care.care.0 + 1) % 3;
        writes.push((care.id, Some(care)));
        let mut moved = first.clone();
        moved.location = far.location;
        moved.building = far.building;
        writes.push((moved.id, Some(moved)));
        let mut born = far.clone();
        born.id = 900_000;
        writes.push((born.id, Some(born)));
        writes.push((mine[2].id, None));
        let mut gone = mine[3].clone();
        gone.location = other.location;
        gone.region = other.region;
        writes.push((gone.id, Some(gone)));
        for w in &writes {
            s = s.with_households(std::slice::from_ref(w));
        }
        let recounted = s.evaluated(&policy, &plan).unwrap();
        assert_eq!(s.evaluations(), runs, "counted again, not evaluated again");

        let mut fresh_data = data;
        fresh_data.households = s.households.iter().cloned().collect();
        let fresh = Snapshot::build(fresh_data);
        let want = fresh.evaluated(&policy, &plan).unwrap();
        assert_eq!(recounted.households, want.households);
        assert_eq!(recounted.levels, want.levels);
        let figures = |p: &crate::partition::plan::RegionPlan| {
            p.grids
                .iter()
                .map(|g| (g.code.clone(), g.metrics.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(figures(&recounted), figures(&want));
        for h in 0..want.households {
            assert_eq!(
                recounted.ledger.atom_of_household(h),
                want.ledger.atom_of_household(h)
            );
        }
        let before = Snapshot::build(Dataset {
            households: city.households.clone(),
            ..fresh_data_without_households(&fresh)
        });
        assert_ne!(
            figures(&recounted),
            figures(&before.evaluated(&policy, &plan).unwrap()),
            "the writes changed some grid's figures"
        );
    }

    /// `s`'s ground and plans without its households.
    fn fresh_data_without_households(s: &Snapshot) -> Dataset {
        Dataset {
            regions: s.regions.items().to_vec(),
            roads: s.roads.items().to_vec(),
            water: s.water.items().to_vec(),
            atoms: s.atoms.items().to_vec(),
            plans: s.plans.values().map(|p| (**p).clone()).collect(),
            ..Dataset::default()
        }
    }
}
