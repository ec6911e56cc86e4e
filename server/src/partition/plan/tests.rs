use geo::{Area, BooleanOps, Contains, Intersects, Validation};
use geo_types::{LineString, MultiPolygon, Point, Polygon};

use std::collections::HashSet;

use geo::BoundingRect;
use geo_types::Rect;

use super::circle::{reock, smallest_circle};
use super::*;
use crate::domain::{CareLevel, HouseholdId, RoadClass, SensitiveFlags, WaterKind};
use crate::domain::{Household, Region, Road, Water};
use crate::generate::{generate, Params};
use crate::partition::atoms::EdgeKind;
use crate::spatial::projection::LocalProjection;

fn settings() -> Settings {
    Settings::from_policy(&Policy::preset("ankang").unwrap())
}

/// Every level: no grid in pieces, nesting holds, every grid valid, codes
/// unique and under their parent's; level-3 grids tile the region.
fn assert_sound(p: &RegionPlan, region: &Region) {
    for lm in &p.levels {
        assert_eq!(lm.split, 0, "level {} split: {lm:?}", lm.level);
        assert_eq!(lm.nest, 0, "level {} nest: {lm:?}", lm.level);
        assert_eq!(lm.invalid, 0, "level {} invalid: {lm:?}", lm.level);
    }
    let mut seen = HashSet::new();
    for g in &p.grids {
        assert!(seen.insert(g.code.clone()), "code {} twice", g.code);
        assert!(g.code.0.starts_with(&region.code.to_string()));
        if let Some(parent) = &g.parent {
            assert!(
                g.code.0.starts_with(&parent.0),
                "{} under {}",
                g.code,
                parent
            );
        }
        assert!(g.geometry.is_valid(), "grid {} invalid", g.code);
    }
    // Level-3 grids tile the region (in its local plane).
    let proj = LocalProjection::for_bbox(region.boundary.bounding_rect().unwrap());
    let want = proj.project(&region.boundary);
    let mut union = MultiPolygon::<f64>(vec![]);
    for g in p.grids.iter().filter(|g| g.level == Level::THREE) {
        union = union.union(&proj.project(&g.geometry));
    }
    let diff = union.xor(&want).unsigned_area();
    assert!(
        diff <= 1e-6 * want.unsigned_area(),
        "level-3 grids miss or exceed the region by {diff} m²"
    );
}

fn in_range(p: &RegionPlan, level: usize) -> f64 {
    p.levels[level].in_range
}

#[test]
fn a_generated_community_gets_a_sound_three_level_plan_with_codes_in_reading_order() {
    let g = generate(
        Params {
            households: 20_000,
            seed: 3,
        },
        &mut |_| {},
    );
    let all = grounds(&g.regions, &g.roads, &g.water, &g.households, None);
    let ground = all
        .iter()
        .max_by_key(|x| x.households.len())
        .expect("a community");
    let s = settings();
    let p = plan_region(ground, &s, None).unwrap();
    assert_sound(&p, ground.region);
    assert_eq!(p.households, ground.households.len());
    let placed: u32 = p
        .grids
        .iter()
        .filter(|x| x.level == Level::ONE)
        .map(|x| x.metrics.households)
        .sum();
    assert_eq!(placed as usize, ground.households.len());
    for l in 0..3 {
        assert!(in_range(&p, l) >= 0.9, "level {l}: {:?}", p.levels[l]);
    }
    // Level 1 follows roads mostly.
    assert!(p.levels[0].road_share >= 0.7, "{:?}", p.levels[0]);
    // Codes 001, 002, ... in reading order: the first is no further south
    // than a whole row below the last.
    let l1: Vec<&Grid> = p.grids.iter().filter(|x| x.level == Level::ONE).collect();
    let width = s.code_widths[0];
    for (i, grid) in l1.iter().enumerate() {
        let _ = i;
        assert_eq!(grid.code.0.len(), 12 + width);
    }
    let mut seqs: Vec<u32> = l1.iter().map(|x| x.code.0[12..].parse().unwrap()).collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=l1.len() as u32).collect::<Vec<_>>());
    // Deterministic.
    let again = plan_region(ground, &s, None).unwrap();
    assert_eq!(again.labels, p.labels);
}

fn household(id: u64, x: f64, y: f64, building: Option<i64>, code: RegionCode) -> Household {
    Household {
        id: id as HouseholdId,
        location: Point::new(x, y),
        size: 3,
        care: CareLevel(if id % 10 == 0 { 1 } else { 0 }),
        flags: SensitiveFlags::default(),
        building,
        address: String::new(),
        head_name: String::new(),
        phone: String::new(),
        region: Some(code),
        estimated: false,
    }
}

/// Metres → degrees near (108.9°E, 32.7°N), roughly.
fn deg(x: f64, y: f64) -> (f64, f64) {
    (108.9 + x / 93_800.0, 32.7 + y / 111_000.0)
}

fn road(id: i64, pts: &[(f64, f64)], class: RoadClass) -> Road {
    Road {
        id,
        class,
        name: String::new(),
        grade: crate::domain::Grade::Surface,
        geometry: LineString::from(pts.iter().map(|&(x, y)| deg(x, y)).collect::<Vec<_>>()),
    }
}

fn square_deg(x0: f64, y0: f64, x1: f64, y1: f64) -> Polygon<f64> {
    let (a, b) = (deg(x0, y0), deg(x1, y1));
    Rect::new(a, b).to_polygon()
}

/// A concave, two-part region (an L and an island), a river with one
/// bridge, a park with nobody in it and a tower heavier than a level-3
/// grid may be.
fn hard_region() -> (Region, Vec<Road>, Vec<Water>, Vec<Household>) {
    let code: RegionCode = "610902001001".parse().unwrap();
    let (a, b) = (deg(0.0, 0.0), deg(1200.0, 400.0));
    let (c, d) = (deg(0.0, 400.0), deg(400.0, 1200.0));
    let l = MultiPolygon(vec![Rect::new(a, b).to_polygon()])
        .union(&MultiPolygon(vec![Rect::new(c, d).to_polygon()]));
    let mut boundary = l;
    boundary.0.push(square_deg(1500.0, 800.0, 1800.0, 1100.0));
    let region = Region {
        code,
        name: "测试社区".into(),
        parent: None,
        boundary,
    };
    let mut roads = Vec::new();
    let mut id = 1;
    // A street lattice every 100 m over everything.
    for i in 0..=18 {
        let v = i as f64 * 100.0;
        roads.push(road(id, &[(v, -50.0), (v, 1250.0)], RoadClass::Residential));
        roads.push(road(
            id + 1,
            &[(-50.0, v), (1850.0, v)],
            RoadClass::Residential,
        ));
        id += 2;
    }
    // The river between y = 180 and 220 along the bottom arm, one bridge
    // (the road at x = 600 crosses it; the others stop at its banks).
    let river = Water {
        id: 1,
        kind: WaterKind::Area,
        name: "河".into(),
        geometry: geo_types::Geometry::Polygon(square_deg(-50.0, 180.0, 1250.0, 220.0)),
    };
    let mut households = Vec::new();
    let mut hid = 1;
    for bx in 0..18 {
        for by in 0..12 {
            let (x, y) = (bx as f64 * 100.0 + 50.0, by as f64 * 100.0 + 50.0);
            // The park: the block at (250, 50) has nobody.
            if (bx, by) == (2, 0) {
                continue;
            }
            for k in 0..12 {
                let (lon, lat) = deg(
                    x - 30.0 + (k % 4) as f64 * 20.0,
                    y - 30.0 + (k / 4) as f64 * 25.0,
                );
                households.push(household(
                    hid,
                    lon,
                    lat,
                    Some(i64::from(bx * 100 + by)),
                    code,
                ));
                hid += 1;
            }
        }
    }
    // The tower: 90 households in one building, geocoded to its door (one
    // point, so it cannot be divided).
    for _ in 0..90 {
        let (lon, lat) = deg(150.0, 650.0);
        households.push(household(hid, lon, lat, Some(99_999), code));
        hid += 1;
    }
    // Only households inside the region.
    households.retain(|h| region.boundary.intersects(&h.location));
    (region, roads, vec![river], households)
}

fn ground_of<'a>(
    region: &'a Region,
    roads: &'a [Road],
    water: &'a [Water],
    households: &'a [Household],
) -> Ground<'a> {
    Ground {
        region,
        roads: roads.iter().collect(),
        water: water.iter().collect(),
        households: households.iter().collect(),
        buildings: vec![],
    }
}

fn hard_settings() -> Settings {
    let mut s = settings();
    // Small levels so this small region has several grids at each.
    s.levels = vec![
        LevelSpec {
            target: 300.0,
            min: 240.0,
            max: 360.0,
            k: None,
            below: None,
            seeded: false,
        },
        LevelSpec {
            target: 100.0,
            min: 70.0,
            max: 130.0,
            k: None,
            below: None,
            seeded: false,
        },
        LevelSpec {
            target: 40.0,
            min: 24.0,
            max: 56.0,
            k: None,
            below: None,
            seeded: false,
        },
    ];
    s.atoms.max_households = 56;
    s.atoms.group_households = 20;
    s
}

#[test]
fn hard_cases_concave_island_river_park_and_tower() {
    let (region, roads, water, households) = hard_region();
    let ground = ground_of(&region, &roads, &water, &households);
    let s = hard_settings();
    let p = plan_region(&ground, &s, None).unwrap();
    assert_sound(&p, &region);
    // The tower is a level-3 grid of its own, reported.
    let towers: Vec<&Grid> = p
        .grids
        .iter()
        .filter(|g| g.level == Level::THREE && g.metrics.tower)
        .collect();
    assert_eq!(towers.len(), 1);
    assert_eq!(towers[0].metrics.households, 90);
    assert_eq!(p.levels[2].towers, 1);
    // The island is gridded apart: no grid both on it and on the mainland.
    let island = MultiPolygon(vec![square_deg(1450.0, 750.0, 1850.0, 1150.0)]);
    for g in &p.grids {
        let on = g.geometry.intersection(&island).unsigned_area() / g.geometry.unsigned_area();
        assert!(
            on < 1e-6 || on > 1.0 - 1e-6,
            "grid {} straddles the sea",
            g.code
        );
    }
    // The park (no households) is in some grid all the same.
    let park = square_deg(210.0, 10.0, 290.0, 90.0);
    assert!(p
        .grids
        .iter()
        .any(|g| g.level == Level::THREE && g.geometry.contains(&park)));
    // Most level-3 grids in range (the island's 108 households and the
    // tower make some misses unavoidable).
    assert!(p.levels[2].in_range >= 0.85, "{:?}", p.levels[2]);
    for lm in &p.levels {
        assert!(lm.pp_mean > 0.4, "{lm:?}");
    }
}

/// A tall building of 200 households spread over its floor plan is cut
/// between households into several level-3 grids: each is reported as a
/// tower, since all its households live in one building.
#[test]
fn grids_inside_one_building_are_reported_as_towers() {
    let (region, roads, water, mut households) = hard_region();
    let code = region.code;
    // Block (3, 9), x 300-400 m, y 900-1000 m, becomes one building.
    let block = square_deg(300.0, 900.0, 400.0, 1000.0);
    households.retain(|h| !block.contains(&h.location));
    for k in 0u32..200 {
        let (lon, lat) = deg(
            310.0 + f64::from(k % 20) * 4.0,
            910.0 + f64::from(k / 20) * 8.0,
        );
        households.push(household(
            1_000_000 + u64::from(k),
            lon,
            lat,
            Some(77_777),
            code,
        ));
    }
    let ground = ground_of(&region, &roads, &water, &households);
    let p = plan_region(&ground, &hard_settings(), None).unwrap();
    let inside: Vec<&Grid> = p
        .grids
        .iter()
        .filter(|g| g.level == Level::THREE && g.metrics.households > 0)
        .filter(|g| {
            households
                .iter()
                .filter(|h| g.geometry.contains(&h.location))
                .all(|h| h.building == Some(77_777))
        })
        .collect();
    assert!(inside.len() >= 3, "{} grids in the building", inside.len());
    assert!(inside.iter().all(|g| g.metrics.tower));
    // The 90-household tower of the hard region is one more.
    assert_eq!(p.levels[2].towers, inside.len() + 1, "{:?}", p.levels[2]);
}

#[test]
fn a_resolve_with_a_lock_keeps_the_locked_grid_and_its_codes() {
    let (region, roads, water, households) = hard_region();
    let ground = ground_of(&region, &roads, &water, &households);
    let s = hard_settings();
    let first = plan_region(&ground, &s, None).unwrap();
    let plan = first.to_plan("planner", "first", None);
    // Lock a level-2 grid: its level-1 grid stays whole.
    let locked_l2 = first
        .grids
        .iter()
        .find(|g| g.level == Level::TWO)
        .unwrap()
        .code
        .clone();
    let l1_code = GridCode(locked_l2.0[..15].to_string());
    let mut s2 = s.clone();
    s2.solver.seed = 99;
    let second = plan_region(
        &ground,
        &s2,
        Some(Previous {
            plan: &plan,
            atoms: &first.atoms,
            locked: std::slice::from_ref(&locked_l2),
        }),
    )
    .unwrap();
    assert_sound(&second, &region);
    let kept = |p: &RegionPlan| -> Vec<(String, Vec<u32>)> {
        let mut v: Vec<(String, Vec<u32>)> = p
            .grids
            .iter()
            .filter(|g| g.code.0.starts_with(&l1_code.0))
            .map(|g| {
                let l = g.level.index();
                let atoms = (0..p.atoms.len() as u32)
                    .filter(|&a| p.labels[l][a as usize] == g.id)
                    .collect();
                (g.code.0.clone(), atoms)
            })
            .collect();
        v.sort();
        v
    };
    assert!(!kept(&first).is_empty());
    assert_eq!(
        kept(&first),
        kept(&second),
        "the locked level-1 grid changed"
    );
    // A lock that names no grid is refused.
    let bad = GridCode("610902001001999".into());
    let err = plan_region(
        &ground,
        &s2,
        Some(Previous {
            plan: &plan,
            atoms: &first.atoms,
            locked: std::slice::from_ref(&bad),
        }),
    )
    .unwrap_err();
    assert!(matches!(err, PlanError::UnknownLock(_)), "{err}");
}

#[test]
fn smallest_circle_of_a_square_and_reock_of_a_disc_like_shape() {
    let pts = [
        Coord { x: 0.0, y: 0.0 },
        Coord { x: 2.0, y: 0.0 },
        Coord { x: 2.0, y: 2.0 },
        Coord { x: 0.0, y: 2.0 },
        Coord { x: 1.0, y: 1.0 },
    ];
    let (cx, cy, r) = smallest_circle(&pts);
    assert!((cx - 1.0).abs() < 1e-9 && (cy - 1.0).abs() < 1e-9);
    assert!((r - 2f64.sqrt()).abs() < 1e-9);
    let sq = MultiPolygon(vec![Rect::new((0.0, 0.0), (2.0, 2.0)).to_polygon()]);
    let rk = reock(&sq, 4.0);
    assert!(
        (rk - 4.0 / (std::f64::consts::PI * 2.0)).abs() < 1e-9,
        "{rk}"
    );
}

#[test]
fn a_river_as_a_barrier_keeps_every_grid_on_one_bank() {
    let (region, roads, water, households) = hard_region();
    let ground = ground_of(&region, &roads, &water, &households);
    let bank = |g: &Grid, south: bool| {
        let side = if south {
            square_deg(-50.0, -50.0, 1250.0, 179.0)
        } else {
            square_deg(-50.0, 221.0, 1250.0, 1250.0)
        };
        g.geometry
            .intersection(&MultiPolygon(vec![side]))
            .unsigned_area()
            > 0.0
    };
    let crossing = |p: &RegionPlan| {
        p.grids
            .iter()
            .filter(|g| g.level == Level::ONE && bank(g, true) && bank(g, false))
            .count()
    };
    // Free: the bridge lets level-1 grids span the river.
    let free = plan_region(&ground, &hard_settings(), None).unwrap();
    assert_sound(&free, &region);
    let mut s = hard_settings();
    s.atoms.barriers = vec![EdgeKind::River];
    let walled = plan_region(&ground, &s, None).unwrap();
    assert_sound(&walled, &region);
    assert_eq!(crossing(&walled), 0, "a grid crosses the barrier");
    assert!(
        crossing(&free) > 0,
        "the test needs a grid across the river without the barrier"
    );
}

#[test]
fn seed_points_set_the_number_of_level_one_grids_and_where_they_grow() {
    let (region, roads, water, households) = hard_region();
    let ground = ground_of(&region, &roads, &water, &households);
    let mut s = hard_settings();
    let (a, b) = (deg(150.0, 1050.0), deg(1050.0, 350.0));
    s.seed_points = vec![Coord { x: a.0, y: a.1 }, Coord { x: b.0, y: b.1 }];
    let p = plan_region(&ground, &s, None).unwrap();
    assert_sound(&p, &region);
    let island = MultiPolygon(vec![square_deg(1450.0, 750.0, 1850.0, 1150.0)]);
    let mainland: Vec<&Grid> = p
        .grids
        .iter()
        .filter(|g| g.level == Level::ONE && !g.geometry.intersects(&island))
        .collect();
    assert_eq!(mainland.len(), 2, "one level-1 grid per seed point");
    for (x, y) in [a, b] {
        let holding = mainland
            .iter()
            .filter(|g| g.geometry.intersects(&Point::new(x, y)))
            .count();
        assert_eq!(holding, 1);
    }
    // Without seeds the same ground gets more, smaller level-1 grids.
    let free = plan_region(&ground, &hard_settings(), None).unwrap();
    let n = free
        .grids
        .iter()
        .filter(|g| g.level == Level::ONE && !g.geometry.intersects(&island))
        .count();
    assert!(n > 2, "{n}");
}

#[test]
fn a_grid_splits_along_a_line_through_the_middle_of_its_atoms() {
    use geo::{BoundingRect, InteriorPoint};
    let city = fixture::city();
    let (ground, s) = fixture::community(&city);
    let ground = &ground;
    let planned = plan_region(ground, &s, None).unwrap();
    let plan = planned.to_plan("test", "", None);
    // The level-3 grid with the most atoms, cut west to east through its
    // middle (trying a few heights: a concave grid may be crossed twice).
    let big = planned
        .grids
        .iter()
        .filter(|g| g.level.get() == 3)
        .max_by_key(|g| g.metrics.atoms)
        .unwrap();
    let r = big.geometry.bounding_rect().unwrap();
    let mut done = None;
    for f in [0.5, 0.4, 0.6, 0.3, 0.7] {
        let y = r.min().y + f * r.height();
        let line = LineString::from(vec![(r.min().x - 0.01, y), (r.max().x + 0.01, y)]);
        if let Ok(sp) = split(ground, &s, &plan, &planned.atoms, big.id, &line) {
            done = Some((sp, y));
            break;
        }
    }
    let (sp, y) = done.expect("a line that cuts the grid in two");
    // The line went through the middle of atoms: they were cut, and the
    // pieces cover exactly what the atoms covered.
    assert!(!sp.added.is_empty());
    assert!(sp.atoms.len() > planned.atoms.len());
    let area = |atoms: &[Atom]| -> f64 { atoms.iter().map(|a| a.geometry.unsigned_area()).sum() };
    let (before, after) = (area(&planned.atoms), area(&sp.atoms));
    assert!(
        (before - after).abs() <= 1e-9 * before,
        "{before} vs {after}"
    );
    // New atoms take ids after the old ones; untouched atoms keep theirs.
    let top = planned.atoms.iter().map(|a| a.id).max().unwrap();
    assert!(sp.added.iter().all(|a| a.id > top));
    assert_eq!(sp.plan.atoms.len(), sp.plan.labels.len());
    // The new grid is the part south of the line (right of a line drawn
    // east), under the same parent, with the next code.
    let new_id = plan.codes[2].len() as u32;
    let code = &sp.plan.codes[2][new_id as usize];
    let parent_len = code.0.len() - 2;
    assert_eq!(code.0[..parent_len], big.code.0[..parent_len]);
    let seq = |c: &GridCode| c.0[parent_len..].parse::<u32>().unwrap();
    let highest = plan.codes[2]
        .iter()
        .filter(|c| c.0.starts_with(&big.code.0[..parent_len]))
        .map(seq)
        .max()
        .unwrap();
    assert_eq!(seq(code), highest + 1);
    for (a, l) in sp.atoms.iter().zip(&sp.plan.labels) {
        let p = a.geometry.interior_point().unwrap();
        if l.0[2] == new_id {
            assert!(p.y() < y, "{p:?} north of {y}");
        } else if l.0[2] == big.id {
            assert!(p.y() > y, "{p:?} south of {y}");
        }
    }
    // Evaluated from geometry: sound, every household counted once, the
    // two grids hold what the one held.
    let again = evaluate(ground, &s, &sp.plan, &sp.atoms).unwrap();
    assert_sound(&again, ground.region);
    assert_eq!(again.households, planned.households);
    let households = |p: &RegionPlan, c: &GridCode| {
        p.grids
            .iter()
            .find(|g| g.level.get() == 3 && &g.code == c)
            .map_or(0, |g| g.metrics.households)
    };
    assert_eq!(
        households(&again, &big.code) + households(&again, code),
        big.metrics.households
    );
    // The split's own ledger measures the two grids as the evaluation does.
    let quick = sp.ledger.measure(&sp.plan, &sp.touched);
    assert_eq!(quick.len(), 2);
    for g in &quick {
        assert_eq!(
            g.metrics.households,
            households(&again, &g.code),
            "{}",
            g.code
        );
    }
    // A line that misses the grid, and one along its edge, are refused.
    let far = LineString::from(vec![(r.max().x + 1.0, y), (r.max().x + 2.0, y)]);
    assert!(matches!(
        split(ground, &s, &plan, &planned.atoms, big.id, &far),
        Err(SplitError::Misses(_))
    ));
    assert!(matches!(
        split(ground, &s, &plan, &planned.atoms, 9999, &far),
        Err(SplitError::UnknownGrid(9999))
    ));
}

#[test]
fn the_unlocked_rest_of_a_parent_is_solved_again_and_locked_grids_stay() {
    let city = fixture::city();
    let (ground, s) = fixture::community(&city);
    let ground = &ground;
    let planned = plan_region(ground, &s, None).unwrap();
    let plan = planned.to_plan("test", "", None);
    // The level-1 grid with the most level-2 children; lock its first one.
    let kids = |p: &Plan, g: u32| -> HashSet<u32> {
        p.labels
            .iter()
            .filter(|x| x.0[0] == g)
            .map(|x| x.0[1])
            .collect()
    };
    let parent = (0..plan.codes[0].len() as u32)
        .max_by_key(|&g| kids(&plan, g).len())
        .unwrap();
    assert!(kids(&plan, parent).len() >= 2);
    let lock = *kids(&plan, parent).iter().min().unwrap();
    let lock_code = plan.codes[1][lock as usize].clone();
    let locked: HashSet<GridCode> = [lock_code.clone()].into_iter().collect();
    let code_at = |p: &Plan, a: usize, l: usize| p.codes[l][p.labels[a].0[l] as usize].clone();
    let next = resolve(&planned, &plan, &s, 0, parent, &locked).unwrap();
    for a in 0..plan.labels.len() {
        let under = plan.labels[a].0[0] == parent;
        let in_lock = under && plan.labels[a].0[1] == lock;
        if !under || in_lock {
            // Outside the parent, and inside the locked grid: as before.
            for l in 0..3 {
                assert_eq!(
                    code_at(&plan, a, l),
                    code_at(&next, a, l),
                    "atom {a} level {l}"
                );
            }
        } else {
            assert_eq!(code_at(&plan, a, 0), code_at(&next, a, 0));
        }
    }
    // Codes unique; every new grid under its parent's code.
    for l in 0..3 {
        let set: HashSet<&GridCode> = next.codes[l].iter().collect();
        assert_eq!(set.len(), next.codes[l].len(), "level {l}");
    }
    // Evaluated from geometry: sound, every household counted once.
    let again = evaluate(ground, &s, &next, &planned.atoms).unwrap();
    assert_sound(&again, ground.region);
    assert_eq!(again.households, planned.households);
}

/// Tunnels run under the blocks: the ground a region is planned on leaves
/// them out (no atom boundary, no barrier), bridges stay in.
#[test]
fn tunnels_are_left_out_of_the_ground_and_bridges_kept() {
    let (region, mut roads, water, households) = hard_region();
    let mut metro = road(9_001, &[(0.0, 0.0), (1200.0, 1200.0)], RoadClass::Railway);
    metro.grade = crate::domain::Grade::Tunnel;
    let mut bridge = road(9_002, &[(600.0, 100.0), (600.0, 300.0)], RoadClass::Primary);
    bridge.grade = crate::domain::Grade::Bridge;
    roads.extend([metro, bridge]);
    let all = grounds(
        std::slice::from_ref(&region),
        &roads,
        &water,
        &households,
        None,
    );
    let ids: Vec<i64> = all[0].roads.iter().map(|r| r.id).collect();
    assert!(!ids.contains(&9_001));
    assert!(ids.contains(&9_002));
}

/// A 1 km square community on a 100 m street lattice with a campus of
/// 4 × 4 blocks in the middle: teaching buildings, nobody living there,
/// its inner streets minor roads like the rest.
fn campus_ground() -> (
    Region,
    Vec<Road>,
    Vec<Household>,
    Vec<crate::domain::Building>,
) {
    let code: RegionCode = "610902001001".parse().unwrap();
    let region = Region {
        code,
        name: "校园社区".into(),
        parent: None,
        boundary: MultiPolygon(vec![square_deg(0.0, 0.0, 1000.0, 1000.0)]),
    };
    let mut roads = Vec::new();
    for i in 1..10 {
        let v = f64::from(i) * 100.0;
        roads.push(road(
            i64::from(i),
            &[(v, -50.0), (v, 1050.0)],
            RoadClass::Residential,
        ));
        roads.push(road(
            100 + i64::from(i),
            &[(-50.0, v), (1050.0, v)],
            RoadClass::Residential,
        ));
    }
    let on_campus = |bx: i32, by: i32| (3..7).contains(&bx) && (3..7).contains(&by);
    let (mut households, mut buildings) = (Vec::new(), Vec::new());
    let mut id = 1;
    for bx in 0..10 {
        for by in 0..10 {
            let (x, y) = (f64::from(bx) * 100.0 + 50.0, f64::from(by) * 100.0 + 50.0);
            let building = i64::from(bx * 10 + by);
            buildings.push(crate::domain::Building {
                id: building,
                levels: Some(5),
                height_m: None,
                kind: if on_campus(bx, by) {
                    "university"
                } else {
                    "residential"
                }
                .into(),
                geometry: MultiPolygon(vec![square_deg(x - 30.0, y - 30.0, x + 30.0, y + 30.0)]),
            });
            if on_campus(bx, by) {
                continue;
            }
            for k in 0..12 {
                let (lon, lat) = deg(
                    x - 25.0 + f64::from(k % 4) * 15.0,
                    y - 20.0 + f64::from(k / 4) * 20.0,
                );
                households.push(household(id, lon, lat, Some(building), code));
                id += 1;
            }
        }
    }
    (region, roads, households, buildings)
}

/// The level-3 grids holding the campus blocks' centres.
fn campus_grids(p: &RegionPlan) -> HashSet<GridCode> {
    let mut out = HashSet::new();
    for bx in 3..7 {
        for by in 3..7 {
            let (lon, lat) = deg(f64::from(bx) * 100.0 + 50.0, f64::from(by) * 100.0 + 50.0);
            let at = Point::new(lon, lat);
            let g = p
                .grids
                .iter()
                .find(|g| g.level == Level::THREE && g.geometry.intersects(&at))
                .expect("every block is in a level-3 grid");
            out.insert(g.code.clone());
        }
    }
    out
}

#[test]
fn land_without_homes_is_left_to_one_grid_at_every_level() {
    let (region, roads, households, buildings) = campus_ground();
    let mut ground = ground_of(&region, &roads, &[], &households);
    let s = hard_settings();
    // Without the buildings' use the campus is just empty blocks, which
    // the grids around it share out for their shapes.
    let blind = plan_region(&ground, &s, None).unwrap();
    assert!(
        campus_grids(&blind).len() > 1,
        "the control should split the campus"
    );
    attach_buildings(std::slice::from_mut(&mut ground), &buildings);
    assert_eq!(ground.buildings.len(), 100);
    let p = plan_region(&ground, &s, None).unwrap();
    assert_sound(&p, &region);
    let held = campus_grids(&p);
    assert_eq!(
        held.len(),
        1,
        "the campus lies in one level-3 grid: {held:?}"
    );
    // Balance is untouched: the campus holds nobody.
    assert_eq!(p.households, households.len());
    assert!(in_range(&p, 2) >= in_range(&blind, 2) - 0.05);
}
