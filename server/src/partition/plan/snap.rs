//! Grids drawn elsewhere snapped onto a plan's atoms.

use std::collections::{HashMap, HashSet};

use geo::{Area, BooleanOps, BoundingRect, Intersects};
use geo_types::{MultiPolygon, Rect};

use super::ground::{meets, Ground};
use super::ledger::Ledger;
use super::{PlanError, RegionPlan};
use crate::domain::{GridCode, GridLabel, HouseholdId, ImportedGrid, Plan, PlanVersion};

/// Grids drawn elsewhere snapped onto a plan's atoms, and what moved.
#[derive(Debug, Clone)]
pub struct Snapped {
    /// Over the same atoms as the plan snapped onto; codes as drawn.
    pub plan: Plan,
    /// Households whose snapped grid is not the level-3 grid drawn around
    /// them: (household id, drawn grid or none, snapped grid).
    pub moved: Vec<(HouseholdId, Option<GridCode>, GridCode)>,
    /// Land now in another level-3 grid than drawn (or drawn in none), m².
    pub area_changed_m2: f64,
    pub warnings: Vec<String>,
}

/// One level's drawn grids (those with a bounding box), and their shapes
/// in the region's local plane with their boxes.
struct Drawn<'g> {
    grids: Vec<&'g ImportedGrid>,
    shapes: Vec<(MultiPolygon<f64>, Rect<f64>)>,
}

impl<'g> Drawn<'g> {
    fn grids(drawn: &[&'g ImportedGrid], level: u8) -> Vec<&'g ImportedGrid> {
        drawn
            .iter()
            .copied()
            .filter(|g| g.level.get() == level && g.geometry.bounding_rect().is_some())
            .collect()
    }

    fn new(grids: Vec<&'g ImportedGrid>, lg: &Ledger) -> Self {
        let shapes = grids
            .iter()
            .filter_map(|g| {
                let m = lg.proj.project(&g.geometry);
                let r = m.bounding_rect()?;
                Some((m, r))
            })
            .collect();
        Self { grids, shapes }
    }

    /// The position of the grid drawn with `code`.
    fn named(&self, code: &GridCode) -> Option<usize> {
        self.grids.iter().position(|x| &x.code == code)
    }
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
    drawn: &[&ImportedGrid],
    widths: [usize; 3],
) -> Result<Snapped, PlanError> {
    let lg = &rp.ledger;
    let n = lg.set.len();
    if n == 0 {
        return Err(PlanError::EmptyRegion(rp.region));
    }
    let (g1, g2, g3) = (
        Drawn::grids(drawn, 1),
        Drawn::grids(drawn, 2),
        Drawn::grids(drawn, 3),
    );
    if g3.is_empty() {
        return Err(PlanError::Snap(
            "no level-3 grid was drawn in the region".into(),
        ));
    }
    let d = [Drawn::new(g1, lg), Drawn::new(g2, lg), Drawn::new(g3, lg)];
    let cover3: Vec<Vec<f64>> = (0..n).map(|a| overlap(lg, a, &d[2].shapes)).collect();
    let next = neighbours(rp, n);
    let mut warnings = Vec::new();
    let mut grid = fill_uncovered(most_covered(lg, &cover3), &next, &mut warnings);
    join_stray_pieces(&mut grid, &next, &d[2], &mut warnings);
    let (grid2, p1_of_2) = parents(lg, &grid, &d);
    let plan = labelled(rp, &grid, &grid2, &p1_of_2, &d, widths);
    report_pieces(&plan, &next, &mut warnings);
    let moved = moved_households(lg, ground, &d[2], &grid);
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

/// Area of atom `a` inside each of `shapes`.
fn overlap(lg: &Ledger, a: usize, shapes: &[(MultiPolygon<f64>, Rect<f64>)]) -> Vec<f64> {
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
}

/// The drawn level-3 grid covering most of each atom, if any covers a
/// share of it worth counting.
fn most_covered(lg: &Ledger, cover3: &[Vec<f64>]) -> Vec<Option<usize>> {
    cover3
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
        .collect()
}

/// Each atom's neighbours.
fn neighbours(rp: &RegionPlan, n: usize) -> Vec<Vec<usize>> {
    let mut next: Vec<Vec<usize>> = vec![Vec::new(); n];
    for &(a, b) in &rp.adjacency {
        next[a].push(b);
        next[b].push(a);
    }
    next
}

/// Atoms in no drawn grid take the grid of a neighbour, breadth first; an
/// island of atoms with no covered neighbour takes the first drawn grid.
fn fill_uncovered(
    mut grid: Vec<Option<usize>>,
    next: &[Vec<usize>],
    warnings: &mut Vec<String>,
) -> Vec<usize> {
    let n = grid.len();
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
    grid.into_iter().map(|g| g.unwrap_or(0)).collect()
}

/// Every grid one piece: its smaller pieces go to the grid they touch
/// most, until nothing moves.
fn join_stray_pieces(
    grid: &mut [usize],
    next: &[Vec<usize>],
    d3: &Drawn<'_>,
    warnings: &mut Vec<String>,
) {
    let n = grid.len();
    for _ in 0..8 {
        let mut moved = false;
        for g in 0..d3.shapes.len() {
            let mine: Vec<usize> = (0..n).filter(|&a| grid[a] == g).collect();
            let parts = parts_of(&mine, next);
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
                    d3.grids[g].code,
                    parts.len()
                ));
            }
        }
        if !moved {
            break;
        }
    }
}

/// The drawn grid of `shapes` covering most of `atoms` together.
fn most_area(
    lg: &Ledger,
    atoms: &[usize],
    shapes: &[(MultiPolygon<f64>, Rect<f64>)],
) -> Option<usize> {
    let mut tot = vec![0.0; shapes.len()];
    for &a in atoms {
        for (i, v) in overlap(lg, a, shapes).into_iter().enumerate() {
            tot[i] += v;
        }
    }
    tot.iter()
        .enumerate()
        .max_by(|x, y| x.1.total_cmp(y.1))
        .filter(|x| *x.1 > 0.0)
        .map(|x| x.0)
}

/// Parents by name, else by the most area: each atom's level-2 grid (a
/// position among the drawn ones, or none for one made up), and the
/// level-1 grid of each level-2 choice.
#[allow(clippy::type_complexity)]
fn parents(
    lg: &Ledger,
    grid: &[usize],
    d: &[Drawn<'_>; 3],
) -> (Vec<Option<usize>>, HashMap<Option<usize>, Option<usize>>) {
    let n = grid.len();
    let used3: Vec<usize> = {
        let mut u: Vec<usize> = grid.to_vec();
        u.sort_unstable();
        u.dedup();
        u
    };
    let atoms_of = |g: usize| -> Vec<usize> { (0..n).filter(|&a| grid[a] == g).collect() };
    let parent2: HashMap<usize, Option<usize>> = used3
        .iter()
        .map(|&g| {
            let named = d[2].grids[g].parent.as_ref().and_then(|p| d[1].named(p));
            (
                g,
                named.or_else(|| most_area(lg, &atoms_of(g), &d[1].shapes)),
            )
        })
        .collect();
    let grid2: Vec<Option<usize>> = (0..n).map(|a| parent2[&grid[a]]).collect();
    let parent1 = |g2: Option<usize>, atoms: &[usize]| -> Option<usize> {
        let named = g2
            .and_then(|g| d[1].grids[g].parent.as_ref())
            .and_then(|p| d[0].named(p));
        named.or_else(|| most_area(lg, atoms, &d[0].shapes))
    };
    let mut p1_of_2: HashMap<Option<usize>, Option<usize>> = HashMap::new();
    for a in 0..n {
        p1_of_2.entry(grid2[a]).or_insert_with(|| {
            let atoms: Vec<usize> = (0..n).filter(|&b| grid2[b] == grid2[a]).collect();
            parent1(grid2[a], &atoms)
        });
    }
    (grid2, p1_of_2)
}

/// The snapped plan: labels and codes, ids in order of first appearance;
/// a parent drawn nowhere gets the first code under its own parent.
fn labelled(
    rp: &RegionPlan,
    grid: &[usize],
    grid2: &[Option<usize>],
    p1_of_2: &HashMap<Option<usize>, Option<usize>>,
    d: &[Drawn<'_>; 3],
    widths: [usize; 3],
) -> Plan {
    let region = rp.region;
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
    let mut labels = Vec::with_capacity(grid.len());
    for a in 0..grid.len() {
        let c1 = match p1_of_2[&grid2[a]] {
            Some(i) => d[0].grids[i].code.clone(),
            None => made(&region.to_string(), widths[0]),
        };
        let c2 = match grid2[a] {
            Some(i) => d[1].grids[i].code.clone(),
            None => made(&c1.0, widths[1]),
        };
        let c3 = d[2].grids[grid[a]].code.clone();
        labels.push(GridLabel([
            id_of(0, c1, &mut codes),
            id_of(1, c2, &mut codes),
            id_of(2, c3, &mut codes),
        ]));
    }
    Plan {
        version: PlanVersion::unsaved(region, "", "", None),
        atoms: rp.atoms.iter().map(|a| a.id).collect(),
        labels,
        codes,
    }
}

/// Nesting: a level-2 grid whose atoms are under two level-1 grids, or a
/// grid in pieces above level 3, is reported.
fn report_pieces(plan: &Plan, next: &[Vec<usize>], warnings: &mut Vec<String>) {
    let n = plan.labels.len();
    for l in 0..2 {
        for (g, c) in plan.codes[l].iter().enumerate() {
            let mine: Vec<usize> = (0..n)
                .filter(|&a| plan.labels[a].0[l] as usize == g)
                .collect();
            let k = parts_of(&mine, next).len();
            if k > 1 {
                warnings.push(format!(
                    "level-{} grid {c} is in {k} pieces after snapping",
                    l + 1
                ));
            }
        }
    }
}

/// Households whose snapped level-3 grid is not the one drawn around them.
fn moved_households(
    lg: &Ledger,
    ground: &Ground<'_>,
    d3: &Drawn<'_>,
    grid: &[usize],
) -> Vec<(HouseholdId, Option<GridCode>, GridCode)> {
    let mut moved = Vec::new();
    for (h, hh) in ground.households.iter().enumerate() {
        let Some(a) = lg.atom_of_household(h) else {
            continue;
        };
        let to = d3.grids[grid[a]].code.clone();
        let from = d3
            .grids
            .iter()
            .find(|g| g.geometry.intersects(&hh.location))
            .map(|g| g.code.clone());
        if from.as_ref() != Some(&to) {
            moved.push((hh.id, from, to));
        }
    }
    moved
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
