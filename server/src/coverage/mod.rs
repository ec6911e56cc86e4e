//! Coverage and gap analysis: is every piece of land in a grid, every grid
//! staffed, every vulnerable household within reach of a carer of its own
//! grid — and where not, how big is the gap and what would close it.
//!
//! [`Analysis`] holds what it needs (grids, household points, staff) in its
//! own indexes, so one staff change or one grid edit recomputes only the
//! grids it touches ([`Analysis::update_person`], [`Analysis::update_grid`]).
//! [`Analysis::report`] assembles figures, findings and roll-ups for a
//! region and a caller's scope.

pub mod export;
pub mod geometry;
pub mod hex;
pub mod mclp;
pub mod region;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use geo::{BoundingRect, Contains, Intersects};
use geo_types::{Coord, Geometry, MultiPolygon, Point, Rect};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, AABB};
use serde::Serialize;

use crate::access::Scope;
use crate::domain::{
    Household, ImportedGrid, Level, Person, PersonId, Policy, Region, RegionCode, Role, Water,
    WaterKind,
};
use crate::emergency::network::Snap;
use crate::emergency::EmergencyIndex;
use crate::spatial::projection::LocalProjection;
use geometry::RegionGeometry;

/// Knobs of the analysis (the policy gives the rules; these the reporting).
#[derive(Debug, Clone, Serialize)]
pub struct Options {
    /// Gaps smaller than this (m²) are reported apart, as slivers.
    pub sliver_m2: f64,
    /// Areas under this (m²) are noise from digitising, not findings.
    pub tolerance_m2: f64,
    /// Circumradius of the hexagon cells that map uncovered households.
    pub cell_m: f64,
    /// Also measure reach along the road network (when roads are loaded).
    pub by_road: bool,
    /// Once set, the long loops stop early and the analysis is partial:
    /// whoever set it must discard the result.
    #[serde(skip)]
    pub cancel: crate::cancel::Cancel,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            sliver_m2: 100.0,
            tolerance_m2: 1.0,
            cell_m: 150.0,
            by_road: true,
            cancel: crate::cancel::Cancel::never(),
        }
    }
}

/// What a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// Land in no grid of a level.
    Gap,
    /// A gap under [`Options::sliver_m2`].
    Sliver,
    /// Two grids of one level overlapping.
    Overlap,
    /// A grid reaching outside its region.
    Outside,
    /// A grid not inside one grid of the level above.
    Nesting,
    /// A household in no grid of a level.
    NoGrid,
    /// A household inside several grids of a level.
    SeveralGrids,
    /// A grid short of grid workers.
    Unstaffed,
    /// A grid short of a grid leader.
    NoLeader,
    /// A grid with more households per full-time worker than the policy allows.
    Overloaded,
    /// A person assigned to more grids than the policy allows.
    Overstretched,
    /// A vulnerable household with no carer of its grid within reach.
    Unreached,
    /// A hexagon cell holding unreached vulnerable households.
    UnreachedCell,
}

impl FindingKind {
    pub fn name_zh(self) -> &'static str {
        match self {
            Self::Gap => "未覆盖区域",
            Self::Sliver => "细碎缝隙",
            Self::Overlap => "网格重叠",
            Self::Outside => "超出辖区",
            Self::Nesting => "跨越上级网格",
            Self::NoGrid => "未入格住户",
            Self::SeveralGrids => "重复入格住户",
            Self::Unstaffed => "缺网格员",
            Self::NoLeader => "缺网格长",
            Self::Overloaded => "超负荷网格",
            Self::Overstretched => "兼管网格过多",
            Self::Unreached => "未覆盖重点户",
            Self::UnreachedCell => "重点户盲区",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    High,
    Medium,
    Low,
}

/// One gap, as a map feature or a table row.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub kind: FindingKind,
    pub severity: Severity,
    pub region: RegionCode,
    pub level: Option<Level>,
    /// Grid codes involved (for an overstretched person: theirs).
    pub grids: Vec<String>,
    pub area_m2: f64,
    pub households: u64,
    pub vulnerable: u64,
    /// WGS-84; none for findings that are not places (a person).
    #[serde(skip)]
    pub geometry: Option<Geometry<f64>>,
}

/// Figures of one grid.
#[derive(Debug, Clone, Default, Serialize)]
pub struct GridFigures {
    pub code: String,
    pub name: String,
    pub level: u8,
    pub region: String,
    pub parent: Option<String>,
    pub area_m2: f64,
    /// Households by care level (index = level).
    pub households: Vec<u64>,
    /// People assigned to this grid, by role key.
    pub staff: BTreeMap<&'static str, u64>,
    /// People assigned to this grid or to grids nested in it, by role key
    /// (each person once): the grid's figures rolled up from its children.
    pub staff_within: BTreeMap<&'static str, u64>,
    pub workers: u64,
    pub leaders: u64,
    pub full_time_workers: u64,
    /// Households per full-time worker, when it has any.
    pub households_per_full_time: Option<f64>,
    /// The policy asks for staff here: a level-3 grid (workers) or a
    /// grid of the leader level (a leader) with households in it.
    pub needs_staff: bool,
    pub unstaffed: bool,
    pub no_leader: bool,
    pub overloaded: bool,
    pub vulnerable: u64,
    pub reached: u64,
    pub reached_by_road: Option<u64>,
}

/// Figures of a region (its descendants included) or of the whole scope.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Rollup {
    pub code: String,
    pub name: String,
    pub households: Vec<u64>,
    pub staff: BTreeMap<&'static str, u64>,
    pub land_m2: f64,
    pub covered_m2: f64,
    pub land_covered_pct: f64,
    pub grids: u64,
    /// Grids the policy asks staff for ([`GridFigures::needs_staff`]).
    pub grids_needing_staff: u64,
    /// Of those, the ones that have it: the staffing rate (配齐率) is
    /// `grids_staffed / grids_needing_staff`.
    pub grids_staffed: u64,
    pub grids_staffed_pct: f64,
    pub vulnerable: u64,
    pub reached: u64,
    pub reached_pct: f64,
    pub reached_by_road: Option<u64>,
    pub reached_by_road_pct: Option<f64>,
    pub findings: BTreeMap<FindingKind, u64>,
}

/// A place for a new carer and what it would add.
#[derive(Debug, Clone, Serialize)]
pub struct Suggestion {
    pub rank: usize,
    pub lon: f64,
    pub lat: f64,
    /// The building it stands for, when candidates are buildings.
    pub building: Option<i64>,
    pub grid: Option<String>,
    /// Unreached vulnerable households it would reach (beyond earlier ranks).
    pub gain: u64,
}

/// What [`Analysis::report`] returns.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub region: Rollup,
    /// Child regions, one level down.
    pub children: Vec<Rollup>,
    pub grids: Vec<GridFigures>,
    pub findings: Vec<Finding>,
    pub radius_m: f64,
    pub by_road: bool,
}

/// A household as the analysis sees it.
#[derive(Debug, Clone)]
struct Hh {
    id: i64,
    at: Coord<f64>,
    care: u8,
    region: Option<RegionCode>,
    /// Grid (position in `grids`) per level.
    grid: [Option<u32>; 3],
    /// Inside several grids of a level (bit per level).
    several: u8,
    reached: bool,
    reached_by_road: Option<bool>,
    snap: Option<Snap>,
}

#[derive(Debug, Clone)]
struct Staff {
    id: PersonId,
    roles: Vec<Role>,
    at: Coord<f64>,
    grids: Vec<u32>,
    /// Codes it names that no grid has.
    unknown_grids: Vec<String>,
    snap: Option<Snap>,
}

type Boxed = GeomWithData<Rectangle<[f64; 2]>, u32>;
type Pt = GeomWithData<[f64; 2], u32>;

/// The analysis state; see the module docs.
pub struct Analysis<'a> {
    opts: Options,
    policy: Policy,
    regions: Vec<Region>,
    region_pos: HashMap<RegionCode, usize>,
    parent: HashMap<RegionCode, RegionCode>,
    children: HashMap<RegionCode, Vec<RegionCode>>,
    /// Leaf regions: where grids belong and land is counted.
    leaves: BTreeSet<RegionCode>,
    water: Vec<MultiPolygon<f64>>,
    grids: Vec<ImportedGrid>,
    grid_pos: HashMap<String, u32>,
    trees: [RTree<Boxed>; 3],
    hh: Vec<Hh>,
    hh_tree: RTree<Pt>,
    staff: Vec<Staff>,
    staff_pos: HashMap<PersonId, usize>,
    grid_hh: Vec<Vec<u32>>,
    grid_staff: Vec<Vec<u32>>,
    /// Grids nested directly in each grid.
    grid_children: Vec<Vec<u32>>,
    region_geo: HashMap<RegionCode, RegionGeometry>,
    figures: Vec<GridFigures>,
    emergency: Option<&'a EmergencyIndex>,
    /// Buildings as candidate places for new carers: (id, centroid).
    buildings: Vec<(i64, Coord<f64>)>,
}

/// Everything the analysis reads (copied in; only the network is borrowed).
pub struct Inputs<'d, 'e> {
    pub regions: &'d [Region],
    pub grids: &'d [ImportedGrid],
    pub households: &'d [Household],
    pub people: &'d [Person],
    pub water: &'d [Water],
    pub buildings: &'d [crate::domain::Building],
    /// The walking network, for reach by road.
    pub emergency: Option<&'e EmergencyIndex>,
}

impl<'a> Inputs<'a, 'a> {
    /// The layers of a snapshot.
    pub fn of(s: &'a crate::snapshot::Snapshot) -> Self {
        Self {
            regions: s.regions.items(),
            grids: s.grids.items(),
            households: s.households.items(),
            people: s.people.items(),
            water: s.water.items(),
            buildings: s.buildings.items(),
            emergency: Some(&s.emergency),
        }
    }
}

fn rect_entry(r: Rect<f64>, i: u32) -> Boxed {
    Boxed::new(
        Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]),
        i,
    )
}

impl<'a> Analysis<'a> {
    /// Runs the whole analysis.
    pub fn new(input: &Inputs<'_, 'a>, policy: &Policy, opts: Options) -> Self {
        let regions: Vec<Region> = input.regions.to_vec();
        let region_pos: HashMap<RegionCode, usize> = regions
            .iter()
            .enumerate()
            .map(|(i, r)| (r.code, i))
            .collect();
        let parent = crate::domain::region::parents(&regions);
        let mut children: HashMap<RegionCode, Vec<RegionCode>> = HashMap::new();
        for (c, p) in &parent {
            children.entry(*p).or_default().push(*c);
        }
        for v in children.values_mut() {
            v.sort_unstable();
        }
        let leaves = regions
            .iter()
            .map(|r| r.code)
            .filter(|c| !children.contains_key(c))
            .collect();
        let water = input
            .water
            .iter()
            .filter(|w| w.kind == WaterKind::Area)
            .filter_map(|w| match &w.geometry {
                Geometry::Polygon(p) => Some(MultiPolygon(vec![p.clone()])),
                Geometry::MultiPolygon(m) => Some(m.clone()),
                _ => None,
            })
            .collect();
        let emergency = input.emergency.filter(|e| opts.by_road && e.has_network());
        let hh: Vec<Hh> = input
            .households
            .iter()
            .map(|h| Hh {
                id: h.id,
                at: h.location.0,
                care: h.care.0,
                region: h.region,
                grid: [None; 3],
                several: 0,
                reached: false,
                reached_by_road: None,
                snap: None,
            })
            .collect();
        let hh_tree = RTree::bulk_load(
            hh.iter()
                .enumerate()
                .map(|(i, h)| Pt::new([h.at.x, h.at.y], i as u32))
                .collect(),
        );
        let buildings = input
            .buildings
            .iter()
            .filter_map(|b| {
                let c = geo::Centroid::centroid(&b.geometry)?;
                Some((b.id, c.0))
            })
            .collect();
        let mut a = Self {
            opts,
            policy: policy.clone(),
            regions,
            region_pos,
            parent,
            children,
            leaves,
            water,
            grids: Vec::new(),
            grid_pos: HashMap::new(),
            trees: [RTree::new(), RTree::new(), RTree::new()],
            hh,
            hh_tree,
            staff: Vec::new(),
            staff_pos: HashMap::new(),
            grid_hh: Vec::new(),
            grid_staff: Vec::new(),
            grid_children: Vec::new(),
            region_geo: HashMap::new(),
            figures: Vec::new(),
            emergency,
            buildings,
        };
        a.set_grids(input.grids.to_vec());
        let all: Vec<usize> = (0..a.hh.len()).collect();
        a.place_households(&all);
        a.staff = input.people.iter().map(|p| a.staff_of(p)).collect();
        a.staff_pos = a.staff.iter().enumerate().map(|(i, s)| (s.id, i)).collect();
        a.index_staff();
        let codes: Vec<RegionCode> = a.region_pos.keys().copied().collect();
        a.check_geometry(&codes);
        a.compute_reach(&all);
        let every: Vec<u32> = (0..a.grids.len() as u32).collect();
        a.compute_figures(&every);
        a
    }

    fn set_grids(&mut self, grids: Vec<ImportedGrid>) {
        self.grids = grids;
        self.grid_pos = self
            .grids
            .iter()
            .enumerate()
            .map(|(i, g)| (g.code.0.clone(), i as u32))
            .collect();
        for level in Level::ALL {
            self.rebuild_tree(level);
        }
        self.grid_hh = vec![Vec::new(); self.grids.len()];
        self.grid_staff = vec![Vec::new(); self.grids.len()];
        self.figures = vec![GridFigures::default(); self.grids.len()];
        self.link_children();
    }

    fn link_children(&mut self) {
        self.grid_children = vec![Vec::new(); self.grids.len()];
        for g in 0..self.grids.len() {
            if let Some(p) = self.parent_grid(g) {
                self.grid_children[p as usize].push(g as u32);
            }
        }
    }

    /// The grid a grid nests in: the one it names, else the grid of a
    /// higher level whose code is the longest prefix of its own.
    fn parent_grid(&self, g: usize) -> Option<u32> {
        let grid = &self.grids[g];
        if let Some(p) = &grid.parent {
            return self.grid_pos.get(p.as_str()).copied();
        }
        let code = grid.code.as_str();
        (12..code.len()).rev().find_map(|n| {
            let p = *self.grid_pos.get(&code[..n])?;
            (self.grids[p as usize].level < grid.level).then_some(p)
        })
    }

    fn rebuild_tree(&mut self, level: Level) {
        self.trees[level.index()] = RTree::bulk_load(
            self.grids
                .iter()
                .enumerate()
                .filter(|(_, g)| g.level == level)
                .filter_map(|(i, g)| Some(rect_entry(g.geometry.bounding_rect()?, i as u32)))
                .collect(),
        );
    }

    /// The grid of each level holding each household. The boundary rule
    /// of placement applies: a household on the line between two grids
    /// belongs to the one with the smaller code; only inside two grids'
    /// interiors is it in several.
    fn place_households(&mut self, which: &[usize]) {
        for &i in which {
            let p = Point(self.hh[i].at);
            let mut several = 0u8;
            let mut grid = [None; 3];
            for level in Level::ALL {
                let mut inside: Vec<u32> = Vec::new();
                let mut on_edge: Vec<u32> = Vec::new();
                for e in self.trees[level.index()]
                    .locate_in_envelope_intersecting(&AABB::from_point([p.x(), p.y()]))
                {
                    let g = &self.grids[e.data as usize].geometry;
                    if g.contains(&p) {
                        inside.push(e.data);
                    } else if g.intersects(&p) {
                        on_edge.push(e.data);
                    }
                }
                if inside.len() > 1 {
                    several |= 1 << level.index();
                }
                let by_code = |v: &mut Vec<u32>| {
                    v.sort_by(|a, b| {
                        self.grids[*a as usize]
                            .code
                            .cmp(&self.grids[*b as usize].code)
                    });
                    v.first().copied()
                };
                grid[level.index()] = by_code(&mut inside).or_else(|| by_code(&mut on_edge));
            }
            let h = &mut self.hh[i];
            // Move the household between grid lists.
            for (l, old) in h.grid.iter().enumerate() {
                if let Some(g) = old {
                    if grid[l] != Some(*g) {
                        self.grid_hh[*g as usize].retain(|&x| x as usize != i);
                    }
                }
            }
            for (l, new) in grid.iter().enumerate() {
                if let Some(g) = new {
                    if h.grid[l] != Some(*g) {
                        self.grid_hh[*g as usize].push(i as u32);
                    }
                }
            }
            h.grid = grid;
            h.several = several;
        }
    }

    fn staff_of(&self, p: &Person) -> Staff {
        let mut grids = Vec::new();
        let mut unknown_grids = Vec::new();
        for c in &p.grids {
            match self.grid_pos.get(c.as_str()) {
                Some(&g) if !grids.contains(&g) => grids.push(g),
                Some(_) => {}
                None => unknown_grids.push(c.0.clone()),
            }
        }
        let snap = self.emergency.and_then(|e| e.snap_point(p.home.0));
        Staff {
            id: p.id,
            roles: p.roles.clone(),
            at: p.home.0,
            grids,
            unknown_grids,
            snap,
        }
    }

    fn index_staff(&mut self) {
        for v in &mut self.grid_staff {
            v.clear();
        }
        for (i, s) in self.staff.iter().enumerate() {
            for &g in &s.grids {
                self.grid_staff[g as usize].push(i as u32);
            }
        }
    }

    fn check_geometry(&mut self, codes: &[RegionCode]) {
        let mut by_region: HashMap<RegionCode, Vec<&ImportedGrid>> = HashMap::new();
        for g in &self.grids {
            by_region.entry(g.region).or_default().push(g);
        }
        let results: Vec<(RegionCode, RegionGeometry)> = codes
            .iter()
            .filter(|c| self.leaves.contains(c) || by_region.contains_key(c))
            .filter_map(|c| {
                if self.opts.cancel.is_cancelled() {
                    return None;
                }
                let r = &self.regions[*self.region_pos.get(c)?];
                let grids = by_region.get(c).map_or(&[][..], Vec::as_slice);
                let bbox = r.boundary.bounding_rect()?;
                let water: Vec<MultiPolygon<f64>> = self
                    .water
                    .iter()
                    .filter(|w| w.bounding_rect().is_some_and(|wb| wb.intersects(&bbox)))
                    .cloned()
                    .collect();
                Some((
                    *c,
                    geometry::check_region(*c, &r.boundary, grids, &water, &self.opts),
                ))
            })
            .collect();
        for (c, g) in results {
            self.region_geo.insert(c, g);
        }
        for (i, g) in self.grids.iter().enumerate() {
            let area = self.region_geo.get(&g.region).and_then(|rg| {
                let pos = by_region
                    .get(&g.region)?
                    .iter()
                    .position(|x| std::ptr::eq(*x, g))?;
                rg.grid_area_m2.get(pos).copied()
            });
            if let Some(a) = area {
                self.figures[i].area_m2 = a;
            }
        }
    }

    /// The carers who may look after household `i`: carers of any grid
    /// (any level) that holds it.
    fn carers_of(&self, i: usize) -> Vec<u32> {
        let mut out: Vec<u32> = Vec::new();
        for g in self.hh[i].grid.iter().flatten() {
            for &s in &self.grid_staff[*g as usize] {
                if self.staff[s as usize].roles.iter().any(|r| r.is_carer()) && !out.contains(&s) {
                    out.push(s);
                }
            }
        }
        out
    }

    fn compute_reach(&mut self, which: &[usize]) {
        let radius = self.policy.reach.carer_radius_m;
        for &i in which {
            if self.hh[i].care == 0 {
                continue;
            }
            if self.opts.cancel.is_cancelled() {
                return;
            }
            let carers = self.carers_of(i);
            let at = self.hh[i].at;
            let proj = LocalProjection::new(at);
            let reached = carers.iter().any(|&s| {
                let p = proj.forward(self.staff[s as usize].at);
                p.x.hypot(p.y) <= radius
            });
            let by_road = self.emergency.map(|e| {
                if self.hh[i].snap.is_none() {
                    self.hh[i].snap = e.snap_point(at);
                }
                let Some(from) = self.hh[i].snap else {
                    return false;
                };
                if carers.is_empty() {
                    return false;
                }
                let dist = e.walk_within(&from, radius);
                carers.iter().any(|&s| {
                    self.staff[s as usize]
                        .snap
                        .is_some_and(|to| e.walk_to(&from, &dist, &to) <= radius)
                })
            });
            let h = &mut self.hh[i];
            h.reached = reached;
            h.reached_by_road = by_road;
        }
    }

    fn compute_figures(&mut self, which: &[u32]) {
        let st = &self.policy.staffing;
        let care_levels = self.policy.care_levels.len().max(1);
        for &g in which {
            let gi = g as usize;
            let grid = &self.grids[gi];
            let mut f = GridFigures {
                code: grid.code.0.clone(),
                name: grid.name.clone(),
                level: grid.level.get(),
                region: grid.region.to_string(),
                parent: grid.parent.as_ref().map(|p| p.0.clone()),
                area_m2: self.figures[gi].area_m2,
                households: vec![0; care_levels],
                ..GridFigures::default()
            };
            for &h in &self.grid_hh[gi] {
                let h = &self.hh[h as usize];
                let c = usize::from(h.care).min(care_levels - 1);
                f.households[c] += 1;
                if h.care > 0 {
                    f.vulnerable += 1;
                    f.reached += u64::from(h.reached);
                    if let Some(r) = h.reached_by_road {
                        *f.reached_by_road.get_or_insert(0) += u64::from(r);
                    }
                }
            }
            if self.emergency.is_some() && f.reached_by_road.is_none() {
                f.reached_by_road = Some(0);
            }
            for &s in &self.grid_staff[gi] {
                for r in &self.staff[s as usize].roles {
                    *f.staff.entry(r.as_str()).or_default() += 1;
                    match r {
                        Role::FullTimeWorker => {
                            f.workers += 1;
                            f.full_time_workers += 1;
                        }
                        Role::PartTimeWorker => f.workers += 1,
                        Role::GridLeader => f.leaders += 1,
                        _ => {}
                    }
                }
            }
            let total: u64 = f.households.iter().sum();
            let within = self.staff_within(gi);
            for &p in &within {
                for r in &self.staff[p as usize].roles {
                    *f.staff_within.entry(r.as_str()).or_default() += 1;
                }
            }
            // Full-time workers of this grid and of the grids inside it.
            let full_time = within
                .iter()
                .filter(|&&p| self.staff[p as usize].roles.contains(&Role::FullTimeWorker))
                .count() as u64;
            f.households_per_full_time = (full_time > 0).then(|| total as f64 / full_time as f64);
            f.overloaded = full_time > 0
                && total as f64 / full_time as f64
                    > f64::from(st.max_households_per_full_time_worker);
            // A grid with no households needs no one.
            let needs_workers =
                total > 0 && grid.level == Level::THREE && st.min_workers_per_level3 > 0;
            let needs_leader =
                total > 0 && grid.level.get() == st.leader_level && st.min_leaders_per_grid > 0;
            f.needs_staff = needs_workers || needs_leader;
            f.unstaffed = needs_workers && f.workers < u64::from(st.min_workers_per_level3);
            f.no_leader = needs_leader && f.leaders < u64::from(st.min_leaders_per_grid);
            self.figures[gi] = f;
        }
    }

    /// People assigned to grid `g` or to grids nested in it, each once.
    fn staff_within(&self, g: usize) -> BTreeSet<u32> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![g as u32];
        while let Some(x) = stack.pop() {
            seen.extend(self.grid_staff[x as usize].iter().copied());
            stack.extend(self.grid_children[x as usize].iter().copied());
        }
        seen
    }

    /// A person joined, left, or changed roles, grids or home. Returns the
    /// grids recomputed.
    pub fn update_person(&mut self, p: &Person) -> Vec<String> {
        let new = self.staff_of(p);
        let mut touched: BTreeSet<u32> = new.grids.iter().copied().collect();
        match self.staff_pos.get(&p.id) {
            Some(&i) => {
                touched.extend(self.staff[i].grids.iter().copied());
                for &g in &self.staff[i].grids {
                    self.grid_staff[g as usize].retain(|&s| s as usize != i);
                }
                for &g in &new.grids {
                    self.grid_staff[g as usize].push(i as u32);
                }
                self.staff[i] = new;
            }
            None => {
                let i = self.staff.len();
                for &g in &new.grids {
                    self.grid_staff[g as usize].push(i as u32);
                }
                self.staff.push(new);
                self.staff_pos.insert(p.id, i);
            }
        }
        self.refresh(&touched)
    }

    /// A grid was redrawn (or added: a code not seen before). Returns the
    /// grids recomputed.
    pub fn update_grid(&mut self, g: ImportedGrid) -> Vec<String> {
        let old_box = self
            .grid_pos
            .get(g.code.as_str())
            .and_then(|&i| self.grids[i as usize].geometry.bounding_rect());
        let new_box = g.geometry.bounding_rect();
        let level = g.level;
        let region = g.region;
        let gi = match self.grid_pos.get(g.code.as_str()) {
            Some(&i) => {
                self.grids[i as usize] = g;
                i
            }
            None => {
                let i = self.grids.len() as u32;
                self.grid_pos.insert(g.code.0.clone(), i);
                self.grids.push(g);
                self.grid_hh.push(Vec::new());
                self.grid_staff.push(Vec::new());
                self.figures.push(GridFigures::default());
                i
            }
        };
        self.link_children();
        self.rebuild_tree(level);
        // Households where the grid was or now is may change grids.
        let mut moved: Vec<usize> = Vec::new();
        for r in [old_box, new_box].into_iter().flatten() {
            moved.extend(
                self.hh_tree
                    .locate_in_envelope(&AABB::from_corners(
                        [r.min().x, r.min().y],
                        [r.max().x, r.max().y],
                    ))
                    .map(|e| e.data as usize),
            );
        }
        moved.sort_unstable();
        moved.dedup();
        let mut touched: BTreeSet<u32> = BTreeSet::from([gi]);
        for &i in &moved {
            touched.extend(self.hh[i].grid.iter().flatten().copied());
        }
        self.place_households(&moved);
        for &i in &moved {
            touched.extend(self.hh[i].grid.iter().flatten().copied());
        }
        // People who named this code before it existed now staff it.
        for (si, s) in self.staff.iter_mut().enumerate() {
            if let Some(k) = s
                .unknown_grids
                .iter()
                .position(|c| c == &self.grids[gi as usize].code.0)
            {
                s.unknown_grids.remove(k);
                s.grids.push(gi);
                self.grid_staff[gi as usize].push(si as u32);
            }
        }
        self.check_geometry(&[region]);
        self.refresh(&touched)
    }

    /// Recomputes reach of the households in `grids` and the figures of
    /// every grid they belong to.
    fn refresh(&mut self, grids: &BTreeSet<u32>) -> Vec<String> {
        let mut hh: Vec<usize> = grids
            .iter()
            .flat_map(|&g| self.grid_hh[g as usize].iter().map(|&h| h as usize))
            .collect();
        hh.sort_unstable();
        hh.dedup();
        self.compute_reach(&hh);
        let mut all: BTreeSet<u32> = grids.clone();
        for &h in &hh {
            all.extend(self.hh[h].grid.iter().flatten().copied());
        }
        // Ancestors' full-time counts include their children's.
        let mut up: Vec<u32> = all.iter().copied().collect();
        while let Some(g) = up.pop() {
            if let Some(p) = self.parent_grid(g as usize) {
                if all.insert(p) {
                    up.push(p);
                }
            }
        }
        let which: Vec<u32> = all.into_iter().collect();
        self.compute_figures(&which);
        which
            .iter()
            .map(|&g| self.grids[g as usize].code.0.clone())
            .collect()
    }

    /// Regions under `code` (itself included).
    fn subtree(&self, code: RegionCode) -> Vec<RegionCode> {
        let mut out = vec![code];
        let mut i = 0;
        while i < out.len() {
            if let Some(c) = self.children.get(&out[i]) {
                out.extend(c.iter().copied());
            }
            i += 1;
        }
        out
    }

    /// The report for a region (or every region in scope when `None`).
    pub fn report(&self, region: Option<RegionCode>, scope: &Scope) -> Report {
        let codes: Vec<RegionCode> = match region {
            Some(c) => self.subtree(c),
            None => self.regions.iter().map(|r| r.code).collect(),
        };
        let codes: HashSet<RegionCode> = codes.into_iter().filter(|c| scope.contains(*c)).collect();
        let in_view = |c: Option<RegionCode>| c.is_some_and(|c| codes.contains(&c));
        let grids: Vec<u32> = (0..self.grids.len() as u32)
            .filter(|&g| codes.contains(&self.grids[g as usize].region))
            .collect();
        let mut findings = self.findings(&codes, &grids, &in_view);
        findings.sort_by(|a, b| {
            (a.severity, a.kind, a.region, &a.grids).cmp(&(b.severity, b.kind, b.region, &b.grids))
        });
        let rollup_of = |root: RegionCode| {
            let sub: HashSet<RegionCode> = self
                .subtree(root)
                .into_iter()
                .filter(|c| codes.contains(c))
                .collect();
            self.rollup(root, &sub, &findings)
        };
        let (top, children) = match region {
            Some(c) => (
                rollup_of(c),
                self.children
                    .get(&c)
                    .map(|v| {
                        v.iter()
                            .filter(|c| codes.contains(c))
                            .map(|c| rollup_of(*c))
                            .collect()
                    })
                    .unwrap_or_default(),
            ),
            None => {
                let mut all = self.rollup_set(&codes, &findings);
                all.code = String::new();
                all.name = "全部".into();
                let roots: Vec<Rollup> = self
                    .regions
                    .iter()
                    .filter(|r| codes.contains(&r.code))
                    .filter(|r| self.parent.get(&r.code).is_none_or(|p| !codes.contains(p)))
                    .map(|r| rollup_of(r.code))
                    .collect();
                (all, roots)
            }
        };
        Report {
            region: top,
            children,
            grids: grids
                .iter()
                .map(|&g| self.figures[g as usize].clone())
                .collect(),
            findings,
            radius_m: self.policy.reach.carer_radius_m,
            by_road: self.emergency.is_some(),
        }
    }

    fn rollup(&self, root: RegionCode, sub: &HashSet<RegionCode>, findings: &[Finding]) -> Rollup {
        let mut r = self.rollup_set(sub, findings);
        r.code = root.to_string();
        r.name = self
            .region_pos
            .get(&root)
            .map(|&i| self.regions[i].name.clone())
            .unwrap_or_default();
        r
    }

    fn rollup_set(&self, sub: &HashSet<RegionCode>, findings: &[Finding]) -> Rollup {
        let care_levels = self.policy.care_levels.len().max(1);
        let mut r = Rollup {
            households: vec![0; care_levels],
            ..Rollup::default()
        };
        for h in self
            .hh
            .iter()
            .filter(|h| h.region.is_some_and(|c| sub.contains(&c)))
        {
            r.households[usize::from(h.care).min(care_levels - 1)] += 1;
            if h.care > 0 {
                r.vulnerable += 1;
                r.reached += u64::from(h.reached);
                if let Some(x) = h.reached_by_road {
                    *r.reached_by_road.get_or_insert(0) += u64::from(x);
                }
            }
        }
        let mut counted = HashSet::new();
        for (g, f) in self.grids.iter().zip(&self.figures) {
            if !sub.contains(&g.region) {
                continue;
            }
            r.grids += 1;
            if f.needs_staff {
                r.grids_needing_staff += 1;
                r.grids_staffed += u64::from(!f.unstaffed && !f.no_leader);
            }
        }
        for (i, s) in self.staff.iter().enumerate() {
            if s.grids
                .iter()
                .any(|&g| sub.contains(&self.grids[g as usize].region))
                && counted.insert(i)
            {
                for role in &s.roles {
                    *r.staff.entry(role.as_str()).or_default() += 1;
                }
            }
        }
        for c in sub {
            if !self.leaves.contains(c) {
                continue;
            }
            if let Some(g) = self.region_geo.get(c) {
                r.land_m2 += g.land_m2;
                r.covered_m2 += g.covered_m2;
            }
        }
        for f in findings.iter().filter(|f| sub.contains(&f.region)) {
            *r.findings.entry(f.kind).or_default() += 1;
        }
        let pct = |a: f64, b: f64| {
            if b > 0.0 {
                (a / b * 1000.0).round() / 10.0
            } else {
                100.0
            }
        };
        r.land_covered_pct = pct(r.covered_m2, r.land_m2);
        // No grid needing staff is nothing to staff: 100%, as for land.
        r.grids_staffed_pct = pct(r.grids_staffed as f64, r.grids_needing_staff as f64);
        r.reached_pct = pct(r.reached as f64, r.vulnerable as f64);
        if self.emergency.is_some() {
            let n = r.reached_by_road.unwrap_or(0);
            r.reached_by_road = Some(n);
            r.reached_by_road_pct = Some(pct(n as f64, r.vulnerable as f64));
        }
        r.land_m2 = r.land_m2.round();
        r.covered_m2 = r.covered_m2.round();
        r
    }

    fn findings(
        &self,
        codes: &HashSet<RegionCode>,
        grids: &[u32],
        in_view: &dyn Fn(Option<RegionCode>) -> bool,
    ) -> Vec<Finding> {
        let mut out: Vec<Finding> = Vec::new();
        for c in codes {
            if let Some(g) = self.region_geo.get(c) {
                out.extend(g.findings.iter().cloned());
            }
        }
        // Households in no grid / several, per level, grouped per region.
        let mut no_grid: BTreeMap<(RegionCode, u8), (u64, u64)> = BTreeMap::new();
        let mut several: BTreeMap<(RegionCode, u8), (u64, u64)> = BTreeMap::new();
        let mut unreached_cells: BTreeMap<(RegionCode, hex::Cell), (u64, Vec<i64>)> =
            BTreeMap::new();
        let gridded: HashSet<RegionCode> = self.grids.iter().map(|g| g.region).collect();
        for h in &self.hh {
            if !in_view(h.region) {
                continue;
            }
            let Some(region) = h.region else { continue };
            let v = u64::from(h.care > 0);
            for level in Level::ALL {
                let l = level.index();
                let level_used = self.trees[l].size() > 0;
                if h.grid[l].is_none() && (level_used || level == Level::ONE) {
                    let e = no_grid.entry((region, level.get())).or_default();
                    e.0 += 1;
                    e.1 += v;
                }
                if h.several & (1 << l) != 0 {
                    let e = several.entry((region, level.get())).or_default();
                    e.0 += 1;
                    e.1 += v;
                }
            }
            if h.care > 0 && !(h.reached && h.reached_by_road.unwrap_or(true)) {
                let proj = self.cell_projection();
                let cell = hex::cell_of(proj.forward(h.at), self.opts.cell_m);
                let e = unreached_cells.entry((region, cell)).or_default();
                e.0 += 1;
                e.1.push(h.id);
                out.push(Finding {
                    kind: FindingKind::Unreached,
                    severity: if h.care >= 2 {
                        Severity::High
                    } else {
                        Severity::Medium
                    },
                    region,
                    level: None,
                    grids: h
                        .grid
                        .iter()
                        .flatten()
                        .map(|&g| self.grids[g as usize].code.0.clone())
                        .collect(),
                    area_m2: 0.0,
                    households: 1,
                    vulnerable: 1,
                    geometry: Some(Geometry::Point(Point(h.at))),
                });
            }
        }
        let _ = gridded;
        for (kind, map) in [
            (FindingKind::NoGrid, no_grid),
            (FindingKind::SeveralGrids, several),
        ] {
            for ((region, level), (n, v)) in map {
                out.push(Finding {
                    kind,
                    severity: if v > 0 {
                        Severity::High
                    } else {
                        Severity::Medium
                    },
                    region,
                    level: Level::new(level),
                    grids: Vec::new(),
                    area_m2: 0.0,
                    households: n,
                    vulnerable: v,
                    geometry: None,
                });
            }
        }
        let proj = self.cell_projection();
        for ((region, cell), (n, _)) in unreached_cells {
            let poly = proj.unproject(&hex::polygon(cell, self.opts.cell_m));
            out.push(Finding {
                kind: FindingKind::UnreachedCell,
                severity: if n >= 5 {
                    Severity::High
                } else {
                    Severity::Medium
                },
                region,
                level: None,
                grids: Vec::new(),
                area_m2: 0.0,
                households: n,
                vulnerable: n,
                geometry: Some(Geometry::Polygon(poly)),
            });
        }
        for &g in grids {
            let f = &self.figures[g as usize];
            let grid = &self.grids[g as usize];
            let total: u64 = f.households.iter().sum();
            for (flag, kind) in [
                (f.unstaffed, FindingKind::Unstaffed),
                (f.no_leader, FindingKind::NoLeader),
                (f.overloaded, FindingKind::Overloaded),
            ] {
                if flag {
                    out.push(Finding {
                        kind,
                        severity: if f.vulnerable > 0 {
                            Severity::High
                        } else {
                            Severity::Medium
                        },
                        region: grid.region,
                        level: Some(grid.level),
                        grids: vec![grid.code.0.clone()],
                        area_m2: f.area_m2,
                        households: total,
                        vulnerable: f.vulnerable,
                        geometry: Some(Geometry::MultiPolygon(grid.geometry.clone())),
                    });
                }
            }
        }
        let max = self.policy.staffing.max_grids_per_person as usize;
        for s in &self.staff {
            if s.grids.len() > max {
                let region = self.grids[s.grids[0] as usize].region;
                if codes.contains(&region) {
                    out.push(Finding {
                        kind: FindingKind::Overstretched,
                        severity: Severity::Medium,
                        region,
                        level: None,
                        grids: s
                            .grids
                            .iter()
                            .map(|&g| self.grids[g as usize].code.0.clone())
                            .collect(),
                        area_m2: 0.0,
                        households: 0,
                        vulnerable: 0,
                        geometry: None,
                    });
                }
            }
        }
        out
    }

    /// One plane for hexagon cells over the whole analysis, so cells of
    /// neighbouring regions line up.
    fn cell_projection(&self) -> LocalProjection {
        let c = self
            .regions
            .iter()
            .filter_map(|r| r.boundary.bounding_rect())
            .reduce(crate::spatial::cover)
            .map_or(Coord { x: 0.0, y: 0.0 }, |r| {
                // Rounded so the cells do not shift when a region is added.
                Coord {
                    x: r.center().x.round(),
                    y: r.center().y.round(),
                }
            });
        LocalProjection::new(c)
    }

    /// The `n` places (buildings; households where no buildings are
    /// loaded) that would bring the most unreached vulnerable households
    /// of `region` within reach of a carer of their own grid.
    pub fn suggest(&self, region: Option<RegionCode>, scope: &Scope, n: usize) -> Vec<Suggestion> {
        let codes: HashSet<RegionCode> = match region {
            Some(c) => self.subtree(c),
            None => self.regions.iter().map(|r| r.code).collect(),
        }
        .into_iter()
        .filter(|c| scope.contains(*c))
        .collect();
        let demand: Vec<usize> = (0..self.hh.len())
            .filter(|&i| {
                let h = &self.hh[i];
                h.care > 0
                    && h.region.is_some_and(|c| codes.contains(&c))
                    && !(h.reached && h.reached_by_road.unwrap_or(true))
            })
            .collect();
        if demand.is_empty() {
            return Vec::new();
        }
        let radius = self.policy.reach.carer_radius_m;
        let finest = |i: usize| self.hh[i].grid.iter().rev().flatten().next().copied();
        // Candidates: buildings near the demand, else the households there.
        let dtree: RTree<Pt> = RTree::bulk_load(
            demand
                .iter()
                .enumerate()
                .map(|(k, &i)| Pt::new([self.hh[i].at.x, self.hh[i].at.y], k as u32))
                .collect(),
        );
        let candidates: Vec<(Option<i64>, Coord<f64>)> = if self.buildings.is_empty() {
            self.hh
                .iter()
                .filter(|h| h.region.is_some_and(|c| codes.contains(&c)))
                .map(|h| (None, h.at))
                .collect()
        } else {
            self.buildings
                .iter()
                .map(|(id, c)| (Some(*id), *c))
                .collect()
        };
        let deg = radius / 90_000.0; // generous: a degree of longitude ≥ 90 km below 35°N
        let mut cand: Vec<(Option<i64>, Coord<f64>, Option<u32>)> = Vec::new();
        let mut covers: Vec<Vec<u32>> = Vec::new();
        for (id, at) in candidates {
            let env = AABB::from_corners(
                [at.x - deg * 1.5, at.y - deg],
                [at.x + deg * 1.5, at.y + deg],
            );
            let proj = LocalProjection::new(at);
            let grid = self.grid_at(at);
            let reach: Vec<u32> = dtree
                .locate_in_envelope(&env)
                .filter(|e| {
                    let i = demand[e.data as usize];
                    let p = proj.forward(self.hh[i].at);
                    p.x.hypot(p.y) <= radius && grid.is_some() && finest(i) == grid
                })
                .map(|e| e.data)
                .collect();
            if !reach.is_empty() {
                cand.push((id, at, grid));
                covers.push(reach);
            }
        }
        let weights = vec![1.0; demand.len()];
        let s = mclp::solve(&weights, &covers, n);
        s.sites
            .iter()
            .zip(&s.gains)
            .enumerate()
            .map(|(k, (&c, &gain))| Suggestion {
                rank: k + 1,
                lon: cand[c].1.x,
                lat: cand[c].1.y,
                building: cand[c].0,
                grid: cand[c].2.map(|g| self.grids[g as usize].code.0.clone()),
                gain: gain as u64,
            })
            .collect()
    }

    /// The finest grid holding a point.
    fn grid_at(&self, at: Coord<f64>) -> Option<u32> {
        let p = Point(at);
        for level in Level::ALL.iter().rev() {
            let mut hits: Vec<u32> = self.trees[level.index()]
                .locate_in_envelope_intersecting(&AABB::from_point([at.x, at.y]))
                .filter(|e| self.grids[e.data as usize].geometry.intersects(&p))
                .map(|e| e.data)
                .collect();
            hits.sort_by(|a, b| {
                self.grids[*a as usize]
                    .code
                    .cmp(&self.grids[*b as usize].code)
            });
            if let Some(g) = hits.first() {
                return Some(*g);
            }
        }
        None
    }

    /// Recomputes the reach of every vulnerable household (for benches:
    /// the reach pass alone); returns how many there are.
    pub fn reach_all(&mut self) -> usize {
        let all: Vec<usize> = (0..self.hh.len())
            .filter(|&i| self.hh[i].care > 0)
            .collect();
        self.compute_reach(&all);
        all.len()
    }

    /// Region codes known to the analysis.
    pub fn has_region(&self, code: RegionCode) -> bool {
        self.region_pos.contains_key(&code)
    }

    /// Households counted, for progress lines.
    pub fn household_count(&self) -> usize {
        self.hh.len()
    }
}

#[cfg(test)]
mod tests;
