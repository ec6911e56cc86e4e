use super::super::{solve, AtomGraph, LevelSpec, Options};

/// A `w × h` lattice of atoms with `hh` households each; a road between
/// every `road`-th column and row.
pub fn lattice(w: u32, h: u32, hh: u32, road: u32) -> AtomGraph {
    let id = |x: u32, y: u32| y * w + x;
    let mut edges = Vec::new();
    for y in 0..h {
        for x in 0..w {
            if x + 1 < w {
                edges.push((id(x, y), id(x + 1, y), 1.0, (x + 1) % road == 0));
            }
            if y + 1 < h {
                edges.push((id(x, y), id(x, y + 1), 1.0, (y + 1) % road == 0));
            }
        }
    }
    let n = (w * h) as usize;
    AtomGraph::new(
        vec![hh; n],
        (0..w * h).map(|i| f64::from(i % w) + 0.5).collect(),
        (0..w * h).map(|i| f64::from(i / w) + 0.5).collect(),
        vec![1.0; n],
        vec![0.0; n],
        &edges,
    )
}

#[test]
fn a_parent_of_400_households_gets_three_children_in_range() {
    let g = lattice(10, 10, 4, 100);
    let spec = LevelSpec {
        target: 125.0,
        min: 100.0,
        max: 150.0,
        k: None,
        below: None,
        seeded: false,
    };
    let labels = solve(&g, &[spec], &Options::default());
    let mut load = std::collections::BTreeMap::new();
    for l in &labels[0] {
        *load.entry(*l).or_insert(0) += 4;
    }
    assert_eq!(load.len(), 3, "{load:?}");
    assert!(load.values().all(|&v| (100..=150).contains(&v)), "{load:?}");
}

fn spec(target: f64, min: f64, max: f64) -> LevelSpec {
    LevelSpec {
        target,
        min,
        max,
        k: None,
        below: None,
        seeded: false,
    }
}

/// Every grid of every level is one connected piece and sits inside
/// one grid of the level above.
fn check_nested_and_connected(g: &AtomGraph, labels: &[Vec<u32>]) {
    for (lv, lab) in labels.iter().enumerate() {
        let mut groups: std::collections::BTreeMap<u32, Vec<u32>> = Default::default();
        for (a, &l) in lab.iter().enumerate() {
            groups.entry(l).or_default().push(a as u32);
        }
        for (l, atoms) in &groups {
            let inside: std::collections::HashSet<u32> = atoms.iter().copied().collect();
            let mut seen = std::collections::HashSet::from([atoms[0]]);
            let mut stack = vec![atoms[0]];
            while let Some(u) = stack.pop() {
                for k in g.around(u) {
                    let v = g.nbr[k];
                    if inside.contains(&v) && seen.insert(v) {
                        stack.push(v);
                    }
                }
            }
            assert_eq!(seen.len(), atoms.len(), "level {lv} grid {l} is in pieces");
            if lv > 0 {
                let parents: std::collections::HashSet<u32> =
                    atoms.iter().map(|&a| labels[lv - 1][a as usize]).collect();
                assert_eq!(parents.len(), 1, "level {lv} grid {l} straddles parents");
            }
        }
    }
}

fn loads(g: &AtomGraph, lab: &[u32]) -> std::collections::BTreeMap<u32, u32> {
    let mut m = std::collections::BTreeMap::new();
    for (a, &l) in lab.iter().enumerate() {
        *m.entry(l).or_insert(0) += g.households[a];
    }
    m
}

#[test]
fn three_levels_on_a_city_lattice_are_nested_connected_in_range_and_deterministic() {
    let g = lattice(48, 48, 3, 8);
    let levels = [
        spec(480.0, 400.0, 560.0),
        spec(125.0, 100.0, 150.0),
        spec(35.0, 20.0, 50.0),
    ];
    let a = solve(&g, &levels, &Options::default());
    check_nested_and_connected(&g, &a);
    for (lv, s) in levels.iter().enumerate() {
        let l = loads(&g, &a[lv]);
        let ok = l
            .values()
            .filter(|&&v| f64::from(v) >= s.min && f64::from(v) <= s.max)
            .count();
        assert!(
            ok * 100 >= l.len() * 95,
            "level {lv}: {ok} of {} in range",
            l.len()
        );
    }
    assert_eq!(
        a,
        solve(&g, &levels, &Options::default()),
        "same seed, same plan"
    );
}

#[test]
fn a_tight_range_with_a_fixed_count_ends_every_grid_near_the_target() {
    // Uneven households (0..=12 per atom), roads every 6th row and column.
    let mut g = lattice(30, 30, 0, 6);
    for (i, h) in g.households.iter_mut().enumerate() {
        *h = ((i * 7 + i / 30 * 3) % 13) as u32;
    }
    let total: u32 = g.households.iter().sum();
    let target = f64::from(total) / 12.0;
    let levels = [LevelSpec {
        target,
        min: target * 0.97,
        max: target * 1.03,
        k: Some(12),
        below: None,
        seeded: false,
    }];
    let labels = solve(&g, &levels, &Options::default());
    check_nested_and_connected(&g, &labels);
    let l = loads(&g, &labels[0]);
    assert_eq!(l.len(), 12, "{l:?}");
    assert!(
        l.values()
            .all(|&v| (f64::from(v) / target - 1.0).abs() <= 0.02),
        "target {target}: {l:?}"
    );
}

#[test]
fn islands_are_gridded_apart() {
    // Two 10 × 10 islands with no edge between them.
    let one = lattice(10, 10, 4, 100);
    let n = one.len() as u32;
    let mut edges = Vec::new();
    for a in 0..n {
        for k in one.around(a) {
            let b = one.nbr[k];
            if a < b {
                edges.push((a, b, 1.0, false));
                edges.push((a + n, b + n, 1.0, false));
            }
        }
    }
    let g = AtomGraph::new(
        vec![4; 2 * n as usize],
        one.x
            .iter()
            .copied()
            .chain(one.x.iter().map(|x| x + 100.0))
            .collect(),
        one.y.iter().chain(one.y.iter()).copied().collect(),
        vec![1.0; 2 * n as usize],
        vec![0.0; 2 * n as usize],
        &edges,
    );
    let labels = solve(&g, &[spec(125.0, 100.0, 150.0)], &Options::default());
    check_nested_and_connected(&g, &labels);
    let l = loads(&g, &labels[0]);
    assert_eq!(l.len(), 6, "{l:?}");
    assert!(l.values().all(|&v| (100..=150).contains(&v)), "{l:?}");
}

#[test]
fn a_tower_heavier_than_the_maximum_is_a_grid_of_its_own() {
    let mut g = lattice(12, 12, 2, 100);
    g.households[50] = 80;
    let labels = solve(&g, &[spec(35.0, 20.0, 50.0)], &Options::default());
    check_nested_and_connected(&g, &labels);
    let tower = labels[0][50];
    assert_eq!(labels[0].iter().filter(|&&l| l == tower).count(), 1);
    let l = loads(&g, &labels[0]);
    let judged: Vec<u32> = l
        .iter()
        .filter(|(k, _)| **k != tower)
        .map(|(_, v)| *v)
        .collect();
    assert!(judged.iter().all(|&v| (20..=50).contains(&v)), "{judged:?}");
}
