//! The immutable in-memory snapshot every request reads.
//!
//! Built from the store (the system of record) after each write and swapped
//! in atomically ([`SnapshotCell`]); requests hold an `Arc` to the snapshot
//! they started with, so they never see half an update and never take a
//! lock. Every query takes the caller's [`Scope`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;
use geo::BoundingRect;
use geo_types::Rect;
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, AABB};
use serde::Serialize;

use crate::access::Scope;
use crate::domain::{
    Atom, Building, Household, ImportedGrid, Person, Plan, Region, RegionCode, Road, Water,
};
use crate::domain::{Dataset, Layer, Record};

mod analyses;
mod basemap;
mod derived;
pub mod follow;
#[cfg(test)]
mod follows;
mod ledger;
mod shards;
mod stored;
pub use analyses::{Analyses, Edit};
pub use derived::{Evaluated, GridsInForce};
pub use shards::{Copied, ShardedIndex};

/// Something a layer holds: an id, a bounding box and maybe a region.
pub trait LayerItem {
    fn item_id(&self) -> i64;
    fn bbox(&self) -> Option<Rect<f64>>;
    /// The region the item belongs to; `None` for basemap features and
    /// for households or people in no known region.
    fn item_region(&self) -> Option<RegionCode>;
    /// Basemap features (roads, buildings, water) carry nothing personal
    /// and belong to no region: every caller sees them.
    fn basemap(&self) -> bool {
        false
    }
    fn to_record(&self) -> Record;
}

macro_rules! layer_item {
    ($t:ty, $variant:ident, |$s:ident| id: $id:expr, geom: $g:expr, basemap) => {
        layer_item!($t, $variant, |$s| id: $id, geom: $g, region: None, basemap: true);
    };
    ($t:ty, $variant:ident, |$s:ident| id: $id:expr, geom: $g:expr, region: $r:expr) => {
        layer_item!($t, $variant, |$s| id: $id, geom: $g, region: $r, basemap: false);
    };
    ($t:ty, $variant:ident, |$s:ident| id: $id:expr, geom: $g:expr, region: $r:expr, basemap: $b:expr) => {
        impl LayerItem for $t {
            fn basemap(&self) -> bool {
                $b
            }
            fn item_id(&self) -> i64 {
                let $s = self;
                $id
            }
            fn bbox(&self) -> Option<Rect<f64>> {
                let $s = self;
                $g.bounding_rect().into()
            }
            #[allow(unused_variables)]
            fn item_region(&self) -> Option<RegionCode> {
                let $s = self;
                $r
            }
            fn to_record(&self) -> Record {
                Record::$variant(self.clone())
            }
        }
    };
}

layer_item!(Region, Region, |s| id: s.code.as_u64() as i64, geom: s.boundary, region: Some(s.code));
layer_item!(Atom, Atom, |s| id: s.feature_id(), geom: s.geometry, region: Some(s.region));
layer_item!(Household, Household, |s| id: s.id, geom: s.location, region: s.region);
layer_item!(Person, Person, |s| id: s.id, geom: s.home, region: s.region);
layer_item!(Road, Road, |s| id: s.id, geom: s.geometry, basemap);
layer_item!(Building, Building, |s| id: s.id, geom: s.geometry, basemap);
layer_item!(Water, Water, |s| id: s.id, geom: s.geometry, basemap);
layer_item!(ImportedGrid, Grid, |s| id: s.id, geom: s.geometry, region: Some(s.region));

/// The id a record has in its layer (regions: their code as a number).
pub fn record_id(r: &Record) -> i64 {
    match r {
        Record::Region(x) => x.item_id(),
        Record::Atom(x) => x.item_id(),
        Record::Household(x) => x.item_id(),
        Record::Person(x) => x.item_id(),
        Record::Road(x) => x.item_id(),
        Record::Building(x) => x.item_id(),
        Record::Water(x) => x.item_id(),
        Record::Grid(x) => x.item_id(),
    }
}

type Entry = GeomWithData<Rectangle<[f64; 2]>, u32>;

/// One layer: items sorted by id, and an R-tree over their bounding boxes.
#[derive(Debug)]
pub struct LayerIndex<T> {
    items: Vec<T>,
    tree: RTree<Entry>,
}

impl<T: LayerItem> LayerIndex<T> {
    /// Sorts by id and bulk-loads the R-tree: O(n log n).
    fn new(mut items: Vec<T>) -> Self {
        items.sort_by_key(LayerItem::item_id);
        let entries = items
            .iter()
            .enumerate()
            .filter_map(|(i, it)| {
                let r = it.bbox()?;
                Some(Entry::new(
                    Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]),
                    i as u32,
                ))
            })
            .collect();
        Self {
            items,
            tree: RTree::bulk_load(entries),
        }
    }

    pub fn items(&self) -> &[T] {
        &self.items
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The item with this id, when in scope.
    pub fn get(&self, id: i64, scope: &Scope) -> Option<&T> {
        let i = self
            .items
            .binary_search_by_key(&id, LayerItem::item_id)
            .ok()?;
        let it = &self.items[i];
        in_scope(it, scope).then_some(it)
    }

    /// Items in scope whose bounding box meets `bbox` (all when `None`),
    /// in id order, paged.
    pub fn query(
        &self,
        bbox: Option<Rect<f64>>,
        scope: &Scope,
        offset: usize,
        limit: usize,
    ) -> Page<&T> {
        let mut idx: Vec<u32> = match bbox {
            Some(r) => self
                .tree
                .locate_in_envelope_intersecting(&AABB::from_corners(
                    [r.min().x, r.min().y],
                    [r.max().x, r.max().y],
                ))
                .map(|e| e.data)
                .collect(),
            None => (0..self.items.len() as u32).collect(),
        };
        idx.retain(|&i| in_scope(&self.items[i as usize], scope));
        if bbox.is_some() {
            idx.sort_unstable();
        }
        let matched = idx.len();
        let items = idx
            .iter()
            .skip(offset)
            .take(limit)
            .map(|&i| &self.items[i as usize])
            .collect();
        Page {
            matched,
            offset,
            items,
        }
    }

    /// The bounding box of the items `scope` sees, `None` when it sees
    /// none: OGC collections advertise it so clients can zoom to the data
    /// without revealing where out-of-scope records lie.
    pub fn extent(&self, scope: &Scope) -> Option<Rect<f64>> {
        let sees_all = scope.is_all() || self.items.first().is_some_and(LayerItem::basemap);
        if sees_all {
            if self.tree.size() == 0 {
                return None;
            }
            let e = self.tree.root().envelope();
            return Some(Rect::new(
                (e.lower()[0], e.lower()[1]),
                (e.upper()[0], e.upper()[1]),
            ));
        }
        self.items
            .iter()
            .filter(|it| in_scope(*it, scope))
            .filter_map(LayerItem::bbox)
            .reduce(crate::spatial::cover)
    }
}

fn in_scope<T: LayerItem>(it: &T, scope: &Scope) -> bool {
    // A household in no known region is seen only by callers who see all.
    it.basemap() || scope.contains_opt(it.item_region())
}

/// A page of a query's answer.
#[derive(Debug)]
pub struct Page<T> {
    /// Items matching the query in all pages.
    pub matched: usize,
    pub offset: usize,
    pub items: Vec<T>,
}

/// Figures of one region, its descendants included.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct RegionCounts {
    pub households: u64,
    pub people: u64,
    pub atoms: u64,
    pub grids: u64,
}

/// The snapshot.
#[derive(Debug)]
pub struct Snapshot {
    /// Increases with every rebuild; part of ETags.
    pub generation: u64,
    /// The generation of the last full build: unchanged by a saved plan,
    /// so what depends on the ground alone stays cached across edits.
    pub ground: u64,
    // Layers are shared between snapshots: a saved plan makes a new
    // snapshot without copying a household.
    pub regions: Arc<LayerIndex<Region>>,
    pub atoms: Arc<LayerIndex<Atom>>,
    /// Households and people change one at a time: cut by region.
    pub households: Arc<ShardedIndex<Household>>,
    pub people: Arc<ShardedIndex<Person>>,
    pub roads: Arc<LayerIndex<Road>>,
    pub buildings: Arc<LayerIndex<Building>>,
    pub water: Arc<LayerIndex<Water>>,
    pub grids: Arc<LayerIndex<ImportedGrid>>,
    pub plans: HashMap<RegionCode, Arc<Plan>>,
    /// Volunteers and the walking network, for emergency answers.
    pub emergency: Arc<crate::emergency::EmergencyIndex>,
    counts: Arc<HashMap<RegionCode, RegionCounts>>,
    /// Atoms no newest plan uses (cut by a split), kept so that older
    /// versions can still be shown, diffed and restored. `atoms` holds
    /// the others: what maps and figures show.
    retired: Arc<HashMap<RegionCode, Vec<Atom>>>,
    /// Plans evaluated over this snapshot's ground ([`Self::evaluated`]),
    /// shared with the snapshots a saved plan makes from it.
    evaluations: Arc<derived::Evaluations>,
    /// Coverage analyses kept and followed write by write
    /// ([`Self::analyses`]).
    analyses: Arc<Analyses>,
    /// Grid shapes the store kept for the plans in force at load
    /// ([`Self::from_store`]), drawn before any plan is evaluated.
    stored: stored::Stored,
}

static GENERATION: AtomicU64 = AtomicU64::new(1);

impl Snapshot {
    /// Builds the indexes. O(n log n) in the number of features.
    pub fn build(data: Dataset) -> Self {
        let mut counts: HashMap<RegionCode, RegionCounts> = HashMap::new();
        for h in &data.households {
            if let Some(r) = h.region {
                counts.entry(r).or_default().households += 1;
            }
        }
        for p in &data.people {
            if let Some(r) = p.region {
                counts.entry(r).or_default().people += 1;
            }
        }
        for a in &data.atoms {
            counts.entry(a.region).or_default().atoms += 1;
        }
        for g in &data.grids {
            counts.entry(g.region).or_default().grids += 1;
        }
        // Roll the direct figures up to every ancestor: a street's figures
        // include its communities'.
        let parents = crate::domain::region::parents(&data.regions);
        let direct: Vec<(RegionCode, RegionCounts)> =
            counts.iter().map(|(k, v)| (*k, *v)).collect();
        for (code, c) in direct {
            let mut at = code;
            let mut hops = 0;
            while let Some(&p) = parents.get(&at) {
                if p == code || hops > 8 {
                    break; // a cycle in bad data
                }
                let e = counts.entry(p).or_default();
                e.households += c.households;
                e.people += c.people;
                e.atoms += c.atoms;
                e.grids += c.grids;
                at = p;
                hops += 1;
            }
        }
        let plans: HashMap<RegionCode, Arc<Plan>> = data
            .plans
            .into_iter()
            .map(|p| (p.version.region, Arc::new(p)))
            .collect();
        let (atoms, retired) = sort_atoms(&plans, data.atoms);
        let people = ShardedIndex::new(data.people);
        let emergency = emergency_index(&data.regions, people.items(), &data.roads);
        let generation = GENERATION.fetch_add(1, Ordering::Relaxed);
        Self {
            generation,
            ground: generation,
            emergency: Arc::new(emergency),
            regions: Arc::new(LayerIndex::new(data.regions)),
            atoms: Arc::new(LayerIndex::new(atoms)),
            retired: Arc::new(retired),
            households: Arc::new(ShardedIndex::new(data.households)),
            people: Arc::new(people),
            roads: Arc::new(LayerIndex::new(data.roads)),
            buildings: Arc::new(LayerIndex::new(data.buildings)),
            water: Arc::new(LayerIndex::new(data.water)),
            grids: Arc::new(LayerIndex::new(data.grids)),
            plans,
            counts: Arc::new(counts),
            evaluations: Arc::default(),
            analyses: Arc::default(),
            stored: Arc::default(),
        }
    }

    /// What leaf region `code`'s plans are made from: its boundary, the
    /// roads and water near it, its households (in layer order, the order
    /// a plan's atoms place them in).
    pub fn ground(&self, code: RegionCode) -> Option<crate::partition::plan::Ground<'_>> {
        let mut g = crate::partition::plan::grounds(
            self.regions.items(),
            self.roads.items(),
            self.water.items(),
            self.households.in_region(code),
            Some(code),
        )
        .into_iter()
        .find(|g| g.region.code == code)?;
        // The buildings a plan made afresh keeps land without homes whole by.
        if let Some(r) = g.region.boundary.bounding_rect() {
            g.buildings = self
                .buildings
                .query(Some(r), &Scope::all(), 0, usize::MAX)
                .items;
        }
        Some(g)
    }

    /// The atoms `plan` labels, in its order, from the shown and the
    /// retired ones of its region; `None` when one is gone (a plan generated
    /// afresh since cut the region again).
    pub fn plan_atoms(&self, plan: &Plan) -> Option<Vec<Atom>> {
        let region = plan.version.region;
        let mut by_id: HashMap<crate::domain::AtomId, &Atom> = self
            .atoms
            .items()
            .iter()
            .filter(|a| a.region == region)
            .map(|a| (a.id, a))
            .collect();
        for a in self.retired.get(&region).into_iter().flatten() {
            by_id.entry(a.id).or_insert(a);
        }
        plan.atoms
            .iter()
            .map(|id| by_id.get(id).map(|a| (*a).clone()))
            .collect()
    }

    /// This snapshot with `plan` as its region's newest plan and `added`
    /// among its atoms: a new generation sharing every layer the plan does
    /// not change (the atoms are indexed again only when the plan's atoms
    /// differ from those shown, after a split or its undo).
    #[must_use]
    pub fn with_plan(&self, plan: Plan, added: Vec<Atom>) -> Self {
        let region = plan.version.region;
        let same = added.is_empty()
            && self
                .plans
                .get(&region)
                .is_some_and(|p| p.atoms == plan.atoms);
        let (atoms, retired) = if same {
            (self.atoms.clone(), self.retired.clone())
        } else {
            let mut pool: Vec<Atom> = self.atoms.items().to_vec();
            pool.extend(self.retired.get(&region).into_iter().flatten().cloned());
            pool.extend(added);
            let mut plans = self.plans.clone();
            plans.insert(region, Arc::new(plan.clone()));
            let (shown, mut gone) = sort_atoms(&plans, pool);
            for (code, list) in self.retired.iter() {
                if *code != region {
                    gone.insert(*code, list.clone());
                }
            }
            (Arc::new(LayerIndex::new(shown)), Arc::new(gone))
        };
        let mut plans = self.plans.clone();
        plans.insert(region, Arc::new(plan));
        Self {
            generation: GENERATION.fetch_add(1, Ordering::Relaxed),
            ground: self.ground,
            regions: self.regions.clone(),
            atoms,
            retired,
            households: self.households.clone(),
            people: self.people.clone(),
            roads: self.roads.clone(),
            buildings: self.buildings.clone(),
            water: self.water.clone(),
            grids: self.grids.clone(),
            plans,
            emergency: self.emergency.clone(),
            counts: self.counts.clone(),
            evaluations: self.evaluations.clone(),
            // Its grids changed: what coverage reads of the region.
            analyses: Arc::new(self.analyses.dropped()),
            stored: self.stored.clone(),
        }
    }

    /// Coverage analyses kept with this snapshot (see
    /// [`crate::coverage::region::analyse`]).
    pub fn analyses(&self) -> &Analyses {
        &self.analyses
    }

    pub fn empty() -> Self {
        Self::build(Dataset::default())
    }

    /// Regions in scope, by code.
    pub fn regions(&self, scope: &Scope) -> impl Iterator<Item = &Region> {
        let scope = scope.clone();
        self.regions
            .items()
            .iter()
            .filter(move |r| scope.contains(r.code))
    }

    /// A region in scope; out-of-scope regions are indistinguishable from
    /// missing ones.
    pub fn region(&self, code: RegionCode, scope: &Scope) -> Option<&Region> {
        self.regions.get(code.as_u64() as i64, scope)
    }

    pub fn region_counts(&self, code: RegionCode) -> RegionCounts {
        self.counts.get(&code).copied().unwrap_or_default()
    }

    /// Features of any layer as records (cloned: pages are small), paged.
    fn layer_page_raw(
        &self,
        layer: Layer,
        bbox: Option<Rect<f64>>,
        scope: &Scope,
        offset: usize,
        limit: usize,
    ) -> Page<Record> {
        fn conv<T: LayerItem>(p: Page<&T>) -> Page<Record> {
            Page {
                matched: p.matched,
                offset: p.offset,
                items: p.items.into_iter().map(LayerItem::to_record).collect(),
            }
        }
        match layer {
            Layer::Regions => conv(self.regions.query(bbox, scope, offset, limit)),
            Layer::Atoms => conv(self.atoms.query(bbox, scope, offset, limit)),
            Layer::Households => conv(self.households.query(bbox, scope, offset, limit)),
            Layer::People => conv(self.people.query(bbox, scope, offset, limit)),
            Layer::Roads => conv(self.roads.query(bbox, scope, offset, limit)),
            Layer::Buildings => conv(self.buildings.query(bbox, scope, offset, limit)),
            Layer::Water => conv(self.water.query(bbox, scope, offset, limit)),
            Layer::Grids => conv(self.grids.query(bbox, scope, offset, limit)),
        }
    }

    /// The extent of a layer as `scope` sees it (see [`LayerIndex::extent`]).
    pub fn layer_extent(&self, layer: Layer, scope: &Scope) -> Option<Rect<f64>> {
        match layer {
            Layer::Regions => self.regions.extent(scope),
            Layer::Atoms => self.atoms.extent(scope),
            Layer::Households => self.households.extent(scope),
            Layer::People => self.people.extent(scope),
            Layer::Roads => self.roads.extent(scope),
            Layer::Buildings => self.buildings.extent(scope),
            Layer::Water => self.water.extent(scope),
            Layer::Grids => self.grids.extent(scope),
        }
    }

    /// One feature of a layer by id, when in scope.
    fn layer_item_raw(&self, layer: Layer, id: i64, scope: &Scope) -> Option<Record> {
        match layer {
            Layer::Regions => self.regions.get(id, scope).map(LayerItem::to_record),
            Layer::Atoms => self.atoms.get(id, scope).map(LayerItem::to_record),
            Layer::Households => self.households.get(id, scope).map(LayerItem::to_record),
            Layer::People => self.people.get(id, scope).map(LayerItem::to_record),
            Layer::Roads => self.roads.get(id, scope).map(LayerItem::to_record),
            Layer::Buildings => self.buildings.get(id, scope).map(LayerItem::to_record),
            Layer::Water => self.water.get(id, scope).map(LayerItem::to_record),
            Layer::Grids => self.grids.get(id, scope).map(LayerItem::to_record),
        }
    }
}

impl Snapshot {
    /// A page of any layer as `caller` may see it: their scope only, and
    /// personal fields projected for their role before they leave the core.
    /// A role that sees counts only gets no household or person (an empty
    /// page; the API refuses such requests before they get here).
    pub fn layer_page(
        &self,
        layer: Layer,
        bbox: Option<Rect<f64>>,
        caller: &crate::access::Caller,
        offset: usize,
        limit: usize,
    ) -> Page<Record> {
        if !crate::access::projection::may_list(caller.role, layer) {
            return Page {
                matched: 0,
                offset,
                items: Vec::new(),
            };
        }
        let p = self.layer_page_raw(layer, bbox, &caller.scope, offset, limit);
        Page {
            matched: p.matched,
            offset: p.offset,
            items: p
                .items
                .into_iter()
                .map(|r| crate::access::projection::project_record(r, caller.role))
                .collect(),
        }
    }

    /// One feature as `caller` may see it; `None` when missing or out of scope.
    pub fn layer_item(
        &self,
        layer: Layer,
        id: i64,
        caller: &crate::access::Caller,
    ) -> Option<Record> {
        if !crate::access::projection::may_list(caller.role, layer) {
            return None;
        }
        self.layer_item_raw(layer, id, &caller.scope)
            .map(|r| crate::access::projection::project_record(r, caller.role))
    }
}

impl crate::emergency::Layers for Snapshot {
    fn index(&self) -> &crate::emergency::EmergencyIndex {
        &self.emergency
    }
    fn people(&self) -> &[Person] {
        self.people.items()
    }
    fn households_in(&self, bbox: Rect<f64>, scope: &Scope) -> Vec<&Household> {
        self.households
            .query(Some(bbox), scope, 0, usize::MAX)
            .items
    }
    fn grids_in(&self, bbox: Option<Rect<f64>>, scope: &Scope) -> Vec<&ImportedGrid> {
        self.grids.query(bbox, scope, 0, usize::MAX).items
    }
}

/// Volunteers and the walking network over `roads`, in a projection
/// centred on the regions and people: O(people + roads), what a change of
/// either costs.
fn emergency_index(
    regions: &[Region],
    people: &[Person],
    roads: &[Road],
) -> crate::emergency::EmergencyIndex {
    let extent = regions
        .iter()
        .filter_map(|r| r.boundary.bounding_rect())
        .chain(people.iter().map(|p| Rect::new(p.home.0, p.home.0)))
        .reduce(crate::spatial::cover);
    crate::emergency::EmergencyIndex::build(people, roads, extent)
}

/// Atoms the newest plan of their region uses (all of a region without
/// a plan), and the others by region.
fn sort_atoms(
    plans: &HashMap<RegionCode, Arc<Plan>>,
    atoms: Vec<Atom>,
) -> (Vec<Atom>, HashMap<RegionCode, Vec<Atom>>) {
    let used: HashMap<RegionCode, std::collections::HashSet<crate::domain::AtomId>> = plans
        .iter()
        .map(|(c, p)| (*c, p.atoms.iter().copied().collect()))
        .collect();
    let mut shown = Vec::with_capacity(atoms.len());
    let mut gone: HashMap<RegionCode, Vec<Atom>> = HashMap::new();
    for a in atoms {
        match used.get(&a.region) {
            Some(ids) if !ids.contains(&a.id) => gone.entry(a.region).or_default().push(a),
            _ => shown.push(a),
        }
    }
    (shown, gone)
}

/// Holds the current snapshot; readers load it without locks, a writer
/// swaps in a new one after the store has committed.
#[derive(Debug)]
pub struct SnapshotCell(ArcSwap<Snapshot>);

impl SnapshotCell {
    pub fn new(s: Snapshot) -> Self {
        Self(ArcSwap::from_pointee(s))
    }

    /// The current snapshot; cheap (an atomic load and a reference count).
    pub fn load(&self) -> Arc<Snapshot> {
        self.0.load_full()
    }

    pub fn swap(&self, s: Snapshot) {
        self.0.store(Arc::new(s));
    }

    /// Makes `plan` its region's newest in the current snapshot, against
    /// concurrent swaps (two saves never lose one another), and returns the
    /// snapshot that holds it.
    pub fn put_plan(&self, plan: &Plan, added: &[Atom]) -> Arc<Snapshot> {
        let old = self.0.rcu(|s| {
            // A newer version already there (a later save won): keep it.
            match s.plans.get(&plan.version.region) {
                Some(p) if p.version.number > plan.version.number => Arc::clone(s),
                _ => Arc::new(s.with_plan(plan.clone(), added.to_vec())),
            }
        });
        drop(old);
        self.load()
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::domain::{CareLevel, SensitiveFlags};
    use geo_types::{point, polygon, MultiPolygon};

    fn hh(id: i64, x: f64, y: f64, region: &str) -> Household {
        Household {
            id,
            location: point!(x: x, y: y),
            size: 3,
            care: CareLevel::REASSURED,
            flags: SensitiveFlags::default(),
            building: None,
            address: String::new(),
            head_name: String::new(),
            phone: String::new(),
            region: Some(region.parse().unwrap()),
            estimated: false,
        }
    }

    fn data() -> Dataset {
        let sq = |x0: f64| {
            MultiPolygon(vec![
                polygon![(x: x0, y: 0.0), (x: x0 + 1.0, y: 0.0), (x: x0 + 1.0, y: 1.0), (x: x0, y: 1.0)],
            ])
        };
        Dataset {
            regions: vec![
                Region {
                    code: "610902001".parse().unwrap(),
                    name: "甲街道".into(),
                    parent: None,
                    boundary: sq(0.0),
                },
                Region {
                    code: "610902002".parse().unwrap(),
                    name: "乙街道".into(),
                    parent: None,
                    boundary: sq(1.0),
                },
            ],
            households: (1..=10)
                .map(|i| hh(i, 0.05 * i as f64, 0.5, "610902001"))
                .chain((11..=15).map(|i| hh(i, 1.5, 0.5, "610902002")))
                .collect(),
            ..Dataset::default()
        }
    }

    #[test]
    fn bbox_scope_and_paging_compose() {
        let s = Snapshot::build(data());
        let all = Scope::all();
        let p = s.households.query(None, &all, 0, 4);
        assert_eq!((p.matched, p.items.len()), (15, 4));
        assert_eq!(p.items[0].id, 1);
        let bbox = Rect::new((0.0, 0.0), (0.26, 1.0));
        let p = s.households.query(Some(bbox), &all, 2, 10);
        assert_eq!(p.matched, 5);
        assert_eq!(
            p.items.iter().map(|h| h.id).collect::<Vec<_>>(),
            vec![3, 4, 5]
        );
        let street2 = Scope::prefixes(["610902002"]);
        let p = s.households.query(None, &street2, 0, 100);
        assert_eq!(p.matched, 5);
        assert!(s.households.get(1, &street2).is_none());
        assert!(s.region("610902001".parse().unwrap(), &street2).is_none());
        assert_eq!(s.region_counts("610902001".parse().unwrap()).households, 10);
    }

    #[test]
    fn readers_keep_their_snapshot_across_a_swap() {
        let cell = SnapshotCell::new(Snapshot::empty());
        let before = cell.load();
        cell.swap(Snapshot::build(data()));
        assert_eq!(before.households.len(), 0);
        assert_eq!(cell.load().households.len(), 15);
        assert!(cell.load().generation > before.generation);
    }
}
