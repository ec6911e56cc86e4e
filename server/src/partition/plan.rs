//! A region's plan from the ground it covers: atoms, the nested solve,
//! codes in reading order, each grid's geometry (the union of its atoms)
//! and its figures.
//!
//! Pure: the caller loads the ground and stores the outcome.

use std::collections::{BTreeMap, HashMap, HashSet};

use geo::{Area, BoundingRect, ConvexHull, Validation};
use geo_types::{Coord, Geometry, MultiPolygon, Rect};
use serde::Serialize;

use super::atoms::{self, Atoms, Cut, Dweller, EdgeKind};
use super::{solve, LevelSpec, Options};
use crate::domain::{
    Atom, GridCode, GridLabel, Household, Level, Plan, PlanVersion, Policy, Region, RegionCode,
    Road, Water,
};
use crate::spatial::projection::LocalProjection;

/// Everything one region's plan is made from.
#[derive(Debug, Clone)]
pub struct Ground<'d> {
    pub region: &'d Region,
    pub roads: Vec<&'d Road>,
    pub water: Vec<&'d Water>,
    pub households: Vec<&'d Household>,
}

/// The leaf regions at or under `within` (all when `None`), each with the
/// roads and water near it and its households.
pub fn grounds<'d>(
    regions: &'d [Region],
    roads: &'d [Road],
    water: &'d [Water],
    households: &'d [Household],
    within: Option<RegionCode>,
) -> Vec<Ground<'d>> {
    let parents = crate::domain::region::parents(regions);
    let has_children: HashSet<RegionCode> = parents.values().copied().collect();
    let under = |mut c: RegionCode| loop {
        if Some(c) == within || within.is_none() {
            return true;
        }
        match parents.get(&c) {
            Some(&p) => c = p,
            None => return false,
        }
    };
    let mut by_region: HashMap<RegionCode, Vec<&Household>> = HashMap::new();
    for h in households {
        if let Some(r) = h.region {
            by_region.entry(r).or_default().push(h);
        }
    }
    regions
        .iter()
        .filter(|r| !has_children.contains(&r.code) && under(r.code))
        .filter_map(|r| {
            let bbox = grow(r.boundary.bounding_rect()?, 0.001);
            Some(Ground {
                region: r,
                // Tunnels run under the blocks: no boundary follows them.
                roads: roads
                    .iter()
                    .filter(|x| x.grade.at_street_level())
                    .filter(|x| x.geometry.bounding_rect().is_some_and(|b| meets(b, bbox)))
                    .collect(),
                water: water
                    .iter()
                    .filter(|x| x.geometry.bounding_rect().is_some_and(|b| meets(b, bbox)))
                    .collect(),
                households: by_region.remove(&r.code).unwrap_or_default(),
            })
        })
        .collect()
}

fn grow(r: Rect<f64>, d: f64) -> Rect<f64> {
    Rect::new(
        (r.min().x - d, r.min().y - d),
        (r.max().x + d, r.max().y + d),
    )
}

fn meets(a: Rect<f64>, b: Rect<f64>) -> bool {
    a.min().x <= b.max().x
        && b.min().x <= a.max().x
        && a.min().y <= b.max().y
        && b.min().y <= a.max().y
}

/// How plans are made, from the policy.
#[derive(Debug, Clone)]
pub struct Settings {
    pub levels: Vec<LevelSpec>,
    pub atoms: atoms::Options,
    pub solver: Options,
    pub code_widths: [usize; 3],
    /// Care level keys, by `CareLevel.0`.
    pub care_keys: Vec<String>,
    /// WGS-84 points level-1 grids grow from (a grid's office, say): each
    /// region holding some gets one level-1 grid per point.
    pub seed_points: Vec<Coord<f64>>,
}

impl Settings {
    pub fn from_policy(p: &Policy) -> Self {
        let levels: Vec<LevelSpec> = p
            .levels
            .iter()
            .map(|l| LevelSpec {
                target: f64::from(l.target_households),
                min: f64::from(l.min_households),
                max: f64::from(l.max_households),
                k: None,
                below: None,
                seeded: false,
            })
            .collect();
        let finest = levels.last().copied();
        Self {
            atoms: atoms::Options {
                max_households: finest.map_or(50, |l| l.max as u32),
                group_households: finest.map_or(20, |l| (l.target / 2.0).ceil() as u32),
                ..atoms::Options::default()
            },
            levels,
            solver: Options::default(),
            code_widths: p.code_widths,
            care_keys: p.care_levels.iter().map(|c| c.key.clone()).collect(),
            seed_points: Vec::new(),
        }
    }
}

/// A plan to build on: its atoms are reused so its labels still mean
/// something, and the grids named in `locked` (any level; the level-1 grid
/// holding one is kept whole, with all its children) stay as they are.
#[derive(Debug, Clone, Copy)]
pub struct Previous<'p> {
    pub plan: &'p Plan,
    pub atoms: &'p [Atom],
    pub locked: &'p [GridCode],
}

/// Why a plan could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("region {0} has an empty boundary")]
    EmptyRegion(RegionCode),
    #[error("locked grid {0} is not in the plan it builds on")]
    UnknownLock(GridCode),
    #[error("the plan it builds on does not match its atoms")]
    Mismatch,
    #[error("{0}")]
    Snap(String),
}

/// Figures of one grid.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GridMetrics {
    pub households: u32,
    /// Households by care level key.
    pub by_care: BTreeMap<String, u32>,
    /// (households − target) / target.
    pub deviation: f64,
    pub in_range: bool,
    /// Connected pieces of its geometry (1 for a sound grid).
    pub pieces: u32,
    pub polsby_popper: f64,
    pub reock: f64,
    /// Share of its boundary with other grids that runs along a road,
    /// river or railway.
    pub road_share: f64,
    pub area_m2: f64,
    pub atoms: u32,
    /// Holds an atom heavier than the level's maximum (one building).
    pub tower: bool,
}

/// One grid of a plan.
#[derive(Debug, Clone, Serialize)]
pub struct Grid {
    pub level: Level,
    /// Dense id within its level (the plan's label).
    pub id: u32,
    pub code: GridCode,
    pub parent: Option<GridCode>,
    /// WGS-84.
    #[serde(skip)]
    pub geometry: MultiPolygon<f64>,
    pub valid: bool,
    pub metrics: GridMetrics,
}

/// Figures of one level.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LevelMetrics {
    pub level: u8,
    pub grids: usize,
    pub in_range: f64,
    pub max_dev: f64,
    pub split: usize,
    /// Grids not inside one grid of the level above.
    pub nest: usize,
    pub pp_mean: f64,
    pub reock_mean: f64,
    pub road_share: f64,
    pub towers: usize,
    pub invalid: usize,
}

impl LevelMetrics {
    /// Figures of the same level over many regions (means weighted by
    /// grids; road share by boundary is approximated by grids too).
    pub fn total(parts: &[&LevelMetrics]) -> LevelMetrics {
        let mut t = LevelMetrics {
            level: parts.first().map_or(0, |p| p.level),
            ..LevelMetrics::default()
        };
        for p in parts {
            let n = p.grids as f64;
            t.grids += p.grids;
            t.in_range += p.in_range * n;
            t.max_dev = t.max_dev.max(p.max_dev);
            t.split += p.split;
            t.nest += p.nest;
            t.pp_mean += p.pp_mean * n;
            t.reock_mean += p.reock_mean * n;
            t.road_share += p.road_share * n;
            t.towers += p.towers;
            t.invalid += p.invalid;
        }
        if t.grids > 0 {
            let n = t.grids as f64;
            t.in_range /= n;
            t.pp_mean /= n;
            t.reock_mean /= n;
            t.road_share /= n;
        }
        t
    }
}

/// A region's plan with everything shown about it.
#[derive(Debug, Clone)]
pub struct RegionPlan {
    pub region: RegionCode,
    /// WGS-84 atoms, ids `0..n`.
    pub atoms: Vec<Atom>,
    /// Grid ids per level, per atom.
    pub labels: Vec<Vec<u32>>,
    pub codes: Vec<Vec<GridCode>>,
    pub grids: Vec<Grid>,
    pub levels: Vec<LevelMetrics>,
    pub households: usize,
    /// The stored version, when this is a saved plan.
    pub version: Option<PlanVersion>,
    /// The region's area, m² (local plane).
    pub area_m2: f64,
    /// Area (m²) where the atoms (so the level-3 grids) and the region
    /// disagree: 0 when they tile it exactly.
    pub tiling_error_m2: f64,
    /// Pairs of atoms that share a boundary (what hand edits keep whole).
    pub adjacency: Vec<(usize, usize)>,
    /// Per-atom figures for measuring grids again after an edit.
    pub ledger: std::sync::Arc<Ledger>,
}

impl RegionPlan {
    /// The plan record to store (the version is the store's to number).
    pub fn to_plan(&self, author: &str, message: &str, parent: Option<i64>) -> Plan {
        let at = |l: usize, a: usize| self.labels.get(l).map_or(0, |v| v[a]);
        let codes = |l: usize| self.codes.get(l).cloned().unwrap_or_default();
        Plan {
            version: PlanVersion::unsaved(self.region, author, message, parent),
            atoms: self.atoms.iter().map(|a| a.id).collect(),
            labels: (0..self.atoms.len())
                .map(|a| GridLabel([at(0, a), at(1, a), at(2, a)]))
                .collect(),
            codes: [codes(0), codes(1), codes(2)],
        }
    }
}

/// The ground in the region's local plane.
struct Local {
    proj: LocalProjection,
    boundary: MultiPolygon<f64>,
    cuts: Vec<Cut>,
    dwellers: Vec<Dweller>,
}

fn local(g: &Ground<'_>) -> Option<Local> {
    let proj = LocalProjection::for_bbox(g.region.boundary.bounding_rect()?);
    let mut cuts = Vec::new();
    for r in &g.roads {
        cuts.push(Cut {
            line: proj.project(&r.geometry),
            kind: EdgeKind::of_road(r.class),
        });
    }
    for w in &g.water {
        let mut rings = Vec::new();
        match &w.geometry {
            Geometry::LineString(l) => rings.push(l.clone()),
            Geometry::MultiLineString(m) => rings.extend(m.0.iter().cloned()),
            Geometry::Polygon(p) => {
                rings.push(p.exterior().clone());
                rings.extend(p.interiors().iter().cloned());
            }
            Geometry::MultiPolygon(m) => {
                for p in &m.0 {
                    rings.push(p.exterior().clone());
                    rings.extend(p.interiors().iter().cloned());
                }
            }
            _ => {}
        }
        for l in rings {
            cuts.push(Cut {
                line: proj.project(&l),
                kind: EdgeKind::River,
            });
        }
    }
    Some(Local {
        boundary: proj.project(&g.region.boundary),
        dwellers: g
            .households
            .iter()
            .map(|h| Dweller {
                at: proj.forward(h.location.0),
                building: h.building,
            })
            .collect(),
        cuts,
        proj,
    })
}

/// Stored atoms in the region's local plane.
fn local_pieces(
    loc: &Local,
    atoms: &[Atom],
) -> Vec<(geo_types::Polygon<f64>, crate::domain::AtomKind)> {
    atoms
        .iter()
        .flat_map(|a| {
            loc.proj
                .project(&a.geometry)
                .0
                .into_iter()
                .map(move |poly| (poly, a.kind))
        })
        .collect()
}

/// Makes a region's plan: atoms from its ground (or those of `previous`),
/// solved level by level, numbered, measured.
pub fn plan_region(
    ground: &Ground<'_>,
    settings: &Settings,
    previous: Option<Previous<'_>>,
) -> Result<RegionPlan, PlanError> {
    let code = ground.region.code;
    let loc = local(ground).ok_or(PlanError::EmptyRegion(code))?;
    let set = match previous {
        Some(p) => atoms::rebuild(
            local_pieces(&loc, p.atoms),
            &loc.cuts,
            &loc.dwellers,
            settings.atoms.max_households,
        ),
        None => atoms::build(&loc.boundary, &loc.cuts, &loc.dwellers, &settings.atoms),
    };
    let seeds = seed_atoms(&loc, &set, &settings.seed_points);
    let labels = match previous {
        Some(p) => solve_around_locks(&set, settings, p, &seeds)?,
        None => {
            let all: Vec<u32> = (0..set.len() as u32).collect();
            solve_seeded(&set, &all, settings, &seeds)
        }
    };
    let codes = number(code, &set, &labels, settings.code_widths, previous);
    Ok(finish(code, &loc, set, labels, codes, ground, settings))
}

/// A stored plan with everything shown about it: its atoms placed on the
/// ground again (households may have moved since), its labels and codes
/// as saved.
pub fn evaluate(
    ground: &Ground<'_>,
    settings: &Settings,
    plan: &Plan,
    atoms: &[Atom],
) -> Result<RegionPlan, PlanError> {
    let code = ground.region.code;
    let loc = local(ground).ok_or(PlanError::EmptyRegion(code))?;
    let pieces = local_pieces(&loc, atoms);
    if pieces.len() != plan.labels.len() {
        return Err(PlanError::Mismatch);
    }
    let set = atoms::rebuild(
        pieces,
        &loc.cuts,
        &loc.dwellers,
        settings.atoms.max_households,
    );
    let levels = settings.levels.len().min(3);
    let labels: Vec<Vec<u32>> = (0..levels)
        .map(|l| plan.labels.iter().map(|g| g.0[l]).collect())
        .collect();
    for (l, lab) in labels.iter().enumerate() {
        if lab.iter().any(|&g| g as usize >= plan.codes[l].len()) {
            return Err(PlanError::Mismatch);
        }
    }
    let codes: Vec<Vec<GridCode>> = (0..levels).map(|l| plan.codes[l].clone()).collect();
    Ok(finish(code, &loc, set, labels, codes, ground, settings))
}

/// Why a grid cannot be split along a line.
#[derive(Debug, thiserror::Error)]
pub enum SplitError {
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error("level 3 has no grid {0}")]
    UnknownGrid(u32),
    #[error("the line does not cross grid {0}")]
    Misses(GridCode),
    #[error("the line must cut grid {code} into two pieces, not {pieces}")]
    Pieces { code: GridCode, pieces: usize },
}

/// A level-3 grid split along a line: the atoms the line crosses cut into
/// new atoms (exact pieces on the region's grid), households placed in
/// them again, the grid's atoms on the line's right-hand side made a new
/// grid of the same parent with the next free code.
#[derive(Debug, Clone)]
pub struct Split {
    /// The new atoms (WGS-84), with ids after the highest in `atoms`.
    pub added: Vec<Atom>,
    /// The plan over the region's atoms after the cut.
    pub plan: Plan,
    /// The atoms of `plan`, in its order.
    pub atoms: Vec<Atom>,
    /// The cut atoms' figures, to measure the two grids without placing
    /// every household again.
    pub ledger: std::sync::Arc<Ledger>,
    /// The two level-3 grids (level index, id) the split made of one.
    pub touched: Vec<(usize, u32)>,
}

/// Splits level-3 grid `grid` of `plan` (over `atoms`, as stored) along
/// `line` (WGS-84).
pub fn split(
    ground: &Ground<'_>,
    settings: &Settings,
    plan: &Plan,
    atoms: &[Atom],
    grid: u32,
    line: &geo_types::LineString<f64>,
) -> Result<Split, SplitError> {
    use geo::{BooleanOps, InteriorPoint};
    let code = ground.region.code;
    let loc = local(ground).ok_or(PlanError::EmptyRegion(code))?;
    let pieces = local_pieces(&loc, atoms);
    if pieces.len() != plan.labels.len() || atoms.len() != plan.labels.len() {
        return Err(PlanError::Mismatch.into());
    }
    let gcode = plan.codes[2]
        .get(grid as usize)
        .cloned()
        .ok_or(SplitError::UnknownGrid(grid))?;
    let snap = atoms::Snap::of(&loc.boundary);
    let members: Vec<usize> = (0..pieces.len())
        .filter(|&a| plan.labels[a].0[2] == grid)
        .collect();
    let shape = atoms::union(snap, members.iter().map(|&a| &pieces[a].0));
    let line = loc.proj.project(line);
    // Only what lies inside the grid cuts: its neighbours stay whole.
    let inside = shape.clip(&geo_types::MultiLineString(vec![line.clone()]), false);
    if inside.0.is_empty() {
        return Err(SplitError::Misses(gcode));
    }
    let side = |p: Coord<f64>| right_of(&line, p);
    let mut next_id = atoms.iter().map(|a| a.id).max().map_or(0, |m| m + 1);
    let mut out_pieces = Vec::with_capacity(pieces.len() + 8);
    let mut out_atoms = Vec::with_capacity(pieces.len() + 8);
    let mut labels = Vec::with_capacity(pieces.len() + 8);
    let mut added = Vec::new();
    let mut right = Vec::new();
    for (a, (poly, kind)) in pieces.iter().enumerate() {
        let mine = plan.labels[a].0[2] == grid;
        let parts = if mine {
            let mut parts = vec![poly.clone()];
            for l in &inside.0 {
                parts = parts.iter().flat_map(|p| atoms::cut(snap, p, l)).collect();
            }
            parts
        } else {
            vec![poly.clone()]
        };
        let whole = parts.len() == 1;
        for p in parts {
            if mine {
                let at = p.interior_point().map_or(Coord { x: 0.0, y: 0.0 }, |q| q.0);
                if side(at) {
                    right.push(out_pieces.len());
                }
            }
            let atom = if whole {
                atoms[a].clone()
            } else {
                let n = Atom {
                    id: next_id,
                    region: code,
                    kind: *kind,
                    geometry: loc.proj.unproject(&MultiPolygon(vec![p.clone()])),
                };
                next_id += 1;
                added.push(n.clone());
                n
            };
            out_atoms.push(atom);
            labels.push(plan.labels[a]);
            out_pieces.push((p, *kind));
        }
    }
    let mine: Vec<usize> = (0..labels.len())
        .filter(|&i| labels[i].0[2] == grid)
        .collect();
    if right.is_empty() || right.len() == mine.len() {
        return Err(SplitError::Pieces {
            code: gcode,
            pieces: 1,
        });
    }
    let set = atoms::rebuild(
        out_pieces,
        &loc.cuts,
        &loc.dwellers,
        settings.atoms.max_households,
    );
    // Each side must be one piece, or the line wandered in and out.
    let left: Vec<usize> = mine
        .iter()
        .copied()
        .filter(|i| !right.contains(i))
        .collect();
    for part in [&left, &right] {
        let n = components(part, &set.edges);
        if n != 1 {
            return Err(SplitError::Pieces {
                code: gcode,
                pieces: n + 1,
            });
        }
    }
    let new_id = plan.codes[2].len() as u32;
    for &i in &right {
        labels[i].0[2] = new_id;
    }
    let mut codes = plan.codes.clone();
    codes[2].push(next_code(&plan.codes[2], &gcode, settings.code_widths[2]));
    Ok(Split {
        added,
        plan: Plan {
            version: plan.version.clone(),
            atoms: out_atoms.iter().map(|a| a.id).collect(),
            labels,
            codes,
        },
        atoms: out_atoms,
        ledger: std::sync::Arc::new(Ledger::new(set, &loc, ground, settings)),
        touched: vec![(2, grid), (2, new_id)],
    })
}

/// Solves again everything under grid `parent` of level index `level`
/// (0 or 1) but its children that are locked (or hold a locked grid),
/// which keep their atoms, ids and codes; the new grids below take codes
/// after every code the plan has under their parent. The result keeps ids
/// dense per level.
pub fn resolve(
    rp: &RegionPlan,
    plan: &Plan,
    settings: &Settings,
    level: usize,
    parent: u32,
    locked: &HashSet<GridCode>,
) -> Result<Plan, PlanError> {
    let n = plan.labels.len();
    if n != rp.ledger.set.len() || level > 1 {
        return Err(PlanError::Mismatch);
    }
    let child = level + 1;
    let under: Vec<usize> = (0..n)
        .filter(|&a| plan.labels[a].0[level] == parent)
        .collect();
    // Children kept: locked themselves, or holding a locked grid.
    let mut kept: HashSet<u32> = HashSet::new();
    for &a in &under {
        let lab = plan.labels[a].0;
        if (child..3).any(|l| locked.contains(&plan.codes[l][lab[l] as usize])) {
            kept.insert(lab[child]);
        }
    }
    let free: Vec<u32> = under
        .iter()
        .copied()
        .filter(|&a| !kept.contains(&plan.labels[a].0[child]))
        .map(|a| a as u32)
        .collect();
    if free.is_empty() {
        return Ok(plan.clone());
    }
    let g = rp.ledger.set.subgraph(&free, &settings.atoms.barriers);
    let sub = solve(&g, &settings.levels[child..], &settings.solver);
    let mut next = plan.clone();
    // New grids go after the existing ones; emptied ones are dropped below.
    let base: Vec<u32> = (0..3).map(|l| plan.codes[l].len() as u32).collect();
    let fresh: Vec<u32> = (0..3)
        .map(|l| {
            if l < child {
                0
            } else {
                sub[l - child].iter().copied().max().map_or(0, |m| m + 1)
            }
        })
        .collect();
    for (i, &a) in free.iter().enumerate() {
        for l in child..3 {
            next.labels[a as usize].0[l] = base[l] + sub[l - child][i];
        }
    }
    for l in child..3 {
        for k in 0..fresh[l] {
            // Placeholder until its parent's code is known.
            next.codes[l].push(GridCode(format!("#{}", base[l] + k)));
        }
    }
    let mut next = drop_empty(next);
    // Codes for the new grids, level by level under their parents' codes.
    for l in child..3 {
        let width = settings.code_widths[l];
        for g in 0..next.codes[l].len() {
            if !next.codes[l][g].0.starts_with('#') {
                continue;
            }
            let Some(a) = next.labels.iter().position(|x| x.0[l] as usize == g) else {
                continue;
            };
            let up = next.labels[a].0[l - 1] as usize;
            let prefix = next.codes[l - 1][up].0.clone();
            let all: Vec<GridCode> = plan.codes[l]
                .iter()
                .chain(next.codes[l].iter())
                .cloned()
                .collect();
            let high = all
                .iter()
                .filter(|c| c.0.len() == prefix.len() + width && c.0.starts_with(&prefix))
                .filter_map(|c| c.0[prefix.len()..].parse::<u32>().ok())
                .max()
                .unwrap_or(0);
            next.codes[l][g] = GridCode(format!("{prefix}{:0width$}", high + 1));
        }
    }
    Ok(next)
}

/// The plan without grids that hold no atom, ids dense again.
fn drop_empty(mut p: Plan) -> Plan {
    for l in 0..3 {
        let mut used = vec![false; p.codes[l].len()];
        for x in &p.labels {
            if let Some(u) = used.get_mut(x.0[l] as usize) {
                *u = true;
            }
        }
        let mut map = vec![u32::MAX; used.len()];
        let mut codes = Vec::new();
        for (g, &u) in used.iter().enumerate() {
            if u {
                map[g] = codes.len() as u32;
                codes.push(p.codes[l][g].clone());
            }
        }
        for x in &mut p.labels {
            x.0[l] = map[x.0[l] as usize];
        }
        p.codes[l] = codes;
    }
    p
}

/// Grids drawn elsewhere snapped onto a plan's atoms, and what moved.
#[derive(Debug, Clone)]
pub struct Snapped {
    /// Over the same atoms as the plan snapped onto; codes as drawn.
    pub plan: Plan,
    /// Households whose snapped grid is not the level-3 grid drawn around
    /// them: (household id, drawn grid or none, snapped grid).
    pub moved: Vec<(crate::domain::HouseholdId, Option<GridCode>, GridCode)>,
    /// Land now in another level-3 grid than drawn (or drawn in none), m².
    pub area_changed_m2: f64,
    pub warnings: Vec<String>,
}

/// Snaps `drawn` grids (of `ground`'s region) onto the atoms of `rp`:
/// each atom goes to the level-3 grid covering most of it, atoms no grid
/// covers to a neighbour's grid, and stray pieces of a grid to the grid
/// around them, so every grid is one piece and every household in one
/// grid. A level-3 grid goes under the level-2 grid its `parent` names or
/// that covers most of it (likewise level 2 under level 1); a level drawn
/// with no grid gets one per parent.
pub fn snap(
    rp: &RegionPlan,
    ground: &Ground<'_>,
    drawn: &[&crate::domain::ImportedGrid],
    widths: [usize; 3],
) -> Result<Snapped, PlanError> {
    use geo::{BooleanOps, Intersects};
    let lg = &rp.ledger;
    let n = lg.set.len();
    if n == 0 {
        return Err(PlanError::EmptyRegion(rp.region));
    }
    let by_level = |l: u8| -> Vec<&crate::domain::ImportedGrid> {
        drawn
            .iter()
            .copied()
            .filter(|g| g.level.get() == l && g.geometry.bounding_rect().is_some())
            .collect()
    };
    let (d1, d2, d3) = (by_level(1), by_level(2), by_level(3));
    if d3.is_empty() {
        return Err(PlanError::Snap(
            "no level-3 grid was drawn in the region".into(),
        ));
    }
    let local = |gs: &[&crate::domain::ImportedGrid]| -> Vec<(MultiPolygon<f64>, Rect<f64>)> {
        gs.iter()
            .filter_map(|g| {
                let m = lg.proj.project(&g.geometry);
                let r = m.bounding_rect()?;
                Some((m, r))
            })
            .collect()
    };
    let (l1, l2, l3) = (local(&d1), local(&d2), local(&d3));
    // Area of atom `a` inside each drawn grid of a level.
    let overlap = |a: usize, shapes: &[(MultiPolygon<f64>, Rect<f64>)]| -> Vec<f64> {
        let p = &lg.set.geometry[a];
        let Some(pr) = p.bounding_rect() else {
            return vec![0.0; shapes.len()];
        };
        shapes
            .iter()
            .map(|(m, r)| {
                if meets(pr, *r) {
                    MultiPolygon(vec![p.clone()])
                        .intersection(m)
                        .unsigned_area()
                } else {
                    0.0
                }
            })
            .collect()
    };
    let cover3: Vec<Vec<f64>> = (0..n).map(|a| overlap(a, &l3)).collect();
    let mut grid: Vec<Option<usize>> = cover3
        .iter()
        .enumerate()
        .map(|(a, c)| {
            let (best, area) = c
                .iter()
                .enumerate()
                .max_by(|x, y| x.1.total_cmp(y.1))
                .map(|(i, v)| (i, *v))?;
            (area > 1e-6 * lg.set.area_m2[a].max(1e-9)).then_some(best)
        })
        .collect();
    let mut next: Vec<Vec<usize>> = vec![Vec::new(); n];
    for &(a, b) in &rp.adjacency {
        next[a].push(b);
        next[b].push(a);
    }
    let mut warnings = Vec::new();
    // Atoms in no drawn grid: the grid of a neighbour, breadth first.
    let uncovered = grid.iter().filter(|g| g.is_none()).count();
    if uncovered > 0 {
        warnings.push(format!(
            "{uncovered} atoms lie in no drawn grid: given to a neighbouring grid"
        ));
    }
    for _ in 0..n {
        let mut changed = false;
        for a in 0..n {
            if grid[a].is_none() {
                if let Some(g) = next[a].iter().find_map(|&b| grid[b]) {
                    grid[a] = Some(g);
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    // An island of atoms with no covered neighbour: the first drawn grid.
    let mut grid: Vec<usize> = grid.into_iter().map(|g| g.unwrap_or(0)).collect();
    // Every grid one piece: its smaller pieces go to the grid they touch
    // most, until nothing moves.
    for _ in 0..8 {
        let mut moved = false;
        for g in 0..l3.len() {
            let mine: Vec<usize> = (0..n).filter(|&a| grid[a] == g).collect();
            let parts = parts_of(&mine, &next);
            for part in parts.iter().skip(1) {
                let mut votes: HashMap<usize, usize> = HashMap::new();
                for &a in part {
                    for &b in &next[a] {
                        if grid[b] != g {
                            *votes.entry(grid[b]).or_default() += 1;
                        }
                    }
                }
                if let Some((&to, _)) = votes
                    .iter()
                    .max_by_key(|(k, v)| (**v, std::cmp::Reverse(**k)))
                {
                    for &a in part {
                        grid[a] = to;
                    }
                    moved = true;
                }
            }
            if parts.len() > 1 {
                warnings.push(format!(
                    "{} was drawn in {} pieces: the smaller ones joined the grids around them",
                    d3[g].code,
                    parts.len()
                ));
            }
        }
        if !moved {
            break;
        }
    }
    // Parents by name, else by the most area.
    let used3: Vec<usize> = {
        let mut u: Vec<usize> = grid.clone();
        u.sort_unstable();
        u.dedup();
        u
    };
    let area_in = |atoms: &[usize], shapes: &[(MultiPolygon<f64>, Rect<f64>)]| -> Option<usize> {
        let mut tot = vec![0.0; shapes.len()];
        for &a in atoms {
            for (i, v) in overlap(a, shapes).into_iter().enumerate() {
                tot[i] += v;
            }
        }
        tot.iter()
            .enumerate()
            .max_by(|x, y| x.1.total_cmp(y.1))
            .filter(|x| *x.1 > 0.0)
            .map(|x| x.0)
    };
    let atoms_of =
        |g: usize, of: &[usize]| -> Vec<usize> { (0..n).filter(|&a| of[a] == g).collect() };
    let region = rp.region;
    // Level 2 of each level-3 grid (an index into d2, or a made-up one).
    let parent2: HashMap<usize, Option<usize>> = used3
        .iter()
        .map(|&g| {
            let named = d3[g]
                .parent
                .as_ref()
                .and_then(|p| d2.iter().position(|x| &x.code == p));
            (g, named.or_else(|| area_in(&atoms_of(g, &grid), &l2)))
        })
        .collect();
    let grid2: Vec<Option<usize>> = (0..n).map(|a| parent2[&grid[a]]).collect();
    let parent1 = |g2: Option<usize>, atoms: &[usize]| -> Option<usize> {
        let named = g2
            .and_then(|g| d2[g].parent.as_ref())
            .and_then(|p| d1.iter().position(|x| &x.code == p));
        named.or_else(|| area_in(atoms, &l1))
    };
    let mut p1_of_2: HashMap<Option<usize>, Option<usize>> = HashMap::new();
    for a in 0..n {
        p1_of_2.entry(grid2[a]).or_insert_with(|| {
            let atoms: Vec<usize> = (0..n).filter(|&b| grid2[b] == grid2[a]).collect();
            parent1(grid2[a], &atoms)
        });
    }
    // Labels and codes, ids in order of first appearance.
    let mut codes: [Vec<GridCode>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    let mut ids: [HashMap<String, u32>; 3] = [HashMap::new(), HashMap::new(), HashMap::new()];
    let mut id_of = |l: usize, code: GridCode, codes: &mut [Vec<GridCode>; 3]| -> u32 {
        let k = code.0.clone();
        *ids[l].entry(k).or_insert_with(|| {
            codes[l].push(code);
            (codes[l].len() - 1) as u32
        })
    };
    let made = |prefix: &str, w: usize| GridCode(format!("{prefix}{:0w$}", 1));
    let mut labels = Vec::with_capacity(n);
    for a in 0..n {
        let c1 = match p1_of_2[&grid2[a]] {
            Some(i) => d1[i].code.clone(),
            None => made(&region.to_string(), widths[0]),
        };
        let c2 = match grid2[a] {
            Some(i) => d2[i].code.clone(),
            None => made(&c1.0, widths[1]),
        };
        let c3 = d3[grid[a]].code.clone();
        labels.push(GridLabel([
            id_of(0, c1, &mut codes),
            id_of(1, c2, &mut codes),
            id_of(2, c3, &mut codes),
        ]));
    }
    let plan = Plan {
        version: PlanVersion::unsaved(region, "", "", None),
        atoms: rp.atoms.iter().map(|a| a.id).collect(),
        labels,
        codes,
    };
    // Nesting: a level-2 grid whose atoms are under two level-1 grids,
    // or a grid in pieces above level 3, is reported.
    for l in 0..2 {
        for (g, c) in plan.codes[l].iter().enumerate() {
            let mine: Vec<usize> = (0..n)
                .filter(|&a| plan.labels[a].0[l] as usize == g)
                .collect();
            let k = parts_of(&mine, &next).len();
            if k > 1 {
                warnings.push(format!(
                    "level-{} grid {c} is in {k} pieces after snapping",
                    l + 1
                ));
            }
        }
    }
    // What changed grid: households, and land.
    let mut moved = Vec::new();
    for (h, hh) in ground.households.iter().enumerate() {
        let Some(a) = lg.atom_of_household(h) else {
            continue;
        };
        let to = d3[grid[a]].code.clone();
        let from = d3
            .iter()
            .find(|g| g.geometry.intersects(&hh.location))
            .map(|g| g.code.clone());
        if from.as_ref() != Some(&to) {
            moved.push((hh.id, from, to));
        }
    }
    let area_changed_m2 = (0..n)
        .map(|a| (lg.set.area_m2[a] - cover3[a].get(grid[a]).copied().unwrap_or(0.0)).max(0.0))
        .sum();
    Ok(Snapped {
        plan,
        moved,
        area_changed_m2,
        warnings,
    })
}

/// Connected parts of `atoms` over the neighbour lists, largest first.
fn parts_of(atoms: &[usize], next: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let set: HashSet<usize> = atoms.iter().copied().collect();
    let mut seen = HashSet::new();
    let mut parts = Vec::new();
    for &s in atoms {
        if !seen.insert(s) {
            continue;
        }
        let mut part = vec![s];
        let mut stack = vec![s];
        while let Some(a) = stack.pop() {
            for &b in &next[a] {
                if set.contains(&b) && seen.insert(b) {
                    part.push(b);
                    stack.push(b);
                }
            }
        }
        parts.push(part);
    }
    parts.sort_by_key(|p| std::cmp::Reverse(p.len()));
    parts
}

/// The generated community the plan and edit tests work on.
#[cfg(test)]
pub(crate) mod fixture {
    use super::{grounds, Ground, Settings};
    use crate::generate::{generate, Generated, Params};

    /// A city of 6,000 households (seed 3).
    pub fn city() -> Generated {
        generate(
            Params {
                households: 6_000,
                seed: 3,
            },
            &mut |_| {},
        )
    }

    /// Its community with the most households, and the ankang policy's
    /// settings.
    pub fn community(city: &Generated) -> (Ground<'_>, Settings) {
        let all = grounds(
            &city.regions,
            &city.roads,
            &city.water,
            &city.households,
            None,
        );
        let ground = all
            .into_iter()
            .max_by_key(|x| x.households.len())
            .expect("a community");
        let policy = crate::domain::Policy::preset("ankang").expect("the ankang preset");
        (ground, Settings::from_policy(&policy))
    }
}

/// Whether `p` lies right of the polyline, judged by its nearest segment.
fn right_of(line: &geo_types::LineString<f64>, p: Coord<f64>) -> bool {
    let mut best = (f64::INFINITY, false);
    for s in line.lines() {
        let (d, q) = (s.delta(), p - s.start);
        let len2 = d.x * d.x + d.y * d.y;
        let t = if len2 > 0.0 {
            ((q.x * d.x + q.y * d.y) / len2).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let (ex, ey) = (q.x - t * d.x, q.y - t * d.y);
        let dist = ex * ex + ey * ey;
        if dist < best.0 {
            best = (dist, d.x * q.y - d.y * q.x < 0.0);
        }
    }
    best.1
}

/// Connected parts of `atoms` over `edges`.
fn components(atoms: &[usize], edges: &[atoms::Edge]) -> usize {
    let set: HashSet<usize> = atoms.iter().copied().collect();
    let mut next: HashMap<usize, Vec<usize>> = HashMap::new();
    for e in edges {
        let (a, b) = (e.a as usize, e.b as usize);
        if set.contains(&a) && set.contains(&b) {
            next.entry(a).or_default().push(b);
            next.entry(b).or_default().push(a);
        }
    }
    let mut seen = HashSet::new();
    let mut n = 0;
    for &s in atoms {
        if !seen.insert(s) {
            continue;
        }
        n += 1;
        let mut stack = vec![s];
        while let Some(a) = stack.pop() {
            for &b in next.get(&a).into_iter().flatten() {
                if seen.insert(b) {
                    stack.push(b);
                }
            }
        }
    }
    n
}

/// The next code beside `sibling` (same parent prefix): one more than the
/// highest sequence number among `codes` under that prefix.
fn next_code(codes: &[GridCode], sibling: &GridCode, width: usize) -> GridCode {
    let s = sibling.as_str();
    let prefix = &s[..s.len().saturating_sub(width)];
    let high = codes
        .iter()
        .filter(|c| c.0.len() == s.len() && c.0.starts_with(prefix))
        .filter_map(|c| c.0[prefix.len()..].parse::<u32>().ok())
        .max()
        .unwrap_or(0);
    GridCode(format!("{prefix}{:0width$}", high + 1))
}

/// Plans many regions, a region per thread at a time (each region's own
/// solve then runs on one thread); `done` hears of each as it finishes.
/// Results come back in the order of `grounds`.
pub fn plan_all<'p>(
    grounds: &[Ground<'_>],
    settings: &Settings,
    previous: &(dyn Fn(RegionCode) -> Option<Previous<'p>> + Sync),
    done: &(dyn Fn(&Ground<'_>, &Result<RegionPlan, PlanError>) + Sync),
) -> Vec<Result<RegionPlan, PlanError>> {
    let threads = settings.solver.threads.max(1).min(grounds.len().max(1));
    let one = Settings {
        solver: Options {
            threads: if threads > 1 {
                1
            } else {
                settings.solver.threads
            },
            ..settings.solver
        },
        ..settings.clone()
    };
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut out: Vec<(usize, Result<RegionPlan, PlanError>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(g) = grounds.get(i) else { break };
                        let r = plan_region(g, &one, previous(g.region.code));
                        done(g, &r);
                        mine.push((i, r));
                    }
                    mine
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("plan thread"))
            .collect()
    });
    out.sort_by_key(|r| r.0);
    out.into_iter().map(|r| r.1).collect()
}

/// The atoms holding seed points (WGS-84) that fall in the region.
fn seed_atoms(loc: &Local, set: &Atoms, points: &[Coord<f64>]) -> Vec<u32> {
    use geo::Intersects;
    let mut out = Vec::new();
    for &p in points {
        let at = geo_types::Point(loc.proj.forward(p));
        if !loc.boundary.intersects(&at) {
            continue;
        }
        if let Some(a) = set.geometry.iter().position(|g| g.intersects(&at)) {
            if !out.contains(&(a as u32)) {
                out.push(a as u32);
            }
        }
    }
    out
}

/// Solves the atoms `keep` (all levels), level-1 growth starting from the
/// seed atoms when there are any.
fn solve_seeded(set: &Atoms, keep: &[u32], settings: &Settings, seeds: &[u32]) -> Vec<Vec<u32>> {
    let mut g = set.subgraph(keep, &settings.atoms.barriers);
    let mut levels = settings.levels.clone();
    for (i, &a) in keep.iter().enumerate() {
        if seeds.contains(&a) {
            g.seed[i] = true;
            if let Some(l) = levels.first_mut() {
                l.seeded = true;
            }
        }
    }
    solve(&g, &levels, &settings.solver)
}

/// Solves everything but the level-1 grids holding a locked grid, which
/// keep their labels (and come first).
fn solve_around_locks(
    set: &Atoms,
    settings: &Settings,
    p: Previous<'_>,
    seeds: &[u32],
) -> Result<Vec<Vec<u32>>, PlanError> {
    let plan = p.plan;
    if plan.labels.len() != set.len() || plan.atoms.len() != set.len() {
        return Err(PlanError::Mismatch);
    }
    let mut locked_l1: Vec<u32> = Vec::new();
    for c in p.locked {
        let hit = (0..3).find_map(|l| {
            plan.codes[l]
                .iter()
                .position(|x| x == c)
                .map(|id| (l, id as u32))
        });
        let Some((l, id)) = hit else {
            return Err(PlanError::UnknownLock(c.clone()));
        };
        if let Some(a) = plan.labels.iter().position(|g| g.0[l] == id) {
            let top = plan.labels[a].0[0];
            if !locked_l1.contains(&top) {
                locked_l1.push(top);
            }
        }
    }
    locked_l1.sort_unstable();
    let is_locked = |a: usize| locked_l1.binary_search(&plan.labels[a].0[0]).is_ok();
    let free: Vec<u32> = (0..set.len() as u32)
        .filter(|&a| !is_locked(a as usize))
        .collect();
    let sub_labels = solve_seeded(set, &free, settings, seeds);
    let levels = settings.levels.len();
    let mut labels = vec![vec![0u32; set.len()]; levels];
    // Kept grids first, in their old order, then the new ones.
    let mut offset = vec![0u32; levels];
    let mut kept_ids: Vec<HashMap<u32, u32>> = vec![HashMap::new(); levels];
    for a in 0..set.len() {
        if is_locked(a) {
            for l in 0..levels {
                let old = plan.labels[a].0[l];
                let n = kept_ids[l].len() as u32;
                let id = *kept_ids[l].entry(old).or_insert(n);
                labels[l][a] = id;
            }
        }
    }
    for l in 0..levels {
        offset[l] = kept_ids[l].len() as u32;
    }
    for (i, &a) in free.iter().enumerate() {
        for l in 0..levels {
            labels[l][a as usize] = offset[l] + sub_labels[l][i];
        }
    }
    Ok(labels)
}

/// Codes: region code + one sequence number per level. Children of a
/// parent are numbered in reading order (rows north → south, west → east
/// within a row). A grid keeps its old code when it was kept whole (locked)
/// or has exactly its old atoms under an unchanged parent; new grids take
/// the next free numbers.
fn number(
    region: RegionCode,
    set: &Atoms,
    labels: &[Vec<u32>],
    widths: [usize; 3],
    previous: Option<Previous<'_>>,
) -> Vec<Vec<GridCode>> {
    let levels = labels.len();
    // Old grids by (level, atoms).
    let mut old: HashMap<(usize, Vec<u32>), GridCode> = HashMap::new();
    if let Some(p) = previous {
        for l in 0..levels.min(3) {
            let mut by: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
            for (a, g) in p.plan.labels.iter().enumerate() {
                by.entry(g.0[l]).or_default().push(a as u32);
            }
            for (id, atoms) in by {
                if let Some(c) = p.plan.codes[l].get(id as usize) {
                    old.insert((l, atoms), c.clone());
                }
            }
        }
    }
    let mut codes: Vec<Vec<GridCode>> = Vec::with_capacity(levels);
    for l in 0..levels {
        let n = labels[l]
            .iter()
            .copied()
            .max()
            .map_or(0, |m| m as usize + 1);
        let mut members = vec![Vec::new(); n];
        for (a, &g) in labels[l].iter().enumerate() {
            members[g as usize].push(a as u32);
        }
        // Parent of each grid (the level above; the region for level 1).
        let parent: Vec<Option<u32>> = (0..n)
            .map(|g| {
                let a = *members[g].first()? as usize;
                (l > 0).then(|| labels[l - 1][a])
            })
            .collect();
        let mut level_codes = vec![GridCode(String::new()); n];
        let mut by_parent: BTreeMap<Option<u32>, Vec<usize>> = BTreeMap::new();
        for g in 0..n {
            if !members[g].is_empty() {
                by_parent.entry(parent[g]).or_default().push(g);
            }
        }
        for (p, mut kids) in by_parent {
            let prefix = match p {
                Some(p) => codes[l - 1][p as usize].0.clone(),
                None => region.to_string(),
            };
            let width = widths[l.min(2)];
            let mut used: HashSet<u32> = HashSet::new();
            let mut todo = Vec::new();
            reading_order(set, &members, &mut kids);
            for g in kids {
                let keep = old
                    .get(&(l, members[g].clone()))
                    .filter(|c| c.0.len() == prefix.len() + width && c.0.starts_with(&prefix))
                    .cloned();
                match keep {
                    Some(c) => {
                        if let Ok(s) = c.0[prefix.len()..].parse::<u32>() {
                            used.insert(s);
                        }
                        level_codes[g] = c;
                    }
                    None => todo.push(g),
                }
            }
            let mut next = used.iter().copied().max().unwrap_or(0) + 1;
            for g in todo {
                while used.contains(&next) {
                    next += 1;
                }
                used.insert(next);
                level_codes[g] = GridCode(format!("{prefix}{next:0width$}"));
            }
        }
        codes.push(level_codes);
    }
    codes
}

/// Sorts grids into reading order by their household- or area-weighted
/// centre: rows as tall as a typical grid, north first, west first.
fn reading_order(set: &Atoms, members: &[Vec<u32>], kids: &mut [usize]) {
    let centre = |g: usize| {
        let (mut x, mut y, mut w) = (0.0, 0.0, 0.0);
        for &a in &members[g] {
            let a = a as usize;
            let wt = set.area_m2[a].max(1e-9);
            x += set.centroid[a].x * wt;
            y += set.centroid[a].y * wt;
            w += wt;
        }
        (x / w, y / w)
    };
    let area: f64 = kids
        .iter()
        .flat_map(|&g| members[g].iter())
        .map(|&a| set.area_m2[a as usize])
        .sum();
    let band = (area / kids.len().max(1) as f64).sqrt().max(1.0);
    let top = kids.iter().map(|&g| centre(g).1).fold(f64::MIN, f64::max);
    kids.sort_by(|&a, &b| {
        let (ca, cb) = (centre(a), centre(b));
        let (ra, rb) = (((top - ca.1) / band).floor(), ((top - cb.1) / band).floor());
        ra.total_cmp(&rb)
            .then(ca.0.total_cmp(&cb.0))
            .then(a.cmp(&b))
    });
}

fn finish(
    region: RegionCode,
    loc: &Local,
    set: Atoms,
    labels: Vec<Vec<u32>>,
    codes: Vec<Vec<GridCode>>,
    ground: &Ground<'_>,
    settings: &Settings,
) -> RegionPlan {
    let adjacency = set
        .edges
        .iter()
        .map(|e| (e.a as usize, e.b as usize))
        .collect();
    let ledger = Ledger::new(set, loc, ground, settings);
    let mut grids = Vec::new();
    let mut levels = Vec::new();
    for l in 0..labels.len() {
        let n = codes[l].len();
        let members = Ledger::members(&labels[l], n);
        let (cut, along) = ledger.cuts(&labels[l], n);
        let mut lm = LevelMetrics {
            level: l as u8 + 1,
            grids: n,
            ..LevelMetrics::default()
        };
        let (mut sum_cut, mut sum_along) = (0.0, 0.0);
        for g in 0..n {
            if members[g].is_empty() {
                continue;
            }
            let grid = ledger.grid(l, g, &members[g], &labels, &codes, (cut[g], along[g]));
            if l > 0 {
                let p = labels[l - 1][members[g][0]];
                if members[g].iter().any(|&a| labels[l - 1][a] != p) {
                    lm.nest += 1;
                }
            }
            let m = &grid.metrics;
            lm.in_range += f64::from(u8::from(m.in_range));
            lm.max_dev = lm.max_dev.max(m.deviation.abs());
            lm.split += usize::from(m.pieces > 1);
            lm.pp_mean += m.polsby_popper;
            lm.reock_mean += m.reock;
            lm.towers += usize::from(m.tower);
            lm.invalid += usize::from(!grid.valid);
            sum_cut += cut[g];
            sum_along += along[g];
            grids.push(grid);
        }
        if n > 0 {
            lm.in_range /= n as f64;
            lm.pp_mean /= n as f64;
            lm.reock_mean /= n as f64;
        }
        lm.road_share = if sum_cut > 0.0 {
            sum_along / sum_cut
        } else {
            1.0
        };
        levels.push(lm);
    }
    let tiling_error_m2 = atoms::tiling_error(ledger.snap, &ledger.set.geometry, &loc.boundary);
    let atoms = ledger
        .set
        .geometry
        .iter()
        .zip(&ledger.set.kind)
        .enumerate()
        .map(|(i, (p, &kind))| Atom {
            id: i as u32,
            region,
            kind,
            geometry: loc.proj.unproject(&MultiPolygon(vec![p.clone()])),
        })
        .collect();
    RegionPlan {
        region,
        atoms,
        labels,
        codes,
        grids,
        levels,
        households: ground.households.len(),
        version: None,
        area_m2: loc.boundary.unsigned_area(),
        tiling_error_m2,
        adjacency,
        ledger: std::sync::Arc::new(ledger),
    }
}

/// Whether a set of households all live in one building.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OneBuilding {
    /// No households.
    Empty,
    One(i64),
    /// Several buildings, or some household in none.
    Several,
}

impl OneBuilding {
    fn with(self, building: Option<i64>) -> Self {
        self.join(building.map_or(Self::Several, Self::One))
    }

    fn join(self, other: Self) -> Self {
        match (self, other) {
            (Self::Empty, x) | (x, Self::Empty) => x,
            (Self::One(a), Self::One(b)) if a == b => Self::One(a),
            _ => Self::Several,
        }
    }
}

/// What a grid's figures are made of, per atom, kept with an evaluated
/// plan so that the grids an edit touches are measured again without
/// placing a household or cutting an atom.
#[derive(Debug)]
pub struct Ledger {
    /// The atoms in the region's local plane.
    set: Atoms,
    /// Households per atom by care level index.
    care: Vec<Vec<u32>>,
    /// The one building all of an atom's households live in, if they do
    /// (a tower cut between its households gives several such atoms).
    building: Vec<OneBuilding>,
    proj: LocalProjection,
    snap: atoms::Snap,
    degrees: atoms::Snap,
    levels: Vec<LevelSpec>,
    care_keys: Vec<String>,
}

impl Ledger {
    fn new(set: Atoms, loc: &Local, ground: &Ground<'_>, settings: &Settings) -> Self {
        let keys = settings.care_keys.len().max(3);
        let mut care = vec![vec![0u32; keys]; set.len()];
        let mut building = vec![OneBuilding::Empty; set.len()];
        for (h, &a) in set.of_household.iter().enumerate() {
            if a != u32::MAX {
                let c = usize::from(ground.households[h].care.0).min(keys - 1);
                care[a as usize][c] += 1;
                let b = &mut building[a as usize];
                *b = b.with(ground.households[h].building);
            }
        }
        Self {
            snap: atoms::Snap::of(&loc.boundary),
            degrees: ground
                .region
                .boundary
                .bounding_rect()
                .map_or(atoms::Snap::within(180.0), |r| {
                    atoms::Snap::around(r.center(), r.width().max(r.height()))
                }),
            proj: loc.proj,
            care,
            building,
            levels: settings.levels.clone(),
            care_keys: settings.care_keys.clone(),
            set,
        }
    }

    /// Households in each atom.
    pub fn households(&self) -> &[u32] {
        &self.set.households
    }

    /// The atom of each household of the region's ground, in its order
    /// (`None` for one outside every atom).
    pub fn atom_of_household(&self, h: usize) -> Option<usize> {
        self.set
            .of_household
            .get(h)
            .filter(|&&a| a != u32::MAX)
            .map(|&a| a as usize)
    }

    /// Households of the atom by care level index.
    pub fn care(&self, atom: usize) -> &[u32] {
        &self.care[atom]
    }

    /// The local plane the atoms were cut in.
    pub fn projection(&self) -> &LocalProjection {
        &self.proj
    }

    /// Atom polygons in the local plane.
    pub fn local_atoms(&self) -> &[geo_types::Polygon<f64>] {
        &self.set.geometry
    }

    fn members(labels: &[u32], n: usize) -> Vec<Vec<usize>> {
        let mut members = vec![Vec::new(); n];
        for (a, &g) in labels.iter().enumerate() {
            if let Some(m) = members.get_mut(g as usize) {
                m.push(a);
            }
        }
        members
    }

    /// Boundary of each grid with other grids, and the part of it along
    /// lines (roads, rivers, railways), metres.
    fn cuts(&self, labels: &[u32], n: usize) -> (Vec<f64>, Vec<f64>) {
        let (mut cut, mut along) = (vec![0.0; n], vec![0.0; n]);
        for e in &self.set.edges {
            let (ga, gb) = (labels[e.a as usize] as usize, labels[e.b as usize] as usize);
            if ga != gb && ga < n && gb < n {
                for g in [ga, gb] {
                    cut[g] += e.length_m;
                    if e.kind.is_line() {
                        along[g] += e.length_m;
                    }
                }
            }
        }
        (cut, along)
    }

    /// Grid `g` of level index `l` with its atoms `members`, measured.
    fn grid(
        &self,
        l: usize,
        g: usize,
        members: &[usize],
        labels: &[Vec<u32>],
        codes: &[Vec<GridCode>],
        (cut, along): (f64, f64),
    ) -> Grid {
        let spec = self.levels[l];
        let shape = atoms::union(self.snap, members.iter().map(|&a| &self.set.geometry[a]));
        let area = shape.unsigned_area();
        let perimeter: f64 = shape.0.iter().map(atoms::perimeter).sum();
        let pp = if perimeter > 0.0 {
            4.0 * std::f64::consts::PI * area / (perimeter * perimeter)
        } else {
            0.0
        };
        let reock = reock(&shape, area);
        let households: u32 = members.iter().map(|&a| self.set.households[a]).sum();
        let mut by_care = vec![0u32; self.care.first().map_or(3, Vec::len)];
        for &a in members {
            for (t, n) in by_care.iter_mut().zip(&self.care[a]) {
                *t += n;
            }
        }
        // A grid is a tower when it holds an atom too heavy for its level,
        // or when all its households live in one building (a tower cut
        // between households into several grids).
        let tower = members
            .iter()
            .any(|&a| f64::from(self.set.households[a]) > spec.max)
            || matches!(
                members
                    .iter()
                    .fold(OneBuilding::Empty, |acc, &a| acc.join(self.building[a])),
                OneBuilding::One(_)
            );
        let deviation = (f64::from(households) - spec.target) / spec.target;
        let in_range = f64::from(households) >= spec.min && f64::from(households) <= spec.max;
        let mut wgs = self.proj.unproject(&shape);
        if !wgs.is_valid() {
            // A vertex on an edge in the plane can land a hair across
            // it in degrees: node the ring again there.
            wgs = atoms::union(self.degrees, wgs.0.iter());
        }
        let valid = wgs.is_valid();
        if !valid {
            tracing::warn!(grid = %codes[l][g], errors = ?wgs.validation_errors(), "grid geometry invalid");
        }
        let parent = (l > 0).then(|| {
            let a = members.first().copied().unwrap_or(0);
            codes[l - 1][labels[l - 1][a] as usize].clone()
        });
        Grid {
            level: Level::new(l as u8 + 1).unwrap_or(Level::THREE),
            id: g as u32,
            code: codes[l][g].clone(),
            parent,
            geometry: wgs,
            valid,
            metrics: GridMetrics {
                households,
                by_care: self
                    .care_keys
                    .iter()
                    .enumerate()
                    .map(|(i, k)| (k.clone(), by_care.get(i).copied().unwrap_or(0)))
                    .collect(),
                deviation,
                in_range,
                pieces: shape.0.len() as u32,
                polsby_popper: pp,
                reock,
                road_share: if cut > 0.0 { along / cut } else { 1.0 },
                area_m2: area,
                atoms: members.len() as u32,
                tower,
            },
        }
    }

    /// The grids named in `which` (level index, grid id) of `plan`, a
    /// labelling of these same atoms, measured as [`evaluate`] would.
    pub fn measure(&self, plan: &Plan, which: &[(usize, u32)]) -> Vec<Grid> {
        let levels = self.levels.len().min(3);
        let labels: Vec<Vec<u32>> = (0..levels)
            .map(|l| plan.labels.iter().map(|g| g.0[l]).collect())
            .collect();
        let codes: Vec<Vec<GridCode>> = (0..levels).map(|l| plan.codes[l].clone()).collect();
        let mut out = Vec::new();
        for l in 0..levels {
            let wanted: Vec<u32> = which.iter().filter(|w| w.0 == l).map(|w| w.1).collect();
            if wanted.is_empty() {
                continue;
            }
            let n = codes[l].len();
            let members = Self::members(&labels[l], n);
            let (cut, along) = self.cuts(&labels[l], n);
            for g in wanted {
                let g = g as usize;
                if g < n && !members[g].is_empty() {
                    out.push(self.grid(l, g, &members[g], &labels, &codes, (cut[g], along[g])));
                }
            }
        }
        out
    }
}

/// Area over the area of the smallest circle around the shape.
fn reock(shape: &MultiPolygon<f64>, area: f64) -> f64 {
    let hull = shape.convex_hull();
    let pts: Vec<Coord<f64>> = hull.exterior().0.clone();
    let r = smallest_circle(&pts).2;
    if r > 0.0 {
        area / (std::f64::consts::PI * r * r)
    } else {
        0.0
    }
}

/// Smallest enclosing circle (Welzl, iterative form) of a few points:
/// `(cx, cy, r)`.
fn smallest_circle(pts: &[Coord<f64>]) -> (f64, f64, f64) {
    let inside = |c: (f64, f64, f64), p: Coord<f64>| {
        (p.x - c.0).hypot(p.y - c.1) <= c.2 * (1.0 + 1e-12) + 1e-9
    };
    let two = |a: Coord<f64>, b: Coord<f64>| {
        (
            (a.x + b.x) / 2.0,
            (a.y + b.y) / 2.0,
            (a.x - b.x).hypot(a.y - b.y) / 2.0,
        )
    };
    let three = |a: Coord<f64>, b: Coord<f64>, c: Coord<f64>| {
        let d = 2.0 * (a.x * (b.y - c.y) + b.x * (c.y - a.y) + c.x * (a.y - b.y));
        if d.abs() < 1e-12 {
            // Collinear: the widest pair.
            let mut best = two(a, b);
            for cand in [two(a, c), two(b, c)] {
                if cand.2 > best.2 {
                    best = cand;
                }
            }
            return best;
        }
        let (a2, b2, c2) = (
            a.x * a.x + a.y * a.y,
            b.x * b.x + b.y * b.y,
            c.x * c.x + c.y * c.y,
        );
        let ux = (a2 * (b.y - c.y) + b2 * (c.y - a.y) + c2 * (a.y - b.y)) / d;
        let uy = (a2 * (c.x - b.x) + b2 * (a.x - c.x) + c2 * (b.x - a.x)) / d;
        (ux, uy, (a.x - ux).hypot(a.y - uy))
    };
    let mut c = (0.0, 0.0, 0.0);
    let Some(&first) = pts.first() else {
        return c;
    };
    c = (first.x, first.y, 0.0);
    for i in 1..pts.len() {
        if inside(c, pts[i]) {
            continue;
        }
        c = (pts[i].x, pts[i].y, 0.0);
        for j in 0..i {
            if inside(c, pts[j]) {
                continue;
            }
            c = two(pts[i], pts[j]);
            for k in 0..j {
                if !inside(c, pts[k]) {
                    c = three(pts[i], pts[j], pts[k]);
                }
            }
        }
    }
    c
}

#[cfg(test)]
mod tests;
