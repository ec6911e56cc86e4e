//! Edits on a 4 × 4 lattice of atoms (index = row × 4 + column, rows
//! north to south): level 1 is one grid; level 2 splits west (L, columns
//! 0-1) from east (R); level 3 splits each into its first row (A, C) and
//! the three rows below (B, D).

use super::*;
use crate::domain::{PlanVersion, RegionCode};
use crate::partition::plan::fixture;

fn lattice() -> (Plan, Rules) {
    let mut labels = Vec::new();
    for r in 0..4u32 {
        for c in 0..4u32 {
            let l2 = u32::from(c >= 2);
            let l3 = l2 * 2 + u32::from(r > 0);
            labels.push(GridLabel([0, l2, l3]));
        }
    }
    let mut adjacency = Vec::new();
    for r in 0..4usize {
        for c in 0..4usize {
            let i = r * 4 + c;
            if c < 3 {
                adjacency.push((i, i + 1));
            }
            if r < 3 {
                adjacency.push((i, i + 4));
            }
        }
    }
    let code = |s: &str| GridCode(s.to_string());
    let plan = Plan {
        version: PlanVersion::unsaved(
            "610902001001".parse::<RegionCode>().unwrap(),
            "test",
            "",
            None,
        ),
        atoms: (0..16).collect(),
        labels,
        codes: [
            vec![code("W")],
            vec![code("L"), code("R")],
            vec![code("A"), code("B"), code("C"), code("D")],
        ],
    };
    (
        plan,
        Rules {
            adjacency,
            locked: HashSet::new(),
        },
    )
}

fn grid_atoms(p: &Plan, level: usize, code: &str) -> Vec<usize> {
    let id = p.codes[level - 1].iter().position(|c| c.0 == code).unwrap() as u32;
    (0..p.labels.len())
        .filter(|&i| p.labels[i].0[level - 1] == id)
        .collect()
}

#[test]
fn a_block_moves_to_its_neighbour_with_the_neighbours_parents() {
    let (plan, rules) = lattice();
    // Atom 4 (row 1, west) from B to A; then atom 6 (row 1, east) from D
    // into B: it changes level-2 parent too.
    let p = apply(
        &plan,
        &rules,
        &Edit::Reassign {
            atoms: vec![4],
            to: 0,
        },
    )
    .unwrap();
    assert_eq!(grid_atoms(&p, 3, "A"), vec![0, 1, 4]);
    assert_eq!(grid_atoms(&p, 3, "B"), vec![5, 8, 9, 12, 13]);
    let p = apply(
        &p,
        &rules,
        &Edit::Reassign {
            atoms: vec![6],
            to: 1,
        },
    )
    .unwrap();
    assert_eq!(p.labels[6], p.labels[5]);
    assert_eq!(grid_atoms(&p, 2, "L"), vec![0, 1, 4, 5, 6, 8, 9, 12, 13]);
    assert_eq!(p.codes, plan.codes, "no grid appears or goes");
}

#[test]
fn a_reassignment_that_cuts_a_grid_in_two_is_refused_with_the_cut_off_atoms() {
    let (plan, rules) = lattice();
    // Row 2 of the west half to D: B (and L) keep rows 1 and 3 apart.
    let e = apply(
        &plan,
        &rules,
        &Edit::Reassign {
            atoms: vec![8, 9],
            to: 3,
        },
    )
    .unwrap_err();
    match e {
        Refusal::Disconnects {
            code,
            pieces,
            atoms,
        } => {
            assert_eq!(code.0, "B");
            assert_eq!(pieces, 2);
            assert_eq!(atoms, vec![12, 13]);
        }
        other => panic!("expected a disconnection, got {other:?}"),
    }
    // Atoms dropped on a grid they do not touch would make it two pieces.
    let e = apply(
        &plan,
        &rules,
        &Edit::Reassign {
            atoms: vec![13],
            to: 0,
        },
    )
    .unwrap_err();
    assert!(
        matches!(&e, Refusal::Disconnects { code, atoms, .. } if code.0 == "A" && atoms == &vec![13]),
        "{e:?}"
    );
    assert!(e.to_string().contains("A would fall into 2 pieces"));
}

#[test]
fn locked_grids_are_untouched_and_no_grid_is_emptied() {
    let (plan, mut rules) = lattice();
    rules.locked.insert(GridCode("A".into()));
    let e = apply(
        &plan,
        &rules,
        &Edit::Reassign {
            atoms: vec![4],
            to: 0,
        },
    )
    .unwrap_err();
    assert_eq!(
        e,
        Refusal::Locked {
            code: GridCode("A".into()),
            atoms: vec![4]
        }
    );
    // Moving B under R moves no atom of A but changes L, which is not
    // locked: allowed.
    assert!(apply(
        &plan,
        &rules,
        &Edit::MoveGrid {
            level: 3,
            grid: 1,
            parent: 1
        }
    )
    .is_ok());
    let (plan, rules) = lattice();
    let e = apply(
        &plan,
        &rules,
        &Edit::Reassign {
            atoms: vec![0, 1],
            to: 1,
        },
    )
    .unwrap_err();
    assert_eq!(
        e,
        Refusal::Empties {
            code: GridCode("A".into())
        }
    );
}

#[test]
fn merging_keeps_ids_dense_and_refuses_grids_of_two_parents() {
    let (plan, rules) = lattice();
    let p = apply(
        &plan,
        &rules,
        &Edit::Merge {
            level: 3,
            keep: 1,
            gone: 0,
        },
    )
    .unwrap();
    assert_eq!(
        p.codes[2].iter().map(|c| c.0.as_str()).collect::<Vec<_>>(),
        ["B", "C", "D"]
    );
    assert_eq!(grid_atoms(&p, 3, "B"), vec![0, 1, 4, 5, 8, 9, 12, 13]);
    assert_eq!(grid_atoms(&p, 3, "D"), grid_atoms(&plan, 3, "D"));
    assert!(p
        .labels
        .iter()
        .all(|l| (l.0[2] as usize) < p.codes[2].len()));
    let e = apply(
        &plan,
        &rules,
        &Edit::Merge {
            level: 3,
            keep: 0,
            gone: 2,
        },
    )
    .unwrap_err();
    assert_eq!(
        e,
        Refusal::CrossParent {
            a: GridCode("A".into()),
            b: GridCode("C".into())
        }
    );
    // Level 2's two grids share level 1's only grid: they may merge.
    let p = apply(
        &plan,
        &rules,
        &Edit::Merge {
            level: 2,
            keep: 0,
            gone: 1,
        },
    )
    .unwrap();
    assert_eq!(p.codes[1].len(), 1);
    assert_eq!(p.codes[2].len(), 4, "grids below a merge stay as they are");
}

#[test]
fn a_grid_moves_to_another_parent_with_everything_below_it() {
    let (plan, rules) = lattice();
    let p = apply(
        &plan,
        &rules,
        &Edit::MoveGrid {
            level: 3,
            grid: 1,
            parent: 1,
        },
    )
    .unwrap();
    assert_eq!(grid_atoms(&p, 2, "L"), vec![0, 1]);
    assert_eq!(grid_atoms(&p, 3, "B"), grid_atoms(&plan, 3, "B"));
    // Moving A as well would leave L without an atom.
    let e = apply(
        &p,
        &rules,
        &Edit::MoveGrid {
            level: 3,
            grid: 0,
            parent: 1,
        },
    )
    .unwrap_err();
    assert_eq!(
        e,
        Refusal::Empties {
            code: GridCode("L".into())
        }
    );
}

#[test]
fn unknown_atoms_grids_and_levels_are_refused_clearly() {
    let (plan, rules) = lattice();
    assert_eq!(
        apply(
            &plan,
            &rules,
            &Edit::Reassign {
                atoms: vec![99],
                to: 0
            }
        )
        .unwrap_err(),
        Refusal::UnknownAtom(99)
    );
    assert_eq!(
        apply(
            &plan,
            &rules,
            &Edit::Reassign {
                atoms: vec![4],
                to: 7
            }
        )
        .unwrap_err(),
        Refusal::UnknownGrid { level: 3, grid: 7 }
    );
    assert!(matches!(
        apply(
            &plan,
            &rules,
            &Edit::MoveGrid {
                level: 1,
                grid: 0,
                parent: 0
            }
        )
        .unwrap_err(),
        Refusal::Invalid(_)
    ));
    assert!(matches!(
        apply(
            &plan,
            &rules,
            &Edit::Merge {
                level: 4,
                keep: 0,
                gone: 1
            }
        )
        .unwrap_err(),
        Refusal::Invalid(_)
    ));
}

#[test]
fn edits_of_a_real_plan_keep_every_grid_whole_when_evaluated_from_geometry() {
    use crate::partition::plan::{evaluate, plan_region};
    let city = fixture::city();
    let (ground, settings) = fixture::community(&city);
    let ground = &ground;
    let planned = plan_region(ground, &settings, None).unwrap();
    let plan = planned.to_plan("test", "", None);
    let rules = Rules::of(&planned, []);
    let of_grid = |g: u32, without: usize| -> HashSet<usize> {
        (0..plan.labels.len())
            .filter(|&i| i != without && plan.labels[i].0[2] == g)
            .collect()
    };
    // A block on the edge of a level-3 grid that its neighbour under the
    // same parent can take without cutting the grid it leaves.
    let (from, to) = rules
        .adjacency
        .iter()
        .flat_map(|&(a, b)| [(a, b), (b, a)])
        .find(|&(a, b)| {
            let (g, h) = (plan.labels[a].0, plan.labels[b].0);
            let rest = of_grid(g[2], a);
            g[2] != h[2]
                && g[1] == h[1]
                && !rest.is_empty()
                && pieces(&rest, &rules.adjacency).len() == 1
        })
        .expect("a block that can move");
    let target = plan.labels[to].0[2];
    let edited = apply(
        &plan,
        &rules,
        &Edit::Reassign {
            atoms: vec![from],
            to: target,
        },
    )
    .unwrap();
    assert_eq!(edited.labels[from], plan.labels[to]);
    // Evaluated again from the atoms' geometry: no grid in pieces, nesting
    // holds, every household still counted once.
    let again = evaluate(ground, &settings, &edited, &planned.atoms).unwrap();
    for lm in &again.levels {
        assert_eq!((lm.split, lm.nest), (0, 0), "{lm:?}");
    }
    assert_eq!(again.households, planned.households);

    // The same block dropped on a grid it touches nowhere is refused,
    // naming that grid.
    let near: HashSet<u32> = rules
        .adjacency
        .iter()
        .filter_map(|&(a, b)| match (a == from, b == from) {
            (true, _) => Some(plan.labels[b].0[2]),
            (_, true) => Some(plan.labels[a].0[2]),
            _ => None,
        })
        .collect();
    let far = (0..plan.codes[2].len() as u32)
        .find(|g| !near.contains(g) && *g != plan.labels[from].0[2])
        .expect("a grid away from the block");
    match apply(
        &plan,
        &rules,
        &Edit::Reassign {
            atoms: vec![from],
            to: far,
        },
    ) {
        Err(Refusal::Disconnects { code, atoms, .. }) => {
            assert_eq!(code, plan.codes[2][far as usize]);
            assert_eq!(atoms, vec![from]);
        }
        other => panic!("expected the far grid to be cut, got {other:?}"),
    }
}

/// The lattice with real codes: region 610902001001, two digits a level.
fn coded() -> (Plan, Rules) {
    let (mut p, rules) = lattice();
    let r = "610902001001";
    p.codes = [
        vec![GridCode(format!("{r}01"))],
        vec![GridCode(format!("{r}0101")), GridCode(format!("{r}0102"))],
        vec![
            GridCode(format!("{r}010101")),
            GridCode(format!("{r}010102")),
            GridCode(format!("{r}010201")),
            GridCode(format!("{r}010202")),
        ],
    ];
    (p, rules)
}

fn saved(mut p: Plan, id: i64, number: u32) -> Plan {
    p.version.id = id;
    p.version.number = number;
    p
}

fn codes_of(p: &Plan, level: usize) -> Vec<&str> {
    p.codes[level - 1].iter().map(GridCode::as_str).collect()
}

#[test]
fn a_diff_names_changed_added_and_retired_grids_and_the_atoms_that_moved() {
    let (p, rules) = lattice();
    // Atoms 4 and 5 (row 1, west) go from B to A; C absorbs D.
    let q = apply(
        &p,
        &rules,
        &Edit::Reassign {
            atoms: vec![4, 5],
            to: 0,
        },
    )
    .unwrap();
    let q = apply(
        &q,
        &rules,
        &Edit::Merge {
            level: 3,
            keep: 2,
            gone: 3,
        },
    )
    .unwrap();
    let d = diff(&p, &q).unwrap();
    let l3 = &d.levels[2];
    assert_eq!(
        l3.changed,
        vec![
            GridCode("A".into()),
            GridCode("B".into()),
            GridCode("C".into())
        ]
    );
    assert_eq!(l3.retired, vec![GridCode("D".into())]);
    assert!(l3.added.is_empty());
    assert!(d.levels[0].changed.is_empty() && d.levels[1].changed.is_empty());
    let moved: Vec<(usize, &str, &str)> = d
        .moved
        .iter()
        .map(|m| (m.atom, m.from.as_str(), m.to.as_str()))
        .collect();
    assert_eq!(moved[..2], [(4, "B", "A"), (5, "B", "A")]);
    // D's six atoms moved to C.
    assert_eq!(moved.len(), 2 + 6);
    assert!(moved[2..].iter().all(|m| m.1 == "D" && m.2 == "C"));
    // Nothing differs from itself; other atoms cannot be compared.
    assert_eq!(diff(&q, &q).unwrap().moved, vec![]);
    let mut other = q.clone();
    other.atoms[0] = 99;
    assert!(diff(&p, &other).is_none());
    // Touched grids are the changed ones, by their ids in the new plan.
    assert_eq!(touched(&p, &q), vec![(2, 0), (2, 1), (2, 2)]);
}

#[test]
fn publishing_keeps_codes_retires_merged_ones_and_never_reuses_a_code() {
    let (p, rules) = coded();
    let w = [2, 2, 2];
    // The first publication keeps every well-formed code.
    let v1 = saved(publish(&saved(p.clone(), 1, 1), &[], w), 2, 2);
    assert!(v1.version.published);
    assert_eq!(v1.version.parent, Some(1));
    assert_eq!(v1.codes, p.codes);
    // B (…010102) merges into A: A keeps its code although it grew, B's
    // is retired.
    let draft = apply(
        &v1,
        &rules,
        &Edit::Merge {
            level: 3,
            keep: 0,
            gone: 1,
        },
    )
    .unwrap();
    let v2 = saved(publish(&saved(draft, 3, 3), &[v1.clone()], w), 4, 4);
    assert_eq!(
        codes_of(&v2, 3),
        [
            "610902001001010101",
            "610902001001010201",
            "610902001001010202"
        ]
    );
    // A later draft carves a new grid out of A (rows 2-3, west) and, not
    // knowing the history, names it with B's retired code: publishing
    // gives it the next number instead (03), and the rest keep theirs.
    let mut draft = v2.clone();
    draft.codes[2].push(GridCode("610902001001010102".into()));
    for a in [8, 9, 12, 13] {
        draft.labels[a].0[2] = 3;
    }
    let history = vec![v1.clone(), v2.clone()];
    let v3 = saved(publish(&saved(draft, 5, 5), &history, w), 6, 6);
    assert_eq!(
        codes_of(&v3, 3),
        [
            "610902001001010101",
            "610902001001010201",
            "610902001001010202",
            "610902001001010103"
        ]
    );
    // Moving D to the west parent gives it a code under that parent,
    // after the highest ever used there (03), and retires its old one.
    let moved = apply(
        &v3,
        &rules,
        &Edit::MoveGrid {
            level: 3,
            grid: 2,
            parent: 0,
        },
    );
    let moved = moved.unwrap();
    let history = vec![v1, v2, v3];
    let v4 = publish(&saved(moved, 7, 7), &history, w);
    assert_eq!(
        codes_of(&v4, 3),
        [
            "610902001001010101",
            "610902001001010201",
            "610902001001010104",
            "610902001001010103"
        ]
    );
    // No code any published version used is given to another grid.
    let old: HashSet<&str> = history
        .iter()
        .flat_map(|p| p.codes[2].iter().map(GridCode::as_str))
        .collect();
    assert!(!old.contains("610902001001010104"));
}

#[test]
fn a_merge_touching_a_locked_grid_is_refused() {
    for locked in ["A", "B"] {
        let (plan, mut rules) = lattice();
        rules.locked.insert(GridCode(locked.into()));
        let e = apply(
            &plan,
            &rules,
            &Edit::Merge {
                level: 3,
                keep: 0,
                gone: 1,
            },
        )
        .unwrap_err();
        assert!(matches!(e, Refusal::Locked { .. }), "{locked}: {e:?}");
    }
}

#[test]
fn a_merge_of_a_real_plan_touching_a_locked_grid_is_refused() {
    use crate::partition::plan::plan_region;
    let city = fixture::city();
    let (ground, settings) = fixture::community(&city);
    let ground = &ground;
    let planned = plan_region(ground, &settings, None).unwrap();
    let plan = planned.to_plan("test", "", None);
    let (a, b) = planned
        .adjacency
        .iter()
        .copied()
        .find(|&(a, b)| {
            let (x, y) = (plan.labels[a].0, plan.labels[b].0);
            x[2] != y[2] && x[1] == y[1]
        })
        .unwrap();
    let (keep, gone) = (plan.labels[a].0[2], plan.labels[b].0[2]);
    for lock in [keep, gone] {
        let rules = Rules::of(&planned, [plan.codes[2][lock as usize].clone()]);
        let e = apply(
            &plan,
            &rules,
            &Edit::Merge {
                level: 3,
                keep,
                gone,
            },
        );
        assert!(
            matches!(e, Err(Refusal::Locked { .. })),
            "lock {lock} keep {keep} gone {gone}: {e:?}"
        );
    }
}

#[test]
fn a_merge_into_a_grid_numbered_after_the_merged_one_is_checked_too() {
    // Keep D (id 3), merge C (id 2) into it: C's atoms end with the id
    // they had (3 - 1), only their code changes. A lock on D holds.
    let (plan, mut rules) = lattice();
    rules.locked.insert(GridCode("D".into()));
    let e = apply(
        &plan,
        &rules,
        &Edit::Merge {
            level: 3,
            keep: 3,
            gone: 2,
        },
    )
    .unwrap_err();
    assert!(
        matches!(e, Refusal::Locked { ref code, .. } if code.0 == "D"),
        "{e:?}"
    );
    let (plan, rules) = lattice();
    let merged = apply(
        &plan,
        &rules,
        &Edit::Merge {
            level: 3,
            keep: 3,
            gone: 2,
        },
    )
    .unwrap();
    assert_eq!(grid_atoms(&merged, 3, "D").len(), 8);
}
