use geo::{Area, BooleanOps};
use geo_types::{polygon, LineString, MultiPolygon};

use super::*;

fn square(x0: f64, y0: f64, x1: f64, y1: f64) -> Polygon<f64> {
    Rect::new((x0, y0), (x1, y1)).to_polygon()
}

fn road(pts: &[(f64, f64)], kind: EdgeKind) -> Cut {
    Cut {
        line: LineString::from(pts.to_vec()),
        kind,
    }
}

fn at(x: f64, y: f64) -> Dweller {
    Dweller {
        at: Coord { x, y },
        building: None,
    }
}

/// Atoms tile the region: same area, and the symmetric difference of their
/// union with the region is (numerically) nothing.
fn assert_tiles(region: &MultiPolygon<f64>, atoms: &Atoms) {
    let sum: f64 = atoms.area_m2.iter().sum();
    let want = region.unsigned_area();
    assert!((sum - want).abs() <= 1e-6 * want, "areas {sum} vs {want}");
    let mut union = MultiPolygon::<f64>(vec![]);
    for p in &atoms.geometry {
        union = union.union(&MultiPolygon(vec![p.clone()]));
    }
    let diff = union.xor(region).unsigned_area();
    assert!(diff <= 1e-6 * want, "symmetric difference {diff} m²");
}

#[test]
fn a_cross_of_roads_cuts_a_square_into_four_blocks() {
    let region = MultiPolygon(vec![square(0.0, 0.0, 400.0, 400.0)]);
    let cuts = [
        road(&[(-50.0, 200.0), (450.0, 200.0)], EdgeKind::Major),
        road(&[(200.0, -50.0), (200.0, 450.0)], EdgeKind::Minor),
        // A cul-de-sac ends inside a block and cuts nothing.
        road(&[(50.0, 50.0), (100.0, 100.0)], EdgeKind::Minor),
    ];
    let people = [
        at(100.0, 100.0),
        at(300.0, 100.0),
        at(300.0, 300.0),
        at(200.0, 300.0),
    ];
    let atoms = build(&region, &cuts, &people, &Options::default());
    assert_eq!(atoms.len(), 4);
    assert!(atoms.kind.iter().all(|&k| k == AtomKind::Block));
    assert_tiles(&region, &atoms);
    assert_eq!(atoms.households.iter().sum::<u32>(), 4);
    // On the road between two blocks: exactly one atom.
    assert!(atoms.of_household.iter().all(|&a| (a as usize) < 4));
    assert_eq!(atoms.edges.len(), 4, "{:?}", atoms.edges);
    for e in &atoms.edges {
        assert!((e.length_m - 200.0).abs() < 1e-6, "{e:?}");
        assert!(matches!(e.kind, EdgeKind::Major | EdgeKind::Minor));
    }
    let horizontal = atoms
        .edges
        .iter()
        .filter(|e| e.kind == EdgeKind::Major)
        .count();
    assert_eq!(horizontal, 2);
    for o in &atoms.outer_m {
        assert!((o - 400.0).abs() < 1e-6, "outer {o}");
    }
}

#[test]
fn concave_region_with_a_hole_and_an_island_is_tiled_exactly() {
    let l_shape: Polygon<f64> = polygon![
        exterior: [(x: 0.0, y: 0.0), (x: 600.0, y: 0.0), (x: 600.0, y: 200.0), (x: 200.0, y: 200.0),
                   (x: 200.0, y: 600.0), (x: 0.0, y: 600.0), (x: 0.0, y: 0.0)],
        interiors: [[(x: 50.0, y: 50.0), (x: 150.0, y: 50.0), (x: 150.0, y: 150.0), (x: 50.0, y: 150.0), (x: 50.0, y: 50.0)]],
    ];
    let island = square(800.0, 800.0, 900.0, 900.0);
    let region = MultiPolygon(vec![l_shape, island]);
    // One road across the corner of the L, one through the island.
    let cuts = [
        road(&[(100.0, -10.0), (100.0, 700.0)], EdgeKind::Minor),
        road(&[(850.0, 700.0), (850.0, 1000.0)], EdgeKind::Path),
    ];
    let people = [
        at(20.0, 300.0),
        at(500.0, 100.0),
        at(100.0, 100.0),
        at(820.0, 850.0),
    ];
    let atoms = build(&region, &cuts, &people, &Options::default());
    assert_tiles(&region, &atoms);
    // The road cuts the L into west and east parts (the hole splits the
    // crossing into two pieces of road), the island in two.
    assert_eq!(atoms.len(), 4, "{:?}", atoms.area_m2);
    // The courtyard (hole) is not in the region: its household goes to the
    // nearest atom all the same, every household in exactly one atom.
    assert!(atoms.of_household.iter().all(|&a| a != u32::MAX));
    let island_atoms: Vec<u32> = (0..atoms.len() as u32)
        .filter(|&i| atoms.centroid[i as usize].x > 700.0)
        .collect();
    assert_eq!(island_atoms.len(), 2);
    for e in &atoms.edges {
        let across = island_atoms.contains(&e.a) != island_atoms.contains(&e.b);
        assert!(!across, "the island is nobody's neighbour: {e:?}");
    }
}

#[test]
fn without_lines_the_region_is_cut_into_lattice_cells() {
    let region = MultiPolygon(vec![square(0.0, 0.0, 200.0, 100.0)]);
    let atoms = build(&region, &[], &[at(10.0, 10.0)], &Options::default());
    assert_eq!(atoms.len(), 8);
    assert!(atoms.kind.iter().all(|&k| k == AtomKind::Lattice));
    assert_tiles(&region, &atoms);
    // 4 × 2 cells: 3 × 2 vertical + 4 horizontal shared sides.
    assert_eq!(atoms.edges.len(), 10);
    assert!(atoms.edges.iter().all(|e| e.kind == EdgeKind::Open));
}

#[test]
fn a_heavy_block_splits_between_buildings_and_a_tower_stands_alone() {
    let region = MultiPolygon(vec![square(0.0, 0.0, 300.0, 100.0)]);
    let mut people = Vec::new();
    // Twelve buildings of 10 households in a row, then a tower of 80.
    for b in 0..12 {
        for k in 0..10 {
            people.push(Dweller {
                at: Coord {
                    x: 10.0 + b as f64 * 18.0 + k as f64 * 0.5,
                    y: 30.0 + k as f64,
                },
                building: Some(b),
            });
        }
    }
    // Its households geocoded to one point: it cannot be divided.
    for _ in 0..80 {
        people.push(Dweller {
            at: Coord { x: 262.0, y: 52.0 },
            building: Some(99),
        });
    }
    let opts = Options {
        max_households: 50,
        group_households: 20,
        ..Options::default()
    };
    // A road along the north edge: one block, not lattice cells.
    let cuts = [road(&[(-10.0, 90.0), (310.0, 90.0)], EdgeKind::Minor)];
    let atoms = build(&region, &cuts, &people, &opts);
    assert_tiles(&region, &atoms);
    assert_eq!(atoms.households.iter().sum::<u32>(), 200);
    assert!(atoms.kind.contains(&AtomKind::BuildingGroup));
    // No building is cut in two.
    for b in (0..12).chain([99]) {
        let of: std::collections::BTreeSet<u32> = people
            .iter()
            .enumerate()
            .filter(|(_, d)| d.building == Some(b))
            .map(|(h, _)| atoms.of_household[h])
            .collect();
        assert_eq!(of.len(), 1, "building {b} in atoms {of:?}");
    }
    assert_eq!(atoms.towers.len(), 1);
    let tower = atoms.towers[0] as usize;
    assert_eq!(atoms.households[tower], 80);
    for (i, &h) in atoms.households.iter().enumerate() {
        if i != tower {
            assert!(h <= 50, "atom {i} holds {h}");
        }
    }
}

#[test]
fn slivers_between_close_lines_merge_into_their_neighbour() {
    let region = MultiPolygon(vec![square(0.0, 0.0, 100.0, 100.0)]);
    let cuts = [
        road(&[(-1.0, 50.0), (101.0, 50.0)], EdgeKind::Minor),
        road(&[(-1.0, 50.1), (101.0, 50.1)], EdgeKind::Minor),
    ];
    let atoms = build(&region, &cuts, &[], &Options::default());
    assert_eq!(atoms.len(), 2, "{:?}", atoms.area_m2);
    assert_tiles(&region, &atoms);
}

#[test]
fn a_river_area_makes_its_own_empty_atoms_and_its_shores_are_lines() {
    let region = MultiPolygon(vec![square(0.0, 0.0, 300.0, 300.0)]);
    let river = square(-10.0, 140.0, 310.0, 160.0);
    let cuts = [
        Cut {
            line: river.exterior().clone(),
            kind: EdgeKind::River,
        },
        road(&[(150.0, -10.0), (150.0, 310.0)], EdgeKind::Minor),
    ];
    let people = [at(50.0, 50.0), at(50.0, 250.0)];
    let atoms = build(&region, &cuts, &people, &Options::default());
    assert_tiles(&region, &atoms);
    assert_eq!(atoms.len(), 6);
    let wet: Vec<usize> = (0..6)
        .filter(|&i| (atoms.area_m2[i] - 3000.0).abs() < 1e-6)
        .collect();
    assert_eq!(wet.len(), 2);
    assert!(wet.iter().all(|&i| atoms.households[i] == 0));
    assert!(atoms
        .edges
        .iter()
        .filter(|e| wet.contains(&(e.a as usize)) != wet.contains(&(e.b as usize)))
        .all(|e| e.kind == EdgeKind::River));
    // As a barrier, the river leaves the banks unconnected.
    let g = atoms.graph(&[EdgeKind::River]);
    for &w in &wet {
        for k in g.around(w as u32) {
            assert!(wet.contains(&(g.nbr[k] as usize)));
        }
    }
}

#[test]
fn a_tower_with_households_spread_over_its_footprint_is_cut_between_them() {
    let region = MultiPolygon(vec![square(0.0, 0.0, 100.0, 100.0)]);
    let cuts = [road(&[(-10.0, 90.0), (110.0, 90.0)], EdgeKind::Minor)];
    // 150 households in one 40 × 40 m building.
    let people: Vec<Dweller> = (0..150)
        .map(|k| Dweller {
            at: Coord {
                x: 30.0 + (k % 15) as f64 * 2.5,
                y: 30.0 + (k / 15) as f64 * 3.5,
            },
            building: Some(7),
        })
        .collect();
    let opts = Options {
        max_households: 50,
        group_households: 25,
        ..Options::default()
    };
    let atoms = build(&region, &cuts, &people, &opts);
    assert_tiles(&region, &atoms);
    assert!(atoms.towers.is_empty(), "{:?}", atoms.households);
    let held: Vec<u32> = atoms
        .households
        .iter()
        .copied()
        .filter(|&h| h > 0)
        .collect();
    assert!(held.len() >= 6, "{held:?}");
    assert!(held.iter().all(|&h| h <= 25), "{held:?}");
    assert_eq!(held.iter().sum::<u32>(), 150);
}
