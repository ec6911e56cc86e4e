//! The snapshot following one record write at once, without a reload.
//!
//! First step of issue 20's incremental snapshot: the written layer's
//! items and R-tree are copied and patched (one `memcpy`-like clone of
//! the layer, no sort, no bulk load), the region counts are patched up the
//! hierarchy, and what was derived from the touched regions' ground (their
//! plans' evaluations and stored grid figures) is dropped so coverage and
//! grid tiles are computed over the new ground. Other layers and the other
//! regions' evaluations are shared. Tiles follow by themselves: the tile cache diffs each swap with
//! the one before and drops tiles only over what changed.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use rstar::primitives::Rectangle;

use super::{Entry, LayerIndex, LayerItem, Snapshot, SnapshotCell, GENERATION};
use crate::domain::{GridCode, Household, Person, RegionCode};

impl<T: LayerItem + Clone> LayerIndex<T> {
    /// This index with the item of `id` replaced by `new` (added when
    /// missing; removed when `new` is `None`).
    pub(super) fn with_item(&self, id: i64, new: Option<T>) -> Self {
        let mut items = self.items.clone();
        let mut tree = self.tree.clone();
        let at = items.binary_search_by_key(&id, LayerItem::item_id);
        match (at, new) {
            (Ok(i), Some(n)) => {
                if let Some(e) = entry(&items[i], i) {
                    tree.remove(&e);
                }
                if let Some(e) = entry(&n, i) {
                    tree.insert(e);
                }
                items[i] = n;
            }
            (Err(i), Some(n)) if i == items.len() => {
                if let Some(e) = entry(&n, i) {
                    tree.insert(e);
                }
                items.push(n);
            }
            (Err(_), Some(n)) => {
                // An id below the newest: positions shift, index again.
                items.push(n);
                return Self::new(items);
            }
            (Ok(i), None) => {
                items.remove(i);
                return Self::new(items);
            }
            (Err(_), None) => {}
        }
        Self { items, tree }
    }
}

fn entry<T: LayerItem>(it: &T, i: usize) -> Option<Entry> {
    let r = it.bbox()?;
    Some(Entry::new(
        Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]),
        u32::try_from(i).ok()?,
    ))
}

impl Snapshot {
    /// This snapshot with household `id` replaced by `new` (created, or
    /// deleted when `None`): a new generation and a new ground.
    #[must_use]
    pub fn with_household(&self, id: i64, new: Option<&Household>) -> Self {
        let old_region = self
            .households
            .get(id, &crate::access::Scope::all())
            .and_then(|h| h.region);
        let new_region = new.and_then(|h| h.region);
        let existed = self
            .households
            .get(id, &crate::access::Scope::all())
            .is_some();
        let households = Arc::new(self.households.with_item(id, new.cloned()));
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
        if existed {
            bump(old_region, false);
        }
        if new.is_some() {
            bump(new_region, true);
        }
        // Stored grid figures of the touched regions' plans no longer add
        // up: those plans are evaluated again; other regions keep theirs.
        let touched: Vec<RegionCode> = [old_region, new_region].into_iter().flatten().collect();
        let versions: Vec<i64> = touched
            .iter()
            .filter_map(|c| self.plans.get(c).map(|p| p.version.id))
            .collect();
        let mut stored = (*self.stored).clone();
        for v in &versions {
            stored.remove(v);
        }
        let generation = GENERATION.fetch_add(1, Ordering::Relaxed);
        Self {
            generation,
            // Households are ground: what was derived from the old one
            // (the touched regions' plan evaluations) is computed again.
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
            evaluations: Arc::new(self.evaluations.without(&touched, &versions)),
            stored: Arc::new(stored),
        }
    }
}

impl Snapshot {
    /// The regions whose plans hold a grid among `codes`.
    fn plan_regions_of(&self, codes: &[&GridCode]) -> Vec<RegionCode> {
        self.plans
            .iter()
            .filter(|(_, p)| p.codes.iter().flatten().any(|c| codes.contains(&c)))
            .map(|(r, _)| *r)
            .collect()
    }

    /// This snapshot with person `id` replaced by `new` (created, or
    /// deleted when `None`): the people layer patched, region counts
    /// patched, the emergency index built again over the new people (it
    /// reads reserve members and their homes), and the evaluations of the
    /// plans holding the person's grids (before and after) dropped, so
    /// coverage is computed again over the new staff. Households and
    /// their derived figures are shared.
    #[must_use]
    pub fn with_person(&self, id: i64, new: Option<&Person>) -> Self {
        let all = crate::access::Scope::all();
        let old = self.people.get(id, &all);
        let (old_region, new_region) = (old.and_then(|p| p.region), new.and_then(|p| p.region));
        let codes: Vec<&GridCode> = old
            .into_iter()
            .chain(new)
            .flat_map(|p| p.grids.iter())
            .collect();
        let mut touched: Vec<RegionCode> = [old_region, new_region].into_iter().flatten().collect();
        touched.extend(self.plan_regions_of(&codes));
        let people = Arc::new(self.people.with_item(id, new.cloned()));
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
        if old.is_some() {
            bump(old_region, false);
        }
        if new.is_some() {
            bump(new_region, true);
        }
        let versions: Vec<i64> = touched
            .iter()
            .filter_map(|c| self.plans.get(c).map(|p| p.version.id))
            .collect();
        let mut stored = (*self.stored).clone();
        for v in &versions {
            stored.remove(v);
        }
        let emergency =
            super::emergency_index(self.regions.items(), people.items(), self.roads.items());
        let generation = GENERATION.fetch_add(1, Ordering::Relaxed);
        Self {
            generation,
            // Staff are ground of coverage: the touched plans are evaluated again.
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
            evaluations: Arc::new(self.evaluations.without(&touched, &versions)),
            stored: Arc::new(stored),
        }
    }
}

impl SnapshotCell {
    /// Puts person `id` as `new` into the current snapshot (against
    /// concurrent swaps) and returns the snapshot that holds it.
    pub fn put_person(&self, id: i64, new: Option<&Person>) -> Arc<Snapshot> {
        let old = self.0.rcu(|s| Arc::new(s.with_person(id, new)));
        drop(old);
        self.load()
    }

    /// Puts household `id` as `new` into the current snapshot (against
    /// concurrent swaps) and returns the snapshot that holds it.
    pub fn put_household(&self, id: i64, new: Option<&Household>) -> Arc<Snapshot> {
        let old = self.0.rcu(|s| Arc::new(s.with_household(id, new)));
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
