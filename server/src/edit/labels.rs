//! The label edits (reassign, merge, move): a change of labels checked
//! against the rules before it is given back.

use std::collections::{HashMap, HashSet, VecDeque};

use super::{Edit, Refusal, Rules};
use crate::domain::{GridCode, GridLabel, Plan};

/// The plan after a label edit (reassign, merge, move), or why not; the
/// other edits need the region's ground and are run by [`super::perform`].
/// The result keeps ids dense per level (a merge removes one) and carries
/// no version: saving gives it one.
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
        Edit::Split { .. } | Edit::Resolve { .. } | Edit::Restore { .. } => {
            return Err(Refusal::Invalid(
                "a split, re-solve or restore is not a change of labels alone".into(),
            ));
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

pub(super) fn code(plan: &Plan, level: u8, grid: u32) -> GridCode {
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

pub(super) fn members_by_code(plan: &Plan, l: usize, c: &GridCode) -> HashSet<usize> {
    let Some(id) = plan.codes[l].iter().position(|x| x == c) else {
        return HashSet::new();
    };
    (0..plan.labels.len())
        .filter(|&i| plan.labels[i].0[l] as usize == id)
        .collect()
}

/// Connected parts of `atoms` over `adjacency`, largest first.
pub(super) fn pieces(atoms: &HashSet<usize>, adjacency: &[(usize, usize)]) -> Vec<Vec<usize>> {
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
