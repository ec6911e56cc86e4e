//! A layer cut by region, copied on write one region at a time.
//!
//! Households and people change one record at a time (issue 20's ledger).
//! A flat [`LayerIndex`] would be copied whole on every write (349,028
//! households: the items and their R-tree); here each region (a leaf,
//! where households and people live, plus one shard for those in no known
//! region) keeps its own index behind an `Arc`, and a small id directory
//! (chunks of [`CHUNK`] ids) says which shard holds an id. A write copies
//! one shard, one directory chunk and the two maps of `Arc`s; every other
//! shard is shared with the snapshot before.
//!
//! Readers see the same answers as from one flat index: `get` by id,
//! `query` in id order (paging needs one global order), `extent`, and
//! [`ShardedIndex::iter`] in id order.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, OnceLock};

use geo_types::Rect;
use rstar::primitives::Rectangle;

use super::{Entry, LayerIndex, LayerItem, Page};
use crate::access::Scope;
use crate::domain::RegionCode;

/// Ids per directory chunk: a write copies one chunk of this many entries.
const CHUNK: i64 = 1024;

/// The shard an item lives in: its region (`None`: no known region).
type Key = Option<RegionCode>;

/// One layer as shards by region with an id directory.
#[derive(Debug)]
pub struct ShardedIndex<T> {
    shards: BTreeMap<Key, Arc<LayerIndex<T>>>,
    /// Id → shard, in chunks of [`CHUNK`] ids sorted by id.
    dir: BTreeMap<i64, Arc<Vec<(i64, Key)>>>,
    len: usize,
    /// All items in id order, made on first demand by [`Self::items`]
    /// (command-line paths and the emergency index need one slice).
    flat: OnceLock<Vec<T>>,
}

impl<T: LayerItem> ShardedIndex<T> {
    /// Groups by region and indexes each shard: O(n log n).
    pub(super) fn new(items: Vec<T>) -> Self {
        let mut by: BTreeMap<Key, Vec<T>> = BTreeMap::new();
        let mut ids: Vec<(i64, Key)> = Vec::with_capacity(items.len());
        for it in items {
            ids.push((it.item_id(), it.item_region()));
            by.entry(it.item_region()).or_default().push(it);
        }
        ids.sort_unstable_by_key(|e| e.0);
        let mut dir: BTreeMap<i64, Vec<(i64, Key)>> = BTreeMap::new();
        for e in &ids {
            dir.entry(e.0.div_euclid(CHUNK)).or_default().push(*e);
        }
        Self {
            len: ids.len(),
            shards: by
                .into_iter()
                .map(|(k, v)| (k, Arc::new(LayerIndex::new(v))))
                .collect(),
            dir: dir.into_iter().map(|(k, v)| (k, Arc::new(v))).collect(),
            flat: OnceLock::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The shard `id` lives in, when it exists.
    fn key_of(&self, id: i64) -> Option<Key> {
        let chunk = self.dir.get(&id.div_euclid(CHUNK))?;
        let i = chunk.binary_search_by_key(&id, |e| e.0).ok()?;
        Some(chunk[i].1)
    }

    /// The item with this id, when in scope.
    pub fn get(&self, id: i64, scope: &Scope) -> Option<&T> {
        self.shards.get(&self.key_of(id)?)?.get(id, scope)
    }

    /// The items of one region, in id order (empty when it has none).
    pub fn in_region(&self, code: RegionCode) -> &[T] {
        self.shards.get(&Some(code)).map_or(&[][..], |s| s.items())
    }

    /// The shards as they are shared: a shard equal by pointer in two
    /// snapshots holds the same items.
    pub(crate) fn shards(&self) -> impl Iterator<Item = (&Key, &Arc<LayerIndex<T>>)> {
        self.shards.iter()
    }

    /// Items whose region passes `keep`, in id order.
    pub fn iter_where<'a>(
        &'a self,
        keep: impl Fn(Key) -> bool + 'a,
    ) -> impl Iterator<Item = &'a T> + 'a {
        // Each shard is in id order, so the next item of the global order
        // is the next of its shard: one cursor per shard.
        let mut cursors: HashMap<Key, (&'a [T], usize, bool)> = self
            .shards
            .iter()
            .map(|(k, s)| (*k, (s.items(), 0, keep(*k))))
            .collect();
        self.dir
            .values()
            .flat_map(|c| c.iter())
            .filter_map(move |(_, k)| {
                let c = cursors.get_mut(k)?;
                let it = c.0.get(c.1)?;
                c.1 += 1;
                c.2.then_some(it)
            })
    }

    /// All items in id order.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.iter_where(|_| true)
    }

    /// Items in scope whose bounding box meets `bbox` (all when `None`),
    /// in id order, paged: what one flat index answered.
    pub fn query(
        &self,
        bbox: Option<Rect<f64>>,
        scope: &Scope,
        offset: usize,
        limit: usize,
    ) -> Page<&T> {
        let seen = |k: &Key| scope.contains_opt(*k);
        let Some(r) = bbox else {
            // Paging by id: the directory knows every id's region, so
            // only the page's items are looked up.
            let ids = self
                .dir
                .values()
                .flat_map(|c| c.iter())
                .filter(|(_, k)| seen(k));
            let mut matched = 0;
            let mut items = Vec::new();
            for (id, k) in ids {
                if matched >= offset && items.len() < limit {
                    if let Some(it) = self.shards.get(k).and_then(|s| s.get(*id, scope)) {
                        items.push(it);
                    }
                }
                matched += 1;
            }
            return Page {
                matched,
                offset,
                items,
            };
        };
        let mut found: Vec<&T> = self
            .shards
            .iter()
            .filter(|(k, _)| seen(k))
            .flat_map(|(_, s)| s.query(Some(r), scope, 0, usize::MAX).items)
            .collect();
        found.sort_unstable_by_key(|it| it.item_id());
        let matched = found.len();
        Page {
            matched,
            offset,
            items: found.into_iter().skip(offset).take(limit).collect(),
        }
    }

    /// The bounding box of the items `scope` sees (see [`LayerIndex::extent`]).
    pub fn extent(&self, scope: &Scope) -> Option<Rect<f64>> {
        self.shards
            .iter()
            .filter(|(k, _)| scope.contains_opt(**k))
            .filter_map(|(_, s)| s.extent(&Scope::all()))
            .reduce(crate::spatial::cover)
    }
}

impl<T: LayerItem + Clone> ShardedIndex<T> {
    /// All items in id order as one slice, made once per snapshot: for
    /// the paths that need positions (the emergency index, whole-city
    /// command-line analyses). Request paths over households use
    /// [`Self::iter`], [`Self::in_region`] or [`Self::query`] instead, so
    /// a write is not followed by a copy of the city.
    pub fn items(&self) -> &[T] {
        self.flat.get_or_init(|| self.iter().cloned().collect())
    }

    /// This index with the item of `id` replaced by `new` (added when
    /// missing, removed when `None`), and what the write copied.
    pub(super) fn with_item(&self, id: i64, new: Option<T>) -> (Self, Copied) {
        let old_key = self.key_of(id);
        let new_key = new.as_ref().map(LayerItem::item_region);
        let mut copied = Copied::default();
        let mut shards = self.shards.clone();
        copied.maps += shards.len() * std::mem::size_of::<(Key, Arc<LayerIndex<T>>)>();
        let mut patch = |key: Key, item: Option<T>| {
            let shard = match shards.get(&key) {
                Some(s) => {
                    copied.add_shard(s);
                    s.with_item(id, item)
                }
                None => LayerIndex::new(item.into_iter().collect()),
            };
            if shard.is_empty() {
                shards.remove(&key);
            } else {
                shards.insert(key, Arc::new(shard));
            }
        };
        match (old_key, new_key) {
            (Some(a), Some(b)) if a == b => patch(b, new),
            (a, b) => {
                if let Some(a) = a {
                    patch(a, None);
                }
                if let Some(b) = b {
                    patch(b, new);
                }
            }
        }
        let mut dir = self.dir.clone();
        copied.maps += dir.len() * std::mem::size_of::<(i64, Arc<Vec<(i64, Key)>>)>();
        let c = id.div_euclid(CHUNK);
        let mut chunk: Vec<(i64, Key)> = dir.get(&c).map(|v| (**v).clone()).unwrap_or_default();
        copied.directory += chunk.len() * std::mem::size_of::<(i64, Key)>();
        let at = chunk.binary_search_by_key(&id, |e| e.0);
        match (at, new_key) {
            (Ok(i), Some(k)) => chunk[i].1 = k,
            (Err(i), Some(k)) => chunk.insert(i, (id, k)),
            (Ok(i), None) => {
                chunk.remove(i);
            }
            (Err(_), None) => {}
        }
        if chunk.is_empty() {
            dir.remove(&c);
        } else {
            dir.insert(c, Arc::new(chunk));
        }
        let len = self.len - usize::from(old_key.is_some()) + usize::from(new_key.is_some());
        let next = Self {
            shards,
            dir,
            len,
            flat: OnceLock::new(),
        };
        (next, copied)
    }
}

impl<T: LayerItem + Clone> ShardedIndex<T> {
    /// This index with many items replaced at once (a bulk upsert; the
    /// last put of an id wins): each shard and directory chunk touched is
    /// made again once, not once per item. A few puts patch one by one.
    pub(super) fn with_items(&self, puts: &[(i64, Option<T>)]) -> Self {
        if puts.len() <= 8 {
            let mut next = self.shared_copy();
            for (id, new) in puts {
                next = next.with_item(*id, new.clone()).0;
            }
            return next;
        }
        let latest: BTreeMap<i64, &Option<T>> = puts.iter().map(|(id, n)| (*id, n)).collect();
        let mut gone: BTreeMap<Key, std::collections::HashSet<i64>> = BTreeMap::new();
        let mut added: BTreeMap<Key, Vec<T>> = BTreeMap::new();
        let mut chunks: BTreeMap<i64, Vec<(i64, Key)>> = BTreeMap::new();
        let mut len = self.len;
        for (&id, new) in &latest {
            if let Some(k) = self.key_of(id) {
                gone.entry(k).or_default().insert(id);
                len -= 1;
            }
            let new_key = new.as_ref().map(LayerItem::item_region);
            if let (Some(k), Some(n)) = (new_key, new) {
                added.entry(k).or_default().push(n.clone());
                len += 1;
            }
            let c = id.div_euclid(CHUNK);
            let chunk = chunks
                .entry(c)
                .or_insert_with(|| self.dir.get(&c).map(|v| (**v).clone()).unwrap_or_default());
            match (chunk.binary_search_by_key(&id, |e| e.0), new_key) {
                (Ok(i), Some(k)) => chunk[i].1 = k,
                (Err(i), Some(k)) => chunk.insert(i, (id, k)),
                (Ok(i), None) => {
                    chunk.remove(i);
                }
                (Err(_), None) => {}
            }
        }
        let mut shards = self.shards.clone();
        let keys: std::collections::BTreeSet<Key> =
            gone.keys().chain(added.keys()).copied().collect();
        for key in keys {
            let drop_ids = gone.remove(&key).unwrap_or_default();
            let mut items: Vec<T> = shards.get(&key).map_or_else(Vec::new, |s| {
                s.items()
                    .iter()
                    .filter(|it| !drop_ids.contains(&it.item_id()))
                    .cloned()
                    .collect()
            });
            items.extend(added.remove(&key).unwrap_or_default());
            items.sort_unstable_by_key(LayerItem::item_id);
            if items.is_empty() {
                shards.remove(&key);
            } else {
                shards.insert(key, Arc::new(LayerIndex::new(items)));
            }
        }
        let mut dir = self.dir.clone();
        for (c, chunk) in chunks {
            if chunk.is_empty() {
                dir.remove(&c);
            } else {
                dir.insert(c, Arc::new(chunk));
            }
        }
        Self {
            shards,
            dir,
            len,
            flat: OnceLock::new(),
        }
    }

    /// A copy sharing every shard (the start of a few patches).
    fn shared_copy(&self) -> Self {
        Self {
            shards: self.shards.clone(),
            dir: self.dir.clone(),
            len: self.len,
            flat: OnceLock::new(),
        }
    }
}

/// Bytes one write copied (shallow sizes: items' own heap strings are
/// cloned too, counted in `item_heap` as far as they are known).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Copied {
    /// Items of the shards patched, `size_of::<T>()` each.
    pub items: usize,
    /// R-tree entries of the shards patched.
    pub tree: usize,
    /// The directory chunk patched.
    pub directory: usize,
    /// The maps of shared `Arc`s (region → shard, chunk → ids).
    pub maps: usize,
}

impl Copied {
    fn add_shard<T>(&mut self, s: &LayerIndex<T>) {
        self.items += s.items.len() * std::mem::size_of::<T>();
        self.tree += s.tree.size() * std::mem::size_of::<Entry>();
    }

    /// Everything copied.
    pub fn total(&self) -> usize {
        self.items + self.tree + self.directory + self.maps
    }
}

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

#[cfg(test)]
mod test {
    use super::*;
    use crate::domain::Household;

    /// One write to the households of the city in `WANGGE_SHARD_STORE`
    /// (a GeoPackage, e.g. the 349,028-household bench city) or of a
    /// generated one: it copies one region's shard and small maps, not
    /// the layer. Prints the figures (`--nocapture`).
    #[test]
    fn one_write_copies_one_region_not_the_city() {
        let households: Vec<Household> = match std::env::var("WANGGE_SHARD_STORE") {
            Ok(path) => {
                let store = crate::store::gpkg::GeoPackage::open(path).unwrap();
                crate::store::Store::load(&store).unwrap().households
            }
            Err(_) => {
                let p = crate::generate::Params {
                    households: 5_000,
                    seed: 4,
                };
                crate::generate::generate(p, &mut |_| {}).households
            }
        };
        let n = households.len();
        let index = ShardedIndex::new(households);
        let largest = index.shards.values().map(|s| s.len()).max().unwrap();
        let flat = n * (std::mem::size_of::<Household>() + std::mem::size_of::<Entry>());
        // A household of the median-sized region, its size changed.
        let mut sizes: Vec<(usize, RegionCode)> = index
            .shards
            .iter()
            .filter_map(|(k, s)| Some((s.len(), (*k)?)))
            .collect();
        sizes.sort_unstable();
        let (_, median) = sizes[sizes.len() / 2];
        let mut h = index.in_region(median)[0].clone();
        h.size += 1;
        let (next, copied) = index.with_item(h.id, Some(h.clone()));
        println!(
            "{n} households in {} shards (largest {largest}, median {}): one write copied \
             {} bytes (items {}, R-tree {}, id directory {}, shared maps {}); the flat layer \
             is {flat} bytes ({:.4} of it)",
            index.shards.len(),
            sizes[sizes.len() / 2].0,
            copied.total(),
            copied.items,
            copied.tree,
            copied.directory,
            copied.maps,
            copied.total() as f64 / flat as f64,
        );
        assert_eq!(next.get(h.id, &Scope::all()), Some(&h));
        let shard = sizes[sizes.len() / 2].0
            * (std::mem::size_of::<Household>() + std::mem::size_of::<Entry>());
        assert_eq!(copied.items + copied.tree, shard, "one shard copied");
        let chunk = CHUNK as usize * std::mem::size_of::<(i64, Key)>();
        assert!(copied.directory <= chunk, "{copied:?}");
        assert!(
            copied.maps <= 64 * (index.shards.len() + index.dir.len()),
            "{copied:?}"
        );
        // The other shards are the same allocations.
        let shared = index
            .shards
            .iter()
            .filter(|(k, s)| next.shards.get(k).is_some_and(|t| Arc::ptr_eq(s, t)))
            .count();
        assert_eq!(shared, index.shards.len() - 1);
    }

    /// A move to another region and a delete: both shards and the
    /// directory follow, and id order and paging stay those of one list.
    #[test]
    fn moves_and_deletes_keep_one_id_order() {
        let p = crate::generate::Params {
            households: 800,
            seed: 9,
        };
        let mut all = crate::generate::generate(p, &mut |_| {}).households;
        let index = ShardedIndex::new(all.clone());
        let (mut a, mut b) = (all[10].clone(), all[500].clone());
        assert_ne!(a.region, b.region);
        a.region = b.region;
        a.location = b.location;
        let (index, _) = index.with_item(a.id, Some(a.clone()));
        let (index, _) = index.with_item(b.id, None);
        b.id = 100_000;
        let (index, _) = index.with_item(b.id, Some(b.clone()));
        all[10] = a;
        all.remove(500);
        all.push(b);
        all.sort_by_key(|h| h.id);
        let got: Vec<&Household> = index.iter().collect();
        assert_eq!(got, all.iter().collect::<Vec<_>>());
        assert_eq!(index.len(), all.len());
        let page = index.query(None, &Scope::all(), 495, 10);
        assert_eq!(page.matched, all.len());
        assert_eq!(page.items, all[495..505].iter().collect::<Vec<_>>());
    }

    /// A bulk upsert (moves, deletes, creates, an id put twice) answers
    /// as a rebuild over the same items does, and leaves untouched
    /// regions' shards shared.
    #[test]
    fn a_bulk_put_equals_a_rebuild() {
        let p = crate::generate::Params {
            households: 900,
            seed: 11,
        };
        let mut all = crate::generate::generate(p, &mut |_| {}).households;
        let index = ShardedIndex::new(all.clone());
        let touched: std::collections::BTreeSet<Key> =
            [3, 4, 5, 6, 700].iter().map(|&i| all[i].region).collect();
        let mut puts: Vec<(i64, Option<Household>)> = vec![];
        let (mut moved, far) = (all[3].clone(), all[700].clone());
        moved.region = far.region;
        moved.location = far.location;
        puts.push((moved.id, Some(moved.clone())));
        puts.push((all[4].id, None));
        for i in 0..20 {
            let mut h = all[5].clone();
            h.id = 200_000 + i;
            puts.push((h.id, Some(h)));
        }
        let mut twice = all[6].clone();
        twice.size = 99;
        puts.push((twice.id, None));
        puts.push((twice.id, Some(twice.clone())));
        let next = index.with_items(&puts);
        all[3] = moved;
        all[6] = twice;
        let gone = all.remove(4).id;
        all.extend(
            puts.iter()
                .filter_map(|(id, h)| (*id >= 200_000).then(|| h.clone().unwrap())),
        );
        all.sort_by_key(|h| h.id);
        assert_eq!(
            next.iter().collect::<Vec<_>>(),
            all.iter().collect::<Vec<_>>()
        );
        assert_eq!(next.len(), all.len());
        assert!(next.get(gone, &Scope::all()).is_none());
        let rebuilt = ShardedIndex::new(all.clone());
        let page = |i: &ShardedIndex<Household>| {
            let bbox = i.extent(&Scope::all());
            i.query(bbox, &Scope::all(), 100, 50)
                .items
                .iter()
                .map(|h| h.id)
                .collect::<Vec<_>>()
        };
        assert_eq!(page(&next), page(&rebuilt));
        let shared = index
            .shards
            .iter()
            .filter(|(k, s)| next.shards.get(k).is_some_and(|t| Arc::ptr_eq(s, t)))
            .count();
        assert!(shared > 0, "untouched shards are shared");
        assert!(
            index.shards.len() - shared <= touched.len(),
            "{shared} shared"
        );
    }
}
