//! Encoded tiles kept between requests, and dropped exactly where a new
//! snapshot differs from the one they were cut from.
//!
//! Each snapshot swap is compared with the one before, layer by layer (ids
//! in order, records by value): the bounding boxes of what changed go to a
//! log with the sources they affect. A cached tile is served while no
//! change logged since it was cut meets its bounds; a changed household,
//! atom or plan also re-evaluates its region's grids. ETags are digests of
//! the tile's bytes, so a tile whose content did not change keeps its ETag
//! even when it had to be cut again.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use geo::BoundingRect;
use geo_types::Rect;
use sha2::{Digest, Sha256};

use super::gaps::{region_gaps, GapFeature};
use super::grids::{region_grids, RegionGrids};
use super::mvt::Frame;
use super::render::Derived;
use super::Source;
use crate::access::projection::Detail;
use crate::access::Scope;
use crate::domain::{Policy, RegionCode};
use crate::snapshot::{LayerIndex, LayerItem, ShardedIndex, Snapshot};

/// Bytes of encoded tiles kept.
const CACHE_BYTES: u64 = 512 << 20;
/// Changes remembered; tiles older than the oldest forgotten one are cut again.
const LOG_LIMIT: usize = 8192;
/// More changed boxes than this in one swap and source become their union.
const BOXES_PER_SWAP: usize = 512;

/// An encoded tile.
#[derive(Debug)]
pub struct Tile {
    /// Gzip of the MVT bytes (empty when the tile has no features).
    pub gzip: bytes::Bytes,
    /// Length of the MVT bytes before compression.
    pub raw_len: usize,
    /// Quoted strong ETag: a digest of the MVT bytes.
    pub etag: String,
    /// Generation of the snapshot it was cut from.
    generation: u64,
}

impl Tile {
    pub fn is_empty(&self) -> bool {
        self.raw_len == 0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    source: Source,
    z: u8,
    x: u32,
    y: u32,
    scope: Arc<str>,
    detail: Detail,
}

impl Key {
    fn new(source: Source, frame: &Frame, scope: &Scope, detail: Detail) -> Self {
        Self {
            source,
            z: frame.z,
            x: frame.x,
            y: frame.y,
            scope: scope_key(scope),
            detail,
        }
    }
}

#[derive(Clone)]
struct TileWeight;

impl quick_cache::Weighter<Key, Arc<Tile>> for TileWeight {
    fn weight(&self, _: &Key, t: &Arc<Tile>) -> u64 {
        t.gzip.len() as u64 + 128
    }
}

#[derive(Debug, Clone, Copy)]
struct Change {
    generation: u64,
    /// Bit `i` set: affects `Source::ALL[i]`.
    sources: u8,
    rect: Rect<f64>,
}

const ALL_SOURCES: u8 = (1 << Source::ALL.len()) - 1;

fn bit(s: Source) -> u8 {
    1 << Source::ALL.iter().position(|x| *x == s).unwrap_or(0)
}

#[derive(Default)]
struct Log {
    snapshot: Option<Arc<Snapshot>>,
    changes: Vec<Change>,
    /// Tiles cut before this generation are not covered by `changes`.
    floor: u64,
    /// Generation of the last change of each region's grids.
    regions: HashMap<RegionCode, u64>,
}

/// Content derived per region, computed once by whoever asks first.
type Cells<T> = Mutex<HashMap<RegionCode, (u64, Arc<OnceLock<Arc<T>>>)>>;

/// Tiles and the region grids they are cut from, shared by all requests.
pub struct TileCache {
    policy: Arc<Policy>,
    tiles: quick_cache::sync::Cache<Key, Arc<Tile>, TileWeight>,
    log: Mutex<Log>,
    seen: AtomicU64,
    /// Per region: the generation its grids (findings) were computed
    /// from, and them.
    grids: Cells<RegionGrids>,
    gaps: Cells<Vec<GapFeature>>,
}

/// What [`TileCache::get`] did, for logs and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fetch {
    Hit,
    Cut,
}

impl TileCache {
    pub fn new(policy: Arc<Policy>) -> Self {
        Self {
            policy,
            tiles: quick_cache::sync::Cache::with_weighter(65_536, CACHE_BYTES, TileWeight),
            log: Mutex::new(Log::default()),
            seen: AtomicU64::new(u64::MAX),
            grids: Mutex::new(HashMap::new()),
            gaps: Mutex::new(HashMap::new()),
        }
    }

    /// A tile as `scope` may see it with every household one by one (see
    /// [`Self::get_for`]).
    pub fn get(
        &self,
        s: &Arc<Snapshot>,
        source: Source,
        frame: Frame,
        scope: &Scope,
    ) -> (Arc<Tile>, Fetch) {
        self.get_for(s, source, frame, scope, Detail::Individuals)
    }

    /// A tile as a caller with `scope`, who sees households and people at
    /// `detail`, may see it, from the cache when nothing under it changed
    /// since it was cut. Blocking: run it off the async threads.
    pub fn get_for(
        &self,
        s: &Arc<Snapshot>,
        source: Source,
        frame: Frame,
        scope: &Scope,
        detail: Detail,
    ) -> (Arc<Tile>, Fetch) {
        self.sync(s);
        let key = Key::new(source, &frame, scope, detail);
        if let Some(t) = self.tiles.get(&key) {
            if self.fresh(&t, source, &frame, detail) {
                return (t, Fetch::Hit);
            }
        }
        let raw = super::mvt::encode(self.layers(s, source, &frame, scope, detail));
        let tile = Arc::new(pack(&raw, s.generation));
        self.tiles.insert(key, tile.clone());
        (tile, Fetch::Cut)
    }

    /// The layers of a tile, cut now (never cached), from the region grids
    /// and findings kept here.
    pub fn layers(
        &self,
        s: &Arc<Snapshot>,
        source: Source,
        frame: &Frame,
        scope: &Scope,
        detail: Detail,
    ) -> Vec<super::mvt::Layer> {
        let derived = Derived {
            grids: &|code| self.region_grids(s, code),
            gaps: &|code| self.derive(&self.gaps, s, code, || region_gaps(s, &self.policy, code)),
            min_cell_households: self.policy.privacy.min_cell_households,
        };
        super::render(s, source, frame, scope, detail, &derived)
    }

    /// The cached tile when it is fresh and `s` is the snapshot already
    /// seen; never blocks for long (no cutting, no diff), so the async
    /// threads answer warm tiles without a hop to the blocking pool.
    pub fn cached(
        &self,
        s: &Snapshot,
        source: Source,
        frame: Frame,
        scope: &Scope,
        detail: Detail,
    ) -> Option<Arc<Tile>> {
        if self.seen.load(Ordering::Acquire) != s.generation {
            return None;
        }
        let key = Key::new(source, &frame, scope, detail);
        self.tiles
            .get(&key)
            .filter(|t| self.fresh(t, source, &frame, detail))
    }

    /// Drops every tile and region grid (benchmarks measure cold tiles).
    pub fn clear(&self) {
        self.tiles.clear();
        self.grids.lock().expect("grids").clear();
        self.gaps.lock().expect("gaps").clear();
    }

    /// Drops cut tiles but keeps the evaluated grids.
    pub fn clear_tiles(&self) {
        self.tiles.clear();
    }

    /// Evaluates the grids of every region in `s` now (after start-up and
    /// swaps, so the first map view does not wait for them).
    pub fn warm_grids(&self, s: &Arc<Snapshot>) {
        self.sync(s);
        let codes: Vec<RegionCode> = s.regions.items().iter().map(|r| r.code).collect();
        let next = AtomicU64::new(0);
        let (next, codes) = (&next, &codes);
        std::thread::scope(|t| {
            let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
            for _ in 0..workers {
                t.spawn(move || loop {
                    let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                    let Some(&code) = codes.get(i) else { break };
                    self.region_grids(s, code);
                });
            }
        });
    }

    fn fresh(&self, t: &Tile, source: Source, frame: &Frame, detail: Detail) -> bool {
        // Cut from the newest snapshot seen: nothing to look up.
        if t.generation >= self.seen.load(Ordering::Acquire) {
            return true;
        }
        let log = self.log.lock().expect("tile log");
        let now = log.snapshot.as_ref().map_or(0, |s| s.generation);
        if t.generation >= now {
            return true;
        }
        if t.generation < log.floor {
            return false;
        }
        // Counts-only household tiles from zoom 16 on are cut from their
        // zoom-15 ancestor's households: a change anywhere in it counts.
        let b = if detail == Detail::Counts && source == Source::Households {
            super::cells::source_frame(frame).bounds()
        } else {
            frame.bounds()
        };
        let bit = bit(source);
        !log.changes
            .iter()
            .rev()
            .take_while(|c| c.generation > t.generation)
            .any(|c| c.sources & bit != 0 && meets(c.rect, b))
    }

    fn region_grids(&self, s: &Arc<Snapshot>, code: RegionCode) -> Arc<RegionGrids> {
        self.derive(&self.grids, s, code, || region_grids(s, &self.policy, code))
    }

    /// A region's derived content from `cells`, computed from `s` when
    /// none was computed since the region last changed.
    fn derive<T>(
        &self,
        cells: &Cells<T>,
        s: &Snapshot,
        code: RegionCode,
        compute: impl FnOnce() -> T,
    ) -> Arc<T> {
        let changed = self
            .log
            .lock()
            .expect("tile log")
            .regions
            .get(&code)
            .copied()
            .unwrap_or(0);
        let cell = {
            let mut map = cells.lock().expect("region cells");
            match map.get(&code) {
                Some((g, cell)) if *g >= changed && *g <= s.generation => Some(cell.clone()),
                _ if s.generation >= changed => {
                    let cell: Arc<OnceLock<Arc<T>>> = Arc::default();
                    map.insert(code, (s.generation, cell.clone()));
                    Some(cell)
                }
                // A request on a snapshot older than the region's last
                // change: computed but not kept.
                _ => None,
            }
        };
        match cell {
            Some(c) => c.get_or_init(|| Arc::new(compute())).clone(),
            None => Arc::new(compute()),
        }
    }

    /// Logs what changed between the last snapshot seen and `s`.
    fn sync(&self, s: &Arc<Snapshot>) {
        if self.seen.load(Ordering::Acquire) == s.generation {
            return;
        }
        let mut log = self.log.lock().expect("tile log");
        let old = match &log.snapshot {
            Some(o) if o.generation >= s.generation => return,
            o => o.clone(),
        };
        if let Some(old) = old {
            let started = std::time::Instant::now();
            let (changes, regions) = diff(&old, s);
            let n = changes.len();
            for (sources, rect) in changes {
                log.changes.push(Change {
                    generation: s.generation,
                    sources,
                    rect,
                });
            }
            for r in regions {
                log.regions.insert(r, s.generation);
            }
            if log.changes.len() > LOG_LIMIT {
                let cut = log.changes.len() - LOG_LIMIT / 2;
                log.floor = log.changes[cut - 1].generation + 1;
                log.changes.drain(..cut);
            }
            tracing::info!(
                from = old.generation,
                to = s.generation,
                changes = n,
                ms = started.elapsed().as_millis() as u64,
                "tiles: snapshot changed"
            );
        }
        log.snapshot = Some(s.clone());
        self.seen.store(s.generation, Ordering::Release);
    }
}

fn scope_key(scope: &Scope) -> Arc<str> {
    // The common case (a city-wide caller) costs no allocation per request.
    static ALL: OnceLock<Arc<str>> = OnceLock::new();
    if scope.is_all() {
        ALL.get_or_init(|| Arc::from("*")).clone()
    } else {
        Arc::from(scope.prefix_list().join(","))
    }
}

fn pack(raw: &[u8], generation: u64) -> Tile {
    let digest = Sha256::digest(raw);
    let etag = format!(
        "\"{}\"",
        digest[..12]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let gzip = if raw.is_empty() {
        bytes::Bytes::new()
    } else {
        let mut enc = flate2::write::GzEncoder::new(
            Vec::with_capacity(raw.len() / 2),
            flate2::Compression::fast(),
        );
        enc.write_all(raw).expect("writing to memory");
        bytes::Bytes::from(enc.finish().expect("writing to memory"))
    };
    Tile {
        gzip,
        raw_len: raw.len(),
        etag,
        generation,
    }
}

fn meets(a: Rect<f64>, b: Rect<f64>) -> bool {
    a.min().x <= b.max().x
        && b.min().x <= a.max().x
        && a.min().y <= b.max().y
        && b.min().y <= a.max().y
}

/// Items that differ between two layers (both versions of a changed one).
fn walk<T: LayerItem + PartialEq>(old: &LayerIndex<T>, new: &LayerIndex<T>, f: impl FnMut(&T)) {
    if std::ptr::eq(old, new) {
        // One layer shared by both snapshots.
        return;
    }
    walk_items(old.items(), new.items(), f);
}

/// Items that differ between two sharded layers: only shards not shared
/// by both snapshots are compared (one write: one region's).
fn walk_sharded<T: LayerItem + PartialEq>(
    old: &ShardedIndex<T>,
    new: &ShardedIndex<T>,
    mut f: impl FnMut(&T),
) {
    if std::ptr::eq(old, new) {
        return;
    }
    let a: BTreeMap<_, _> = old.shards().collect();
    let b: BTreeMap<_, _> = new.shards().collect();
    for key in a
        .keys()
        .chain(b.keys())
        .collect::<std::collections::BTreeSet<_>>()
    {
        match (a.get(key), b.get(key)) {
            (Some(x), Some(y)) if Arc::ptr_eq(x, y) => {}
            (x, y) => walk_items(
                x.map_or(&[][..], |s| s.items()),
                y.map_or(&[][..], |s| s.items()),
                &mut f,
            ),
        }
    }
}

/// Items that differ between two id-sorted lists.
fn walk_items<T: LayerItem + PartialEq>(a: &[T], b: &[T], mut f: impl FnMut(&T)) {
    let (mut i, mut j) = (0, 0);
    loop {
        match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) if x.item_id() == y.item_id() => {
                if x != y {
                    f(x);
                    f(y);
                }
                i += 1;
                j += 1;
            }
            (Some(x), Some(y)) if x.item_id() < y.item_id() => {
                f(x);
                i += 1;
            }
            (_, Some(y)) => {
                f(y);
                j += 1;
            }
            (Some(x), None) => {
                f(x);
                i += 1;
            }
            (None, None) => break,
        }
    }
}

/// Changed boxes with the sources they affect, and the regions whose
/// grids and findings must be derived again.
fn diff(old: &Snapshot, new: &Snapshot) -> (Vec<(u8, Rect<f64>)>, Vec<RegionCode>) {
    let mut boxes: BTreeMap<u8, Vec<Rect<f64>>> = BTreeMap::new();
    let mut regions: Vec<RegionCode> = Vec::new();
    let mut reach: Vec<RegionCode> = Vec::new();
    {
        let mut add = |sources: u8, it: &dyn LayerItemDyn, grids_of_region: bool| {
            if let Some(r) = it.rect() {
                boxes.entry(sources).or_default().push(r);
            }
            if grids_of_region {
                if let Some(c) = it.region() {
                    regions.push(c);
                }
            }
        };
        walk(&old.regions, &new.regions, |x| add(ALL_SOURCES, x, true));
        walk(&old.atoms, &new.atoms, |x| add(bit(Source::Atoms), x, true));
        walk_sharded(&old.households, &new.households, |x| {
            add(bit(Source::Households), x, true)
        });
        walk_sharded(&old.people, &new.people, |x| {
            add(bit(Source::People), x, false)
        });
        // Boundaries follow roads: the grids of the regions whose ground
        // holds a changed road are measured again.
        walk(&old.roads, &new.roads, |x| {
            add(bit(Source::Basemap), x, false);
            reach.extend(new.road_reach(x));
        });
        walk(&old.buildings, &new.buildings, |x| {
            add(bit(Source::Basemap), x, false)
        });
        walk(&old.water, &new.water, |x| {
            add(bit(Source::Basemap), x, false)
        });
        walk(&old.grids, &new.grids, |x| add(bit(Source::Grids), x, true));
    }
    regions.extend(reach);
    let plan_of = |s: &Snapshot, c: &RegionCode| s.plans.get(c).map(|p| p.version.id);
    for c in old.plans.keys().chain(new.plans.keys()) {
        if plan_of(old, c) != plan_of(new, c) {
            regions.push(*c);
        }
    }
    regions.sort_unstable();
    regions.dedup();
    // A region whose grids or findings change: every such tile over it.
    let all = Scope::all();
    for c in &regions {
        for s in [old, new] {
            if let Some(r) = s.region(*c, &all).and_then(|r| r.boundary.bounding_rect()) {
                boxes
                    .entry(bit(Source::Grids) | bit(Source::Gaps))
                    .or_default()
                    .push(r);
            }
        }
    }
    let mut out = Vec::new();
    for (sources, rects) in boxes {
        if rects.len() > BOXES_PER_SWAP {
            let u = rects[1..]
                .iter()
                .fold(rects[0], |u, r| crate::spatial::cover(u, *r));
            out.push((sources, u));
        } else {
            out.extend(rects.into_iter().map(|r| (sources, r)));
        }
    }
    (out, regions)
}

/// [`LayerItem`] as a trait object, for one closure over all layers.
trait LayerItemDyn {
    fn rect(&self) -> Option<Rect<f64>>;
    fn region(&self) -> Option<RegionCode>;
}

impl<T: LayerItem> LayerItemDyn for T {
    fn rect(&self) -> Option<Rect<f64>> {
        self.bbox()
    }
    fn region(&self) -> Option<RegionCode> {
        self.item_region()
    }
}
