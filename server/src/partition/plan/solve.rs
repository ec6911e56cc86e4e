//! Making plans: a region's atoms solved level by level (around locked
//! grids and from seed points when there are any), many regions at once.

use std::collections::HashMap;

use geo_types::Coord;

use super::super::atoms::{self, Atoms};
use super::super::{solve, Options};
use super::evaluate::finish;
use super::ground::{local, local_pieces, Ground, Local};
use super::no_homes;
use super::numbering::number;
use super::{PlanError, Previous, RegionPlan, Settings};
use crate::domain::RegionCode;

/// Makes a region's plan: atoms from its ground (or those of `previous`),
/// solved level by level, numbered, measured.
///
/// # Examples
///
/// A square community about 500 m a side with 480 households spread
/// evenly and no roads, gridded by the `ankang` policy (about 480, 130
/// and 50 households per grid at levels 1, 2 and 3):
///
/// ```
/// use geo_types::{point, MultiPolygon, Rect};
/// use wangge::domain::{CareLevel, Household, Policy, Region, RegionCode, SensitiveFlags};
/// use wangge::partition::plan::{plan_region, Ground, Settings};
///
/// let code: RegionCode = "610902001001".parse()?;
/// let (lon, lat, side) = (108.9, 32.7, 0.005); // degrees, in Ankang
/// let region = Region {
///     code,
///     name: "示例社区".into(),
///     parent: None,
///     boundary: MultiPolygon(vec![Rect::new((lon, lat), (lon + side, lat + side)).to_polygon()]),
/// };
/// let households: Vec<Household> = (0..480)
///     .map(|i| Household {
///         id: i,
///         location: point!(
///             x: lon + side * ((i % 24) as f64 + 0.5) / 24.0,
///             y: lat + side * ((i / 24) as f64 + 0.5) / 20.0
///         ),
///         size: 3,
///         care: CareLevel(0),
///         flags: SensitiveFlags::default(),
///         building: None,
///         address: String::new(),
///         head_name: String::new(),
///         phone: String::new(),
///         region: Some(code),
///         estimated: false,
///     })
///     .collect();
/// let ground = Ground {
///     region: &region,
///     roads: vec![],
///     water: vec![],
///     households: households.iter().collect(),
///     buildings: vec![],
/// };
/// let settings = Settings::from_policy(&Policy::preset("ankang")?);
///
/// let plan = plan_region(&ground, &settings, None)?;
/// // Three nested levels, every grid one piece inside one parent...
/// assert_eq!(plan.levels.len(), 3);
/// assert!(plan.levels.iter().all(|l| l.split == 0 && l.nest == 0));
/// // ...its code the region's code and a number per level, in reading order.
/// let mut codes: Vec<&str> = plan.grids.iter()
///     .filter(|g| g.level.get() == 3)
///     .map(|g| g.code.0.as_str())
///     .collect();
/// codes.sort_unstable();
/// assert_eq!(codes[0], "6109020010010010101"); // level 1 no. 01, level 2 no. 01, level 3 no. 01
/// // Every household is in a level-3 grid.
/// let level3: u32 = plan.grids.iter().filter(|g| g.level.get() == 3).map(|g| g.metrics.households).sum();
/// assert_eq!(level3, 480);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
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
    let quiet = no_homes::marked(&set, &loc.proj, &ground.buildings);
    let labels = match previous {
        Some(p) => solve_around_locks(&set, settings, p, &seeds, &quiet)?,
        None => {
            let all: Vec<u32> = (0..set.len() as u32).collect();
            solve_seeded(&set, &all, settings, &seeds, &quiet)
        }
    };
    let codes = number(code, &set, &labels, settings.code_widths, previous);
    let all: Vec<u32> = (0..set.len() as u32).collect();
    let without_homes = no_homes::areas(&set, &quiet, &all, &settings.atoms.barriers);
    let mut plan = finish(code, &loc, set, labels, codes, ground, settings);
    plan.without_homes = without_homes;
    Ok(plan)
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
/// seed atoms when there are any, land without homes (`quiet`, per atom)
/// kept whole.
fn solve_seeded(
    set: &Atoms,
    keep: &[u32],
    settings: &Settings,
    seeds: &[u32],
    quiet: &[bool],
) -> Vec<Vec<u32>> {
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
    match no_homes::contraction(set, quiet, keep, &settings.atoms.barriers) {
        None => solve(&g, &levels, &settings.solver),
        Some(of) => solve(&g.contract(&of), &levels, &settings.solver)
            .into_iter()
            .map(|level| of.iter().map(|&j| level[j as usize]).collect())
            .collect(),
    }
}

/// Solves everything but the level-1 grids holding a locked grid, which
/// keep their labels (and come first).
fn solve_around_locks(
    set: &Atoms,
    settings: &Settings,
    p: Previous<'_>,
    seeds: &[u32],
    quiet: &[bool],
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
    let sub_labels = solve_seeded(set, &free, settings, seeds, quiet);
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
