//! The snapshot following one building or road write at once (see
//! [`crate::basemap`]), as [`super::ledger`] does for households.
//!
//! A building: its layer patched, nothing else (stored plans are
//! evaluated without buildings; only a plan made afresh reads them, from
//! the layer). A road: its layer patched, the evaluations and stored grid
//! shapes of the regions whose ground holds it (before and after) dropped
//! (boundaries follow roads: the figures of the cut change), and the
//! emergency index built again, since the walking network behind
//! nearest-by-road is built over all roads: O(roads + people), about what a
//! person write costs already. Tiles follow by themselves: the tile cache
//! diffs each swap and drops tiles only over the changed boxes.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use geo::BoundingRect;

use super::{Snapshot, SnapshotCell, GENERATION};
use crate::access::Scope;
use crate::domain::{Building, RegionCode, Road};

/// How far around a region its plans' ground takes roads (as
/// [`crate::partition::plan::grounds`] grows its box).
const GROUND_MARGIN: f64 = 0.001;

impl Snapshot {
    /// A new generation over new ground, sharing every layer.
    fn successor(&self) -> Self {
        let generation = GENERATION.fetch_add(1, Ordering::Relaxed);
        Self {
            generation,
            ground: generation,
            regions: self.regions.clone(),
            atoms: self.atoms.clone(),
            retired: self.retired.clone(),
            households: self.households.clone(),
            people: self.people.clone(),
            roads: self.roads.clone(),
            buildings: self.buildings.clone(),
            water: self.water.clone(),
            grids: self.grids.clone(),
            plans: self.plans.clone(),
            emergency: self.emergency.clone(),
            counts: self.counts.clone(),
            evaluations: self.evaluations.clone(),
            // Buildings and roads are read by coverage (carer places,
            // walking): none kept.
            analyses: Arc::new(self.analyses.dropped()),
            stored: self.stored.clone(),
        }
    }

    /// The regions whose plans' ground holds `road`: those whose box,
    /// grown as a ground grows it, meets the road's.
    pub fn road_reach(&self, road: &Road) -> Vec<RegionCode> {
        let Some(b) = road.geometry.bounding_rect() else {
            return vec![];
        };
        let m = geo_types::coord! { x: GROUND_MARGIN, y: GROUND_MARGIN };
        let grown = geo_types::Rect::new(b.min() - m, b.max() + m);
        self.regions
            .query(Some(grown), &Scope::all(), 0, usize::MAX)
            .items
            .into_iter()
            .map(|r| r.code)
            .collect()
    }

    /// This snapshot with building `id` replaced by `new` (created, or
    /// deleted when `None`).
    #[must_use]
    pub fn with_building(&self, id: i64, new: Option<&Building>) -> Self {
        let mut s = self.successor();
        s.buildings = Arc::new(self.buildings.with_item(id, new.cloned()));
        s
    }

    /// This snapshot with road `id` replaced by `new` (created, or deleted
    /// when `None`); see the module's note for what follows.
    #[must_use]
    pub fn with_road(&self, id: i64, new: Option<&Road>) -> Self {
        let old = self.roads.get(id, &Scope::all());
        let mut touched: Vec<RegionCode> = old
            .into_iter()
            .chain(new)
            .flat_map(|r| self.road_reach(r))
            .collect();
        touched.sort_unstable();
        touched.dedup();
        let versions: Vec<i64> = touched
            .iter()
            .filter_map(|c| self.plans.get(c).map(|p| p.version.id))
            .collect();
        let mut stored = (*self.stored).clone();
        for v in &versions {
            stored.remove(v);
        }
        let mut s = self.successor();
        s.roads = Arc::new(self.roads.with_item(id, new.cloned()));
        s.emergency = Arc::new(super::emergency_index(
            self.regions.items(),
            self.people.items(),
            s.roads.items(),
        ));
        s.evaluations = Arc::new(self.evaluations.without(&touched, &versions));
        s.stored = Arc::new(stored);
        s
    }
}

impl SnapshotCell {
    /// Puts building `id` as `new` into the current snapshot (against
    /// concurrent swaps) and returns the snapshot that holds it.
    pub fn put_building(&self, id: i64, new: Option<&Building>) -> Arc<Snapshot> {
        drop(self.0.rcu(|s| Arc::new(s.with_building(id, new))));
        self.load()
    }

    /// Puts road `id` as `new` into the current snapshot.
    pub fn put_road(&self, id: i64, new: Option<&Road>) -> Arc<Snapshot> {
        drop(self.0.rcu(|s| Arc::new(s.with_road(id, new))));
        self.load()
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::domain::{Dataset, Record};
    use geo_types::line_string;

    #[test]
    fn a_road_written_reaches_the_walking_network_and_a_building_only_its_layer() {
        let mut d = Dataset::default();
        for r in crate::store::suite::sample() {
            match r {
                Record::Region(x) => d.regions.push(x),
                Record::Road(x) => d.roads.push(x),
                Record::Building(x) => d.buildings.push(x),
                _ => {}
            }
        }
        let s = Snapshot::build(d);
        let road = s.roads.items()[0].clone();
        assert_eq!(s.road_reach(&road), vec!["610902001001".parse().unwrap()]);
        let mut far = road.clone();
        far.id = 100;
        far.geometry = line_string![(x: 120.0, y: 30.0), (x: 120.01, y: 30.0)];
        assert!(s.road_reach(&far).is_empty());
        // The walking network behind nearest-by-road holds the new road:
        // a point on it snaps to it at once, and no longer once deleted.
        let on = geo_types::coord! { x: 120.005, y: 30.0 };
        let off = |s: &Snapshot| {
            s.emergency
                .walking()
                .and_then(|w| w.snap_point(on))
                .map_or(f64::INFINITY, |p| p.off)
        };
        assert!(off(&s) > 1000.0, "{}", off(&s));
        let t = s.with_road(far.id, Some(&far));
        assert_eq!(t.roads.len(), 2);
        assert!(t.generation > s.generation);
        assert!(Arc::ptr_eq(&s.buildings, &t.buildings));
        assert!(off(&t) < 1.0, "{}", off(&t));
        let u = t.with_road(far.id, None);
        assert_eq!(u.roads.len(), 1);
        assert!(off(&u) > 1000.0, "{}", off(&u));
        // A building: its layer only; plan evaluations and the emergency
        // index are shared (stored plans are evaluated without buildings).
        let b = s.buildings.items()[0].clone();
        let v = s.with_building(b.id, None);
        assert!(v.buildings.is_empty() && Arc::ptr_eq(&s.roads, &v.roads));
        assert!(Arc::ptr_eq(&s.emergency, &v.emergency));
        assert!(Arc::ptr_eq(&s.evaluations, &v.evaluations));
    }
}
