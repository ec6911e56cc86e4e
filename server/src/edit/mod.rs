//! Hand edits of a plan and the rules they must keep.
//!
//! A plan labels every atom with its grid at each level, so an edit is a
//! change of labels: nothing is ever drawn, and grids stay exact unions of
//! atoms. Before an edit is applied its result is checked: every grid it
//! touches stays one piece, no locked grid gains or loses an atom, no grid
//! is emptied; a refusal names the rule and the atoms that break it (their
//! union is the offending geometry a caller draws). Balance is not a rule
//! here: figures after an edit come from evaluating the new plan.

use std::collections::{HashMap, HashSet, VecDeque};

use crate::domain::{GridCode, GridLabel, Plan};

/// One hand edit. Atoms are indices into the plan's `atoms`; grids are
/// ids per level (`level` 1, 2 or 3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edit {
    /// The atoms join level-3 grid `to`, and with it `to`'s parents.
    Reassign { atoms: Vec<usize>, to: u32 },
    /// Grid `gone` joins its neighbour `keep` of the same parent; `gone`'s
    /// code is retired.
    Merge { level: u8, keep: u32, gone: u32 },
    /// Grid `grid` (level 2 or 3) moves under `parent` of the level above,
    /// with everything below it.
    MoveGrid { level: u8, grid: u32, parent: u32 },
}

/// Why an edit is refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refusal {
    #[error("level {level} has no grid {grid}")]
    UnknownGrid { level: u8, grid: u32 },
    #[error("the plan has no atom {0}")]
    UnknownAtom(usize),
    #[error("grid {code} is locked")]
    Locked { code: GridCode, atoms: Vec<usize> },
    #[error("grid {code} would fall into {pieces} pieces")]
    Disconnects {
        code: GridCode,
        pieces: usize,
        /// The atoms of every piece but the largest.
        atoms: Vec<usize>,
    },
    #[error("grid {code} would be left with no atom (merge it instead)")]
    Empties { code: GridCode },
    #[error("{a} and {b} have different parents; move one first")]
    CrossParent { a: GridCode, b: GridCode },
    #[error("{0}")]
    Invalid(String),
}

/// What the edit must respect besides the plan itself.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    /// Pairs of atoms (plan indices) that share a boundary.
    pub adjacency: Vec<(usize, usize)>,
    /// Locked grids by code, at any level.
    pub locked: HashSet<GridCode>,
}

impl Rules {
    /// The rules of an evaluated plan: its atoms' shared boundaries, and
    /// the grids locked by code.
    pub fn of(
        plan: &crate::partition::plan::RegionPlan,
        locked: impl IntoIterator<Item = GridCode>,
    ) -> Self {
        Self {
            adjacency: plan.adjacency.clone(),
            locked: locked.into_iter().collect(),
        }
    }
}

/// The plan after `edit`, or why not. The result keeps ids dense per
/// level (a merge removes one) and carries no version: saving gives it one.
pub fn apply(plan: &Plan, rules: &Rules, edit: &Edit) -> Result<Plan, Refusal> {
    let mut next = plan.clone();
    match edit {
        Edit::Reassign { atoms, to } => {
            check_grid(plan, 3, *to)?;
            let target = labels_of(plan, 3, *to).ok_or_else(|| Refusal::Empties {
                code: code(plan, 3, *to),
            })?;
            for &a in atoms {
                let label = next.labels.get_mut(a).ok_or(Refusal::UnknownAtom(a))?;
                *label = target;
            }
        }
        Edit::Merge { level, keep, gone } => {
            check_grid(plan, *level, *keep)?;
            check_grid(plan, *level, *gone)?;
            if keep == gone {
                return Err(Refusal::Invalid("a grid cannot merge with itself".into()));
            }
            let l = level_index(*level)?;
            if l > 0 {
                let parent = |g| labels_of(plan, *level, g).map(|x| x.0[l - 1]);
                if parent(*keep) != parent(*gone) {
                    return Err(Refusal::CrossParent {
                        a: code(plan, *level, *keep),
                        b: code(plan, *level, *gone),
                    });
                }
            }
            for label in &mut next.labels {
                if label.0[l] == *gone {
                    label.0[l] = *keep;
                }
                if label.0[l] > *gone {
                    label.0[l] -= 1;
                }
            }
            next.codes[l].remove(*gone as usize);
        }
        Edit::MoveGrid {
            level,
            grid,
            parent,
        } => {
            if *level < 2 {
                return Err(Refusal::Invalid(
                    "level-1 grids have no parent grid to move to".into(),
                ));
            }
            check_grid(plan, *level, *grid)?;
            check_grid(plan, level - 1, *parent)?;
            let l = level_index(*level)?;
            let above = labels_of(plan, level - 1, *parent).ok_or_else(|| Refusal::Empties {
                code: code(plan, level - 1, *parent),
            })?;
            for label in &mut next.labels {
                if label.0[l] == *grid {
                    label.0[..l].copy_from_slice(&above.0[..l]);
                }
            }
        }
    }
    check(plan, &next, rules)?;
    Ok(next)
}

/// The grids of `after` (level index, id) whose atoms differ from the
/// grid of the same code in `before`, finest level last.
pub fn touched(before: &Plan, after: &Plan) -> Vec<(usize, u32)> {
    let mut out = Vec::new();
    for l in 0..3 {
        for (id, c) in after.codes[l].iter().enumerate() {
            if members_by_code(before, l, c) != members_by_code(after, l, c) {
                out.push((l, id as u32));
            }
        }
    }
    out
}

/// What differs between two plans over the same atoms, by grid code.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Diff {
    /// Per level: grids only in the newer plan, only in the older one,
    /// and in both with other atoms.
    pub levels: Vec<LevelDiff>,
    /// Atoms whose level-3 grid changed (plan indices), with both codes.
    pub moved: Vec<Moved>,
}

impl Diff {
    /// Households in the atoms that changed grid; `households[i]` is atom
    /// `i`'s count (an evaluated plan's ledger).
    pub fn households_moved(&self, households: &[u32]) -> u64 {
        self.moved
            .iter()
            .map(|m| u64::from(households.get(m.atom).copied().unwrap_or(0)))
            .sum()
    }

    /// The atoms that changed grid as GeoJSON features (atom id, from, to,
    /// households), from an evaluated plan over the same atoms.
    pub fn features(
        &self,
        plan: &crate::partition::plan::RegionPlan,
        ids: &[crate::domain::AtomId],
    ) -> serde_json::Value {
        let households = plan.ledger.households();
        let features: Vec<serde_json::Value> = self
            .moved
            .iter()
            .filter_map(|m| {
                let atom = plan.atoms.get(m.atom)?;
                let id = ids.get(m.atom)?;
                Some(serde_json::json!({
                    "type": "Feature",
                    "id": id,
                    "geometry": geojson::Geometry::from(&atom.geometry),
                    "properties": {
                        "atom": id, "from": m.from, "to": m.to,
                        "households": households.get(m.atom),
                    },
                }))
            })
            .collect();
        serde_json::json!({ "type": "FeatureCollection", "features": features })
    }
}

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct LevelDiff {
    pub level: u8,
    pub added: Vec<GridCode>,
    pub retired: Vec<GridCode>,
    pub changed: Vec<GridCode>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Moved {
    pub atom: usize,
    pub from: GridCode,
    pub to: GridCode,
}

/// How `b` differs from `a`; `None` when they label different atoms (a
/// plan generated afresh cut its region again).
pub fn diff(a: &Plan, b: &Plan) -> Option<Diff> {
    if a.atoms != b.atoms || a.labels.len() != b.labels.len() {
        return None;
    }
    let mut d = Diff::default();
    for l in 0..3 {
        let mut ld = LevelDiff {
            level: l as u8 + 1,
            ..LevelDiff::default()
        };
        for c in &b.codes[l] {
            if !a.codes[l].contains(c) {
                ld.added.push(c.clone());
            } else if members_by_code(a, l, c) != members_by_code(b, l, c) {
                ld.changed.push(c.clone());
            }
        }
        for c in &a.codes[l] {
            if !b.codes[l].contains(c) {
                ld.retired.push(c.clone());
            }
        }
        d.levels.push(ld);
    }
    for i in 0..a.labels.len() {
        let from = code(a, 3, a.labels[i].0[2]);
        let to = code(b, 3, b.labels[i].0[2]);
        if from != to {
            d.moved.push(Moved { atom: i, from, to });
        }
    }
    Some(d)
}

/// The codes `draft` is published with, given every version of its region
/// saved before (any order). A grid keeps its code when the last published
/// version has it under the same parent code, or when no published version
/// ever used it; every other grid (new, moved to another parent, or
/// holding a code retired earlier) takes the next sequence number after
/// the highest ever used under its parent, so a retired code never comes
/// back. Labels are untouched: only codes change.
pub fn publish(draft: &Plan, history: &[Plan], widths: [usize; 3]) -> Plan {
    let published: Vec<&Plan> = history.iter().filter(|p| p.version.published).collect();
    let last = published.iter().max_by_key(|p| p.version.number);
    let mut ever: HashSet<&str> = HashSet::new();
    for p in &published {
        for c in p.codes.iter().flatten() {
            ever.insert(c.as_str());
        }
    }
    let region = draft.version.region.to_string();
    let mut out = draft.clone();
    for l in 0..3 {
        let width = widths[l];
        let parent_code = |p: &Plan, g: usize| -> String {
            if l == 0 {
                return region.clone();
            }
            draft
                .labels
                .iter()
                .find(|x| x.0[l] as usize == g)
                .map(|x| p.codes[l - 1][x.0[l - 1] as usize].0.clone())
                .unwrap_or_default()
        };
        let fits = |c: &str, prefix: &str| {
            c.len() == prefix.len() + width
                && c.starts_with(prefix)
                && c[prefix.len()..].bytes().all(|b| b.is_ascii_digit())
        };
        // The highest sequence number ever given under each prefix.
        let mut high: HashMap<String, u32> = HashMap::new();
        let note = |c: &str, prefix_len: usize, high: &mut HashMap<String, u32>| {
            if let Ok(n) = c[prefix_len..].parse::<u32>() {
                let e = high.entry(c[..prefix_len].to_string()).or_insert(0);
                *e = (*e).max(n);
            }
        };
        let level_len = |c: &str| c.len().checked_sub(width);
        for c in ever.iter().copied() {
            // Codes of this level: the region's length plus the widths
            // down to it.
            if c.len() == region.len() + widths[..=l].iter().sum::<usize>() {
                if let Some(pl) = level_len(c) {
                    note(c, pl, &mut high);
                }
            }
        }
        let n = draft.codes[l].len();
        let mut fresh = Vec::new();
        for g in 0..n {
            let prefix = parent_code(&out, g);
            let c = draft.codes[l][g].0.clone();
            let in_last = last.is_some_and(|p| p.codes[l].iter().any(|x| x.0 == c));
            let keep = fits(&c, &prefix) && (in_last || !ever.contains(c.as_str()));
            if keep {
                note(&c, prefix.len(), &mut high);
                out.codes[l][g] = GridCode(c);
            } else {
                fresh.push((g, prefix));
            }
        }
        for (g, prefix) in fresh {
            let next = high.entry(prefix.clone()).or_insert(0);
            *next += 1;
            out.codes[l][g] = GridCode(format!("{prefix}{:0width$}", *next));
        }
    }
    out.version = crate::domain::PlanVersion {
        published: true,
        ..crate::domain::PlanVersion::unsaved(
            draft.version.region,
            &draft.version.author,
            &draft.version.message,
            Some(draft.version.id),
        )
    };
    out
}

/// The rules over every grid whose atoms changed between `before` and
/// `after`, at every level.
fn check(before: &Plan, after: &Plan, rules: &Rules) -> Result<(), Refusal> {
    // By code, not id: a merge shifts ids, and an atom can end with the
    // id it had while its grid changed.
    let moved: Vec<usize> = (0..before.labels.len())
        .filter(|&i| {
            (0..3u8).any(|l| {
                let k = usize::from(l);
                code(before, l + 1, before.labels[i].0[k])
                    != code(after, l + 1, after.labels[i].0[k])
            })
        })
        .collect();
    // Finest level first: the grid a planner is looking at is named.
    for l in (0..3).rev() {
        let level = l as u8 + 1;
        // Grids that lost or gained atoms at this level, by code (ids
        // shift in a merge, codes do not).
        let mut touched: Vec<GridCode> = Vec::new();
        for &i in &moved {
            let (was, now) = (before.labels[i].0[l], after.labels[i].0[l]);
            let (was, now) = (code(before, level, was), code(after, level, now));
            if was != now {
                for c in [was, now] {
                    if !touched.contains(&c) {
                        touched.push(c);
                    }
                }
            }
        }
        for c in touched {
            let atoms_before = members_by_code(before, l, &c);
            let atoms_after = members_by_code(after, l, &c);
            if rules.locked.contains(&c) {
                let mut changed: Vec<usize> = atoms_before
                    .symmetric_difference(&atoms_after)
                    .copied()
                    .collect();
                changed.sort_unstable();
                return Err(Refusal::Locked {
                    code: c,
                    atoms: changed,
                });
            }
            if atoms_after.is_empty() {
                // A merge retires its grid's code on purpose; a grid that
                // keeps its code must keep an atom.
                if after.codes[l].contains(&c) {
                    return Err(Refusal::Empties { code: c });
                }
                continue;
            }
            let parts = pieces(&atoms_after, &rules.adjacency);
            if parts.len() > 1 {
                let mut rest: Vec<usize> = parts[1..].iter().flatten().copied().collect();
                rest.sort_unstable();
                return Err(Refusal::Disconnects {
                    code: c,
                    pieces: parts.len(),
                    atoms: rest,
                });
            }
        }
    }
    Ok(())
}

fn level_index(level: u8) -> Result<usize, Refusal> {
    match level {
        1..=3 => Ok(usize::from(level) - 1),
        _ => Err(Refusal::Invalid(format!("level {level}: 1, 2 or 3"))),
    }
}

fn check_grid(plan: &Plan, level: u8, grid: u32) -> Result<(), Refusal> {
    let l = level_index(level)?;
    if (grid as usize) < plan.codes[l].len() {
        Ok(())
    } else {
        Err(Refusal::UnknownGrid { level, grid })
    }
}

fn code(plan: &Plan, level: u8, grid: u32) -> GridCode {
    plan.codes[usize::from(level) - 1]
        .get(grid as usize)
        .cloned()
        .unwrap_or_else(|| GridCode(format!("#{grid}")))
}

/// The labels of any atom of the grid (all agree above its level).
fn labels_of(plan: &Plan, level: u8, grid: u32) -> Option<GridLabel> {
    let l = usize::from(level) - 1;
    plan.labels.iter().find(|x| x.0[l] == grid).copied()
}

fn members_by_code(plan: &Plan, l: usize, c: &GridCode) -> HashSet<usize> {
    let Some(id) = plan.codes[l].iter().position(|x| x == c) else {
        return HashSet::new();
    };
    (0..plan.labels.len())
        .filter(|&i| plan.labels[i].0[l] as usize == id)
        .collect()
}

/// Connected parts of `atoms` over `adjacency`, largest first.
fn pieces(atoms: &HashSet<usize>, adjacency: &[(usize, usize)]) -> Vec<Vec<usize>> {
    let mut next: HashMap<usize, Vec<usize>> = HashMap::new();
    for &(a, b) in adjacency {
        if atoms.contains(&a) && atoms.contains(&b) {
            next.entry(a).or_default().push(b);
            next.entry(b).or_default().push(a);
        }
    }
    let mut order: Vec<usize> = atoms.iter().copied().collect();
    order.sort_unstable();
    let mut seen: HashSet<usize> = HashSet::new();
    let mut parts = Vec::new();
    for start in order {
        if !seen.insert(start) {
            continue;
        }
        let mut part = vec![start];
        let mut queue = VecDeque::from([start]);
        while let Some(a) = queue.pop_front() {
            for &b in next.get(&a).into_iter().flatten() {
                if seen.insert(b) {
                    part.push(b);
                    queue.push_back(b);
                }
            }
        }
        parts.push(part);
    }
    parts.sort_by_key(|p| std::cmp::Reverse(p.len()));
    parts
}

#[cfg(test)]
mod tests;
