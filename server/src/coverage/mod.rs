//! Coverage and gap analysis: is every piece of land in a grid, every grid
//! staffed, every vulnerable household within reach of a carer of its own
//! grid — and where not, how big is the gap and what would close it.
//!
//! [`Analysis`] holds what it needs (grids, household points, staff) in its
//! own indexes, so one staff change or one grid edit recomputes only the
//! grids it touches ([`Analysis::update_person`], [`Analysis::update_grid`]).
//! [`Analysis::report`] assembles figures, findings and roll-ups for a
//! region and a caller's scope.
//!
//! `Analysis` is one state split by concern: `grids` (indexes, nesting,
//! households placed in grids, a grid redrawn), [`geometry`] (land in no
//! grid, overlaps), `staffing` (who staffs what, per-grid figures),
//! `reach` (carers within reach), `findings`, `rollup` (the report) and
//! `suggest` (places for new carers). [`region`] feeds it from the
//! snapshot with the grids in force.

pub mod export;
pub mod geometry;
pub mod hex;
pub mod mclp;
pub mod region;

mod findings;
mod grids;
mod households;
mod reach;
mod rollup;
mod staffing;
mod suggest;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use geo::{BoundingRect, Contains, Intersects};
use geo_types::{Coord, Geometry, MultiPolygon, Point, Rect};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, AABB};
use serde::Serialize;

use crate::access::Scope;
use crate::domain::{
    GridCode, Household, ImportedGrid, Level, Person, PersonId, Policy, Region, RegionCode, Role,
    Water, WaterKind,
};
use crate::spatial::network::{Snap, Walking};
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

/// A household as the analysis sees it. One that left (deleted, or moved
/// out of the analysis' regions) keeps its place with no region, care 0
/// and no grid, so positions stay valid: every count skips it.
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
pub struct Analysis {
    opts: Options,
    policy: Policy,
    regions: Vec<Region>,
    region_pos: HashMap<RegionCode, usize>,
    parent: HashMap<RegionCode, RegionCode>,
    children: HashMap<RegionCode, Vec<RegionCode>>,
    /// Leaf regions: where grids belong and land is counted.
    leaves: BTreeSet<RegionCode>,
    water: Vec<MultiPolygon<f64>>,
    grids: Vec<Grid>,
    grid_pos: HashMap<String, u32>,
    trees: [RTree<Boxed>; 3],
    hh: Vec<Hh>,
    hh_tree: RTree<Pt>,
    /// Position in `hh` by household id, made at the first household
    /// written ([`Analysis::update_household`]).
    hh_pos: Option<HashMap<i64, usize>>,
    staff: Vec<Staff>,
    staff_pos: HashMap<PersonId, usize>,
    grid_hh: Vec<Vec<u32>>,
    grid_staff: Vec<Vec<u32>>,
    /// Grids nested directly in each grid.
    grid_children: Vec<Vec<u32>>,
    region_geo: HashMap<RegionCode, RegionGeometry>,
    figures: Vec<GridFigures>,
    /// The walking network, when reach is measured along it too.
    walking: Option<std::sync::Arc<Walking>>,
    /// Buildings as candidate places for new carers: (id, centroid).
    buildings: Vec<(i64, Coord<f64>)>,
}

/// A grid as the analysis reads it: one drawn elsewhere and imported, or
/// one of a plan's.
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    pub region: RegionCode,
    pub level: Level,
    pub code: GridCode,
    pub name: String,
    pub parent: Option<GridCode>,
    pub geometry: MultiPolygon<f64>,
}

impl From<&ImportedGrid> for Grid {
    fn from(g: &ImportedGrid) -> Self {
        Self {
            region: g.region,
            level: g.level,
            code: g.code.clone(),
            name: g.name.clone(),
            parent: g.parent.clone(),
            geometry: g.geometry.clone(),
        }
    }
}

impl From<ImportedGrid> for Grid {
    fn from(g: ImportedGrid) -> Self {
        Self {
            region: g.region,
            level: g.level,
            code: g.code,
            name: g.name,
            parent: g.parent,
            geometry: g.geometry,
        }
    }
}

impl Grid {
    /// A grid of `region`'s evaluated plan; named by its code.
    pub fn of_plan(region: RegionCode, g: &crate::partition::plan::Grid) -> Self {
        Self {
            region,
            level: g.level,
            code: g.code.clone(),
            name: g.code.to_string(),
            parent: g.parent.clone(),
            geometry: g.geometry.clone(),
        }
    }
}

/// Everything the analysis reads (copied in; only the network is borrowed).
pub struct Inputs<'d> {
    pub regions: &'d [Region],
    pub grids: &'d [ImportedGrid],
    pub households: &'d [Household],
    pub people: &'d [Person],
    pub water: &'d [Water],
    pub buildings: &'d [crate::domain::Building],
    /// The walking network, for reach by road.
    pub walking: Option<std::sync::Arc<Walking>>,
}

impl<'a> Inputs<'a> {
    /// The layers of a snapshot.
    pub fn of(s: &'a crate::snapshot::Snapshot) -> Self {
        Self {
            regions: s.regions.items(),
            grids: s.grids.items(),
            households: s.households.items(),
            people: s.people.items(),
            water: s.water.items(),
            buildings: s.buildings.items(),
            walking: s.emergency.walking_shared(),
        }
    }
}

fn rect_entry(r: Rect<f64>, i: u32) -> Boxed {
    Boxed::new(
        Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]),
        i,
    )
}

impl Analysis {
    /// Runs the whole analysis.
    pub fn new(input: &Inputs<'_>, policy: &Policy, opts: Options) -> Self {
        let grids = input.grids.iter().map(Grid::from).collect();
        Self::with_grids(input, grids, policy, opts)
    }

    /// Runs the whole analysis over `grids` (the grids in force, see
    /// [`region::grids_in_force`]) instead of `input.grids`.
    pub fn with_grids(
        input: &Inputs<'_>,
        grids: Vec<Grid>,
        policy: &Policy,
        opts: Options,
    ) -> Self {
        let regions: Vec<Region> = input.regions.to_vec();
        let region_pos: HashMap<RegionCode, usize> = regions
            .iter()
            .enumerate()
            .map(|(i, r)| (r.code, i))
            .collect();
        let (parent, children, leaves) = region_tree(&regions);
        let walking = input.walking.clone().filter(|_| opts.by_road);
        let (hh, hh_tree) = household_points(input.households);
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
            water: water_areas(input.water),
            grids: Vec::new(),
            grid_pos: HashMap::new(),
            trees: [RTree::new(), RTree::new(), RTree::new()],
            hh,
            hh_tree,
            hh_pos: None,
            staff: Vec::new(),
            staff_pos: HashMap::new(),
            grid_hh: Vec::new(),
            grid_staff: Vec::new(),
            grid_children: Vec::new(),
            region_geo: HashMap::new(),
            figures: Vec::new(),
            walking,
            buildings,
        };
        a.set_grids(grids);
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
        self.refigure(all)
    }

    /// Recomputes the figures of `all` and of the grids they nest in;
    /// returns their codes.
    fn refigure(&mut self, mut all: BTreeSet<u32>) -> Vec<String> {
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

    /// Region codes known to the analysis.
    pub fn has_region(&self, code: RegionCode) -> bool {
        self.region_pos.contains_key(&code)
    }

    /// Households counted, for progress lines.
    pub fn household_count(&self) -> usize {
        self.hh.iter().filter(|h| h.region.is_some()).count()
    }

    /// Stops honouring the cancel flag it was made with: an analysis kept
    /// beyond the request that made it must not stop early later.
    pub fn keep(&mut self) {
        self.opts.cancel = crate::cancel::Cancel::never();
    }
}

/// Each region's parent, its children (sorted), and the leaves: regions
/// with no child, where grids belong and land is counted.
#[allow(clippy::type_complexity)]
fn region_tree(
    regions: &[Region],
) -> (
    HashMap<RegionCode, RegionCode>,
    HashMap<RegionCode, Vec<RegionCode>>,
    BTreeSet<RegionCode>,
) {
    let parent = crate::domain::region::parents(regions);
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
    (parent, children, leaves)
}

/// Water areas as polygons (land under them is not land to cover).
fn water_areas(water: &[Water]) -> Vec<MultiPolygon<f64>> {
    water
        .iter()
        .filter(|w| w.kind == WaterKind::Area)
        .filter_map(|w| match &w.geometry {
            Geometry::Polygon(p) => Some(MultiPolygon(vec![p.clone()])),
            Geometry::MultiPolygon(m) => Some(m.clone()),
            _ => None,
        })
        .collect()
}

/// Households as the analysis sees them, in no grid yet, and an R-tree
/// of their points.
fn household_points(households: &[Household]) -> (Vec<Hh>, RTree<Pt>) {
    let hh: Vec<Hh> = households.iter().map(Hh::of).collect();
    let tree = RTree::bulk_load(
        hh.iter()
            .enumerate()
            .map(|(i, h)| Pt::new([h.at.x, h.at.y], i as u32))
            .collect(),
    );
    (hh, tree)
}

#[cfg(test)]
mod tests;
