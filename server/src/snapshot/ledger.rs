//! The snapshot following one record write at once, without a reload.
//!
//! Issue 20's incremental snapshot: the written layer's shard (the
//! record's region, see [`super::ShardedIndex`]) is copied and patched,
//! every other region's shard is shared; the region counts are patched up
//! the hierarchy, and what was derived from the touched regions' ground
//! (their plans' stored grid figures) is dropped and their plans counted
//! again, and the coverage analyses the snapshot keeps are handed the
//! edit ([`super::Analyses::followed`]). Other layers
//! and the other regions' evaluations are shared. Tiles follow by
//! themselves: the tile cache diffs each swap with the one before (only
//! the shards not shared) and drops tiles only over what changed.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::{Snapshot, SnapshotCell, GENERATION};
use crate::domain::{Household, Person, RegionCode};

impl Snapshot {
    /// This snapshot with household `id` replaced by `new` (created, or
    /// deleted when `None`): a new generation and a new ground.
    #[must_use]
    pub fn with_household(&self, id: i64, new: Option<&Household>) -> Self {
        self.with_households(&[(id, new.cloned())])
    }

    /// This snapshot with many households replaced at once (a bulk
    /// upsert), as [`Self::with_household`] does one.
    #[must_use]
    pub fn with_households(&self, puts: &[(i64, Option<Household>)]) -> Self {
        let all = crate::access::Scope::all();
        let households = Arc::new(self.households.with_items(puts));
        let mut counts = (*self.counts).clone();
        let parents = crate::domain::region::parents(self.regions.items());
        let mut bump = |code: Option<RegionCode>, up: bool| {
            let Some(code) = code else { return };
            let mut at = Some(code);
            let mut hops = 0;
            while let Some(c) = at {
                let e = counts.entry(c).or_default();
                e.households = if up {
                    e.households + 1
                } else {
                    e.households.saturating_sub(1)
                };
                at = parents.get(&c).copied().filter(|p| *p != code);
                hops += 1;
                if hops > 9 {
                    break;
                }
            }
        };
        let mut touched = std::collections::BTreeSet::new();
        for (id, new) in puts {
            let old = self.households.get(*id, &all);
            if let Some(o) = old {
                bump(o.region, false);
                touched.extend(o.region);
            }
            if let Some(n) = new {
                bump(n.region, true);
                touched.extend(n.region);
            }
        }
        let touched: Vec<RegionCode> = touched.into_iter().collect();
        // Stored grid figures of the touched regions' plans no longer add
        // up; other regions keep theirs.
        let versions: Vec<i64> = touched
            .iter()
            .filter_map(|c| self.plans.get(c).map(|p| p.version.id))
            .collect();
        let mut stored = (*self.stored).clone();
        for v in &versions {
            stored.remove(v);
        }
        // The touched regions' plan evaluations are counted again over
        // their new households (same shapes, other figures), not dropped:
        // a write costs a recount, not a plan evaluation.
        let evaluations = self.evaluations.followed(&touched, &versions, &|p| {
            let now: Vec<&Household> = households.in_region(p.region).iter().collect();
            Some(p.recounted(&now))
        });
        let generation = GENERATION.fetch_add(1, Ordering::Relaxed);
        Self {
            generation,
            // Households are ground: what was derived from the old one
            // (the touched regions' plan figures) follows it.
            ground: generation,
            regions: self.regions.clone(),
            atoms: self.atoms.clone(),
            retired: self.retired.clone(),
            households,
            people: self.people.clone(),
            roads: self.roads.clone(),
            buildings: self.buildings.clone(),
            water: self.water.clone(),
            grids: self.grids.clone(),
            plans: self.plans.clone(),
            emergency: self.emergency.clone(),
            counts: Arc::new(counts),
            evaluations: Arc::new(evaluations),
            analyses: Arc::new(
                self.analyses.followed(
                    generation,
                    puts.iter()
                        .map(|(id, h)| super::Edit::Household(*id, h.clone()))
                        .collect(),
                ),
            ),
            stored: Arc::new(stored),
        }
    }
}

impl Snapshot {
    /// This snapshot with person `id` replaced by `new` (created, or
    /// deleted when `None`); see [`Snapshot::with_people`].
    #[must_use]
    pub fn with_person(&self, id: i64, new: Option<&Person>) -> Self {
        self.with_people(&[(id, new.cloned())])
    }

    /// This snapshot with each person `id` replaced by their `new` record
    /// (created, or deleted when `None`; a dispatch, a bulk upsert): the
    /// people layer patched, region counts patched, the emergency index
    /// made again over the new people (once, keeping its walking network:
    /// it reads reserve members, their status and where they are).
    /// Households, plan evaluations and stored grid figures are shared:
    /// they hold no staff; the kept coverage analyses follow the edit.
    #[must_use]
    pub fn with_people(&self, puts: &[(i64, Option<Person>)]) -> Self {
        let all = crate::access::Scope::all();
        let olds: Vec<Option<&Person>> = puts
            .iter()
            .map(|(id, _)| self.people.get(*id, &all))
            .collect();
        let people = Arc::new(self.people.with_items(puts));
        let mut counts = (*self.counts).clone();
        let parents = crate::domain::region::parents(self.regions.items());
        let mut bump = |code: Option<RegionCode>, up: bool| {
            let mut at = code;
            for _ in 0..10 {
                let Some(c) = at else { break };
                let e = counts.entry(c).or_default();
                e.people = if up {
                    e.people + 1
                } else {
                    e.people.saturating_sub(1)
                };
                at = parents.get(&c).copied().filter(|p| Some(*p) != code);
            }
        };
        for (old, (_, new)) in olds.iter().zip(puts) {
            if let Some(o) = old {
                bump(o.region, false);
            }
            if let Some(n) = new {
                bump(n.region, true);
            }
        }
        let emergency = self.emergency.with_people(people.items());
        let generation = GENERATION.fetch_add(1, Ordering::Relaxed);
        Self {
            generation,
            // Staff are ground of coverage (computed per request over the
            // plans' grids); a plan's evaluation holds no staff and is kept.
            ground: generation,
            regions: self.regions.clone(),
            atoms: self.atoms.clone(),
            retired: self.retired.clone(),
            households: self.households.clone(),
            people,
            roads: self.roads.clone(),
            buildings: self.buildings.clone(),
            water: self.water.clone(),
            grids: self.grids.clone(),
            plans: self.plans.clone(),
            emergency: Arc::new(emergency),
            counts: Arc::new(counts),
            evaluations: self.evaluations.clone(),
            analyses: Arc::new(
                self.analyses.followed(
                    generation,
                    puts.iter()
                        .map(|(id, p)| super::Edit::Person(*id, p.clone()))
                        .collect(),
                ),
            ),
            stored: self.stored.clone(),
        }
    }
}

impl SnapshotCell {
    /// Puts person `id` as `new` into the current snapshot (against
    /// concurrent swaps) and returns the snapshot that holds it.
    pub fn put_person(&self, id: i64, new: Option<&Person>) -> Arc<Snapshot> {
        self.put_people(&[(id, new.cloned())])
    }

    /// Puts many people into the current snapshot at once (a bulk upsert)
    /// and returns the snapshot that holds them.
    pub fn put_people(&self, puts: &[(i64, Option<Person>)]) -> Arc<Snapshot> {
        let old = self.0.rcu(|s| Arc::new(s.with_people(puts)));
        drop(old);
        self.load()
    }

    /// Puts household `id` as `new` into the current snapshot (against
    /// concurrent swaps) and returns the snapshot that holds it.
    pub fn put_household(&self, id: i64, new: Option<&Household>) -> Arc<Snapshot> {
        self.put_households(&[(id, new.cloned())])
    }

    /// Puts many households into the current snapshot at once (a bulk
    /// upsert) and returns the snapshot that holds them.
    pub fn put_households(&self, puts: &[(i64, Option<Household>)]) -> Arc<Snapshot> {
        let old = self.0.rcu(|s| Arc::new(s.with_households(puts)));
        drop(old);
        self.load()
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::access::Scope;
    use crate::domain::Dataset;

    #[test]
    fn a_household_written_is_found_where_it_now_is_and_counted() {
        let Some(crate::domain::Record::Household(hh)) = crate::store::suite::sample()
            .into_iter()
            .find(|r| matches!(r, crate::domain::Record::Household(_)))
        else {
            unreachable!()
        };
        let region = hh.region.unwrap();
        let s = Snapshot::build(Dataset {
            households: vec![hh.clone()],
            ..Dataset::default()
        });
        assert_eq!(s.region_counts(region).households, 1);
        let mut moved = hh.clone();
        moved.location = geo_types::point!(x: 109.5, y: 32.9);
        let t = s.with_household(hh.id, Some(&moved));
        assert!(t.generation > s.generation && t.ground == t.generation);
        let far = geo_types::Rect::new((109.4, 32.8), (109.6, 33.0));
        let found = t.households.query(Some(far), &Scope::all(), 0, 10).items;
        assert_eq!(found, vec![&moved]);
        let mut new = hh.clone();
        new.id = hh.id + 1;
        let u = t.with_household(new.id, Some(&new));
        assert_eq!(u.households.len(), 2);
        assert_eq!(u.region_counts(region).households, 2);
        let v = u.with_household(hh.id, None);
        assert_eq!(v.households.len(), 1);
        assert_eq!(v.region_counts(region).households, 1);
        assert!(v.households.get(hh.id, &Scope::all()).is_none());
    }
}
