//! Hand-made cases whose answers are known.

use geo_types::{coord, Coord, LineString, MultiPolygon, Point, Polygon};

use super::*;
use crate::domain::{CareLevel, GridCode, RoadClass, SensitiveFlags};

const ORIGIN: Coord<f64> = coord! { x: 109.0, y: 32.7 };

fn proj() -> LocalProjection {
    LocalProjection::new(ORIGIN)
}

fn ll(x: f64, y: f64) -> Coord<f64> {
    proj().inverse(coord! { x: x, y: y })
}

/// A rectangle given in metres east/north of the origin, as WGS-84.
fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> MultiPolygon<f64> {
    MultiPolygon(vec![Polygon::new(
        LineString(vec![
            ll(x0, y0),
            ll(x1, y0),
            ll(x1, y1),
            ll(x0, y1),
            ll(x0, y0),
        ]),
        Vec::new(),
    )])
}

fn region(code: &str, boundary: MultiPolygon<f64>) -> Region {
    Region {
        code: code.parse().unwrap(),
        name: format!("社区{code}"),
        parent: None,
        boundary,
    }
}

fn grid(code: &str, level: u8, g: MultiPolygon<f64>) -> ImportedGrid {
    ImportedGrid {
        id: code.len() as i64 * 1000 + code.parse::<i64>().unwrap_or(0) % 1000,
        region: code[..12].parse().unwrap(),
        level: Level::new(level).unwrap(),
        code: GridCode(code.into()),
        name: format!("网格{code}"),
        parent: None,
        geometry: g,
    }
}

fn household(id: i64, x: f64, y: f64, care: u8) -> Household {
    Household {
        id,
        location: Point(ll(x, y)),
        size: 2,
        care: CareLevel(care),
        flags: SensitiveFlags::default(),
        building: None,
        address: String::new(),
        head_name: String::new(),
        phone: String::new(),
        region: Some(R.parse().unwrap()),
        estimated: false,
    }
}

fn person(id: i64, role: Role, x: f64, y: f64, grids: &[&str]) -> Person {
    Person {
        id,
        name: format!("人{id}"),
        phone: String::new(),
        roles: vec![role],
        team: None,
        skills: Vec::new(),
        status: crate::domain::Availability::OnDuty,
        checkin: None,
        reserve: false,
        home: Point(ll(x, y)),
        grids: grids.iter().map(|g| GridCode((*g).into())).collect(),
        region: Some(R.parse().unwrap()),
    }
}

const R: &str = "610902001001";

fn analyse(
    regions: &[Region],
    grids: &[ImportedGrid],
    households: &[Household],
    people: &[Person],
    water: &[Water],
) -> Analysis {
    let input = Inputs {
        regions,
        grids,
        households,
        people,
        water,
        buildings: &[],
        walking: None,
    };
    Analysis::new(&input, &Policy::default(), Options::default())
}

fn of_kind(r: &Report, k: FindingKind) -> Vec<&Finding> {
    r.findings.iter().filter(|f| f.kind == k).collect()
}

/// A 1 km square community; level-1 grids cover all but a 100 × 200 m
/// notch, which is the gap.
#[test]
fn finds_a_gap_of_known_area_and_counts_land_covered() {
    let regions = vec![region(R, rect(0.0, 0.0, 1000.0, 1000.0))];
    let grids = vec![
        grid("610902001001001", 1, rect(0.0, 0.0, 500.0, 1000.0)),
        grid("610902001001002", 1, rect(500.0, 200.0, 1000.0, 1000.0)),
        grid("610902001001003", 1, rect(500.0, 0.0, 900.0, 200.0)),
    ];
    let hh = vec![household(1, 950.0, 100.0, 0), household(2, 100.0, 100.0, 0)];
    let a = analyse(&regions, &grids, &hh, &[], &[]);
    let r = a.report(Some(R.parse().unwrap()), &Scope::all());
    let gaps = of_kind(&r, FindingKind::Gap);
    assert_eq!(gaps.len(), 1, "{:?}", r.findings);
    assert!(
        (gaps[0].area_m2 - 20_000.0).abs() < 20.0,
        "{}",
        gaps[0].area_m2
    );
    assert_eq!(gaps[0].level, Some(Level::ONE));
    assert!((r.region.land_m2 - 1e6).abs() < 1e3);
    assert!((r.region.land_covered_pct - 98.0).abs() < 0.05);
    // The household in the notch is in no grid; the other is in one.
    let no_grid = of_kind(&r, FindingKind::NoGrid);
    assert_eq!(no_grid.len(), 1);
    assert_eq!(no_grid[0].households, 1);
    assert!(of_kind(&r, FindingKind::Overlap).is_empty());
}

#[test]
fn a_sliver_is_reported_apart_from_gaps_and_water_is_not_a_gap() {
    let regions = vec![region(R, rect(0.0, 0.0, 1000.0, 1000.0))];
    // A 2 m strip left between the grids (2,000 m²: a gap), a 0.5 m one
    // along the top (500 m²... also a gap), and a 5 × 10 m notch (a sliver).
    let grids = vec![
        grid("610902001001001", 1, rect(0.0, 0.0, 499.0, 1000.0)),
        grid("610902001001002", 1, rect(501.0, 0.0, 1000.0, 990.0)),
        grid("610902001001003", 1, rect(501.0, 990.0, 995.0, 1000.0)),
    ];
    let river = Water {
        id: 1,
        kind: WaterKind::Area,
        name: "汉江".into(),
        geometry: Geometry::MultiPolygon(rect(499.0, 0.0, 501.0, 1000.0)),
    };
    let a = analyse(&regions, &grids, &[], &[], std::slice::from_ref(&river));
    let r = a.report(None, &Scope::all());
    // The strip is all water: no gap. The 5 × 10 m corner is a sliver.
    assert!(of_kind(&r, FindingKind::Gap).is_empty(), "{:?}", r.findings);
    let slivers = of_kind(&r, FindingKind::Sliver);
    assert_eq!(slivers.len(), 1);
    assert!(
        (slivers[0].area_m2 - 50.0).abs() < 0.5,
        "{}",
        slivers[0].area_m2
    );
    assert!(
        (r.region.land_m2 - 998_000.0).abs() < 100.0,
        "{}",
        r.region.land_m2
    );
}

#[test]
fn finds_overlaps_grids_outside_and_grids_across_their_parent() {
    let regions = vec![region(R, rect(0.0, 0.0, 1000.0, 1000.0))];
    let mut grids = vec![
        grid("610902001001001", 1, rect(0.0, 0.0, 500.0, 1000.0)),
        // Reaches 30 m beyond the region's east edge.
        grid("610902001001002", 1, rect(500.0, 0.0, 1030.0, 1000.0)),
        grid("61090200100100101", 2, rect(0.0, 0.0, 300.0, 1000.0)),
        // Overlaps its sibling by 50 × 1000 m and crosses into grid 002.
        grid("61090200100100102", 2, rect(250.0, 0.0, 550.0, 1000.0)),
    ];
    grids[3].parent = Some(GridCode("610902001001001".into()));
    let a = analyse(&regions, &grids, &[], &[], &[]);
    let r = a.report(None, &Scope::all());
    let overlaps = of_kind(&r, FindingKind::Overlap);
    assert_eq!(overlaps.len(), 1, "{:?}", r.findings);
    assert!((overlaps[0].area_m2 - 50_000.0).abs() < 50.0);
    assert_eq!(
        overlaps[0].grids,
        vec!["61090200100100101", "61090200100100102"]
    );
    let outside = of_kind(&r, FindingKind::Outside);
    assert_eq!(outside.len(), 1);
    assert_eq!(outside[0].grids, vec!["610902001001002"]);
    assert!((outside[0].area_m2 - 30_000.0).abs() < 30.0);
    let nesting = of_kind(&r, FindingKind::Nesting);
    assert_eq!(nesting.len(), 1);
    assert_eq!(
        nesting[0].grids,
        vec!["61090200100100102", "610902001001001"]
    );
    assert!((nesting[0].area_m2 - 50_000.0).abs() < 50.0);
    // Level 2 leaves 450 × 1000 m of land in no level-2 grid.
    let gaps = of_kind(&r, FindingKind::Gap);
    assert_eq!(gaps.len(), 1);
    assert_eq!(gaps[0].level, Some(Level::TWO));
    assert!((gaps[0].area_m2 - 450_000.0).abs() < 450.0);
}

#[test]
fn a_concave_multi_part_region_with_a_hole_is_covered_exactly_by_matching_grids() {
    // Two parts: an L shape with a courtyard hole, and an island.
    let l_shape = Polygon::new(
        LineString(vec![
            ll(0.0, 0.0),
            ll(600.0, 0.0),
            ll(600.0, 200.0),
            ll(200.0, 200.0),
            ll(200.0, 600.0),
            ll(0.0, 600.0),
            ll(0.0, 0.0),
        ]),
        vec![LineString(vec![
            ll(50.0, 50.0),
            ll(150.0, 50.0),
            ll(150.0, 150.0),
            ll(50.0, 150.0),
            ll(50.0, 50.0),
        ])],
    );
    let island = rect(800.0, 800.0, 900.0, 900.0).0.remove(0);
    let boundary = MultiPolygon(vec![l_shape.clone(), island.clone()]);
    let regions = vec![region(R, boundary.clone())];
    let grids = vec![grid("610902001001001", 1, boundary)];
    let hh = vec![household(1, 100.0, 100.0, 0), household(2, 850.0, 850.0, 0)];
    let a = analyse(&regions, &grids, &hh, &[], &[]);
    let r = a.report(None, &Scope::all());
    // Nobody staffs it (no leader), but the land is covered exactly.
    assert!(
        r.findings
            .iter()
            .all(|f| matches!(f.kind, FindingKind::NoGrid | FindingKind::NoLeader)),
        "{:?}",
        r.findings
    );
    // The household in the courtyard (the hole) is in no grid.
    assert_eq!(of_kind(&r, FindingKind::NoGrid)[0].households, 1);
    let area = 600.0 * 200.0 + 200.0 * 400.0 - 100.0 * 100.0 + 100.0 * 100.0;
    assert!((r.region.land_m2 - area).abs() < 1.0);
    assert_eq!(r.region.land_covered_pct, 100.0);
}

#[test]
fn a_household_on_the_line_between_two_grids_is_in_one_of_them() {
    let regions = vec![region(R, rect(0.0, 0.0, 1000.0, 1000.0))];
    let grids = vec![
        grid("610902001001001", 1, rect(0.0, 0.0, 500.0, 1000.0)),
        grid("610902001001002", 1, rect(500.0, 0.0, 1000.0, 1000.0)),
    ];
    // On the shared edge (the edge as stored, not a rounded copy).
    let edge = grids[0].geometry.0[0].exterior().0[1];
    let corner = grids[0].geometry.0[0].exterior().0[2];
    let mid = coord! { x: (edge.x + corner.x) / 2.0, y: (edge.y + corner.y) / 2.0 };
    let mut h = household(1, 0.0, 0.0, 1);
    h.location = Point(mid);
    let a = analyse(&regions, &grids, &[h], &[], &[]);
    let r = a.report(None, &Scope::all());
    assert!(
        of_kind(&r, FindingKind::SeveralGrids).is_empty(),
        "{:?}",
        r.findings
    );
    assert!(of_kind(&r, FindingKind::NoGrid).is_empty());
    let counts: Vec<u64> = r.grids.iter().map(|g| g.households.iter().sum()).collect();
    assert_eq!(counts, vec![1, 0], "the smaller code takes it");
}

/// Overlapping interiors put a household in two grids.
#[test]
fn a_household_inside_two_overlapping_grids_is_in_several() {
    let regions = vec![region(R, rect(0.0, 0.0, 1000.0, 1000.0))];
    let grids = vec![
        grid("610902001001001", 1, rect(0.0, 0.0, 600.0, 1000.0)),
        grid("610902001001002", 1, rect(400.0, 0.0, 1000.0, 1000.0)),
    ];
    let a = analyse(&regions, &grids, &[household(1, 500.0, 500.0, 0)], &[], &[]);
    let r = a.report(None, &Scope::all());
    assert_eq!(of_kind(&r, FindingKind::SeveralGrids)[0].households, 1);
}

/// The staffing rate (配齐率) counts the grids that need staff: with no
/// staff at all it is 0%, and an empty grid needs no one.
#[test]
fn with_no_staff_at_all_the_staffing_rate_is_zero_and_empty_grids_need_no_one() {
    let (regions, grids) = staffed_community();
    // Households in the west level-3 grid only.
    let hh = vec![household(1, 100.0, 100.0, 0), household(2, 300.0, 700.0, 1)];
    let a = analyse(&regions, &grids, &hh, &[], &[]);
    let r = a.report(None, &Scope::all());
    assert_eq!(r.region.grids, 4);
    // Level 1 (a leader) and the west level-3 grid (a worker); not level
    // 2, not the empty east grid.
    assert_eq!(r.region.grids_needing_staff, 2);
    assert_eq!(r.region.grids_staffed, 0);
    assert!(r.region.grids_staffed_pct.abs() < 1e-9);
    let unstaffed = of_kind(&r, FindingKind::Unstaffed);
    assert_eq!(unstaffed.len(), 1);
    assert_eq!(unstaffed[0].grids, vec!["6109020010010010101"]);
    assert_eq!(of_kind(&r, FindingKind::NoLeader).len(), 1);
    let east = r
        .grids
        .iter()
        .find(|g| g.code == "6109020010010010102")
        .unwrap();
    assert!(!east.needs_staff && !east.unstaffed);
}

fn staffed_community() -> (Vec<Region>, Vec<ImportedGrid>) {
    let regions = vec![region(R, rect(0.0, 0.0, 1000.0, 1000.0))];
    let grids = vec![
        grid("610902001001001", 1, rect(0.0, 0.0, 1000.0, 1000.0)),
        grid("61090200100100101", 2, rect(0.0, 0.0, 1000.0, 1000.0)),
        grid("6109020010010010101", 3, rect(0.0, 0.0, 500.0, 1000.0)),
        grid("6109020010010010102", 3, rect(500.0, 0.0, 1000.0, 1000.0)),
    ];
    (regions, grids)
}

#[test]
fn a_vulnerable_household_at_299_m_is_reached_and_one_at_301_m_is_not() {
    let (regions, grids) = staffed_community();
    let hh = vec![
        household(1, 100.0 + 299.0, 500.0, 2),
        household(2, 100.0, 500.0 + 301.0, 1),
        household(3, 100.0, 100.0, 0),
        // The east level-3 grid has people, so it needs a worker.
        household(4, 700.0, 500.0, 0),
    ];
    let people = vec![
        person(
            1,
            Role::PartTimeWorker,
            100.0,
            500.0,
            &["6109020010010010101"],
        ),
        person(2, Role::GridLeader, 900.0, 900.0, &["610902001001001"]),
    ];
    let a = analyse(&regions, &grids, &hh, &people, &[]);
    let r = a.report(None, &Scope::all());
    let unreached = of_kind(&r, FindingKind::Unreached);
    assert_eq!(unreached.len(), 1, "{:?}", r.findings);
    match &unreached[0].geometry {
        Some(Geometry::Point(p)) => assert_eq!(p.0, hh[1].location.0),
        g => panic!("{g:?}"),
    }
    assert_eq!(r.region.vulnerable, 2);
    assert_eq!(r.region.reached, 1);
    assert_eq!(r.region.reached_pct, 50.0);
    // The east level-3 grid has no worker; the leader heads level 1.
    let unstaffed = of_kind(&r, FindingKind::Unstaffed);
    assert_eq!(unstaffed.len(), 1);
    assert_eq!(unstaffed[0].grids, vec!["6109020010010010102"]);
    assert!(of_kind(&r, FindingKind::NoLeader).is_empty());
    // Staff roll up the grids: the level-1 grid counts its leader and the
    // worker of the level-3 grid nested in it.
    let l1 = r.grids.iter().find(|g| g.level == 1).unwrap();
    assert_eq!(l1.staff.get("grid_leader"), Some(&1));
    assert_eq!(l1.staff.get("part_time_worker"), None);
    assert_eq!(l1.staff_within.get("part_time_worker"), Some(&1));
    assert_eq!(l1.staff_within.get("grid_leader"), Some(&1));
    assert_eq!(r.region.grids, 4);
    // Level 2 needs no one: the leader's level-1 grid and the west
    // level-3 grid are staffed, the east one is not.
    assert_eq!(r.region.grids_needing_staff, 3);
    assert_eq!(r.region.grids_staffed, 2);
    assert!((r.region.grids_staffed_pct - 66.7).abs() < 1e-9);
    let cells = of_kind(&r, FindingKind::UnreachedCell);
    assert_eq!(cells.len(), 1);
    assert_eq!(cells[0].vulnerable, 1);
}

#[test]
fn a_carer_of_another_grid_does_not_count() {
    let (regions, grids) = staffed_community();
    // The household is in the west level-3 grid; the carer next door
    // looks after the east one.
    let hh = vec![household(1, 490.0, 500.0, 2)];
    let people = vec![person(
        1,
        Role::BuildingHead,
        510.0,
        500.0,
        &["6109020010010010102"],
    )];
    let a = analyse(&regions, &grids, &hh, &people, &[]);
    assert_eq!(a.report(None, &Scope::all()).region.reached, 0);
}

#[test]
fn overloaded_grids_and_overstretched_people() {
    let (regions, grids) = staffed_community();
    // 301 households for one full-time worker (policy: at most 300).
    let hh: Vec<Household> = (0..301)
        .map(|i| household(i, 10.0 + f64::from(i as i32), 500.0, 0))
        .collect();
    let codes = [
        "610902001001001",
        "61090200100100101",
        "6109020010010010101",
        "6109020010010010102",
    ];
    let people = vec![person(1, Role::FullTimeWorker, 100.0, 100.0, &codes)];
    let a = analyse(&regions, &grids, &hh, &people, &[]);
    let r = a.report(None, &Scope::all());
    let over: Vec<_> = of_kind(&r, FindingKind::Overloaded)
        .iter()
        .map(|f| f.grids[0].clone())
        .collect();
    // The level-1 and level-2 grids hold all 301; the west level-3 grid 301
    // too (every household is west of 500 m).
    assert_eq!(
        over,
        vec![
            "610902001001001",
            "61090200100100101",
            "6109020010010010101"
        ]
    );
    let stretched = of_kind(&r, FindingKind::Overstretched);
    assert_eq!(stretched.len(), 1);
    assert_eq!(stretched[0].grids.len(), 4);
}

#[test]
fn one_staff_change_recomputes_only_the_grids_it_touches_and_agrees_with_a_full_run() {
    let (regions, grids) = staffed_community();
    let hh = vec![household(1, 750.0, 500.0, 2), household(2, 250.0, 500.0, 1)];
    let mut people = vec![person(
        1,
        Role::PartTimeWorker,
        250.0,
        400.0,
        &["6109020010010010101"],
    )];
    let mut a = analyse(&regions, &grids, &hh, &people, &[]);
    assert_eq!(a.report(None, &Scope::all()).region.reached, 1);
    // A new worker for the east level-3 grid.
    let newcomer = person(
        2,
        Role::PartTimeWorker,
        700.0,
        500.0,
        &["6109020010010010102"],
    );
    let touched = a.update_person(&newcomer);
    assert_eq!(
        touched,
        vec![
            "610902001001001",
            "61090200100100101",
            "6109020010010010102"
        ],
        "the grid and the grids above its households"
    );
    people.push(newcomer);
    let full = analyse(&regions, &grids, &hh, &people, &[]);
    let (x, y) = (
        a.report(None, &Scope::all()),
        full.report(None, &Scope::all()),
    );
    assert_eq!(x.region, y.region);
    assert_eq!(x.region.reached, 2);
    assert!(of_kind(&x, FindingKind::Unstaffed).is_empty());
}

#[test]
fn one_grid_edit_moves_households_and_agrees_with_a_full_run() {
    let (regions, mut grids) = staffed_community();
    let hh = vec![household(1, 450.0, 500.0, 2)];
    let people = vec![
        person(
            1,
            Role::PartTimeWorker,
            700.0,
            500.0,
            &["6109020010010010102"],
        ),
        person(
            2,
            Role::PartTimeWorker,
            100.0,
            100.0,
            &["6109020010010010101"],
        ),
    ];
    let mut a = analyse(&regions, &grids, &hh, &people, &[]);
    assert_eq!(a.report(None, &Scope::all()).region.reached, 0);
    // Move the line between the level-3 grids west to 400 m: the
    // household now belongs to the east grid, whose worker is 250 m away.
    grids[2].geometry = rect(0.0, 0.0, 400.0, 1000.0);
    grids[3].geometry = rect(400.0, 0.0, 1000.0, 1000.0);
    a.update_grid(grids[2].clone());
    a.update_grid(grids[3].clone());
    let full = analyse(&regions, &grids, &hh, &people, &[]);
    let (x, y) = (
        a.report(None, &Scope::all()),
        full.report(None, &Scope::all()),
    );
    assert_eq!(x.region, y.region);
    assert_eq!(x.region.reached, 1);
    assert_eq!(
        x.grids.iter().map(|g| g.vulnerable).collect::<Vec<_>>(),
        vec![1, 1, 0, 1]
    );
}

#[test]
fn scope_limits_the_report_to_the_callers_regions() {
    let regions = vec![
        region("610902001001", rect(0.0, 0.0, 500.0, 500.0)),
        region("610902001002", rect(500.0, 0.0, 1000.0, 500.0)),
    ];
    let grids = vec![grid("610902001001001", 1, rect(0.0, 0.0, 500.0, 500.0))];
    let a = analyse(&regions, &grids, &[], &[], &[]);
    let all = a.report(None, &Scope::all());
    // The second community has no grid at all: one big gap.
    assert_eq!(of_kind(&all, FindingKind::Gap).len(), 1);
    let mine = a.report(None, &Scope::prefixes(["610902001001"]));
    assert!(
        of_kind(&mine, FindingKind::Gap).is_empty(),
        "{:?}",
        mine.findings
    );
    assert!(mine
        .findings
        .iter()
        .all(|f| f.region.to_string() == "610902001001"));
    assert_eq!(mine.grids.len(), 1);
    assert_eq!(mine.region.land_covered_pct, 100.0);
}

/// Roads: a carer on the south bank, a household 200 m away on the north
/// bank. With the bridge beside them the walk is within 300 m; with the
/// only bridge 1 km away it is not, though the straight line is.
#[test]
fn reach_by_road_crosses_the_river_only_on_a_bridge() {
    let (regions, grids) = staffed_community();
    let road = |id: i64, pts: &[(f64, f64)], class: RoadClass| crate::domain::Road {
        id,
        class,
        name: String::new(),
        grade: crate::domain::Grade::Surface,
        geometry: LineString(pts.iter().map(|&(x, y)| ll(x, y)).collect()),
    };
    let banks = |bridge_x: f64| {
        vec![
            road(1, &[(0.0, 400.0), (1000.0, 400.0)], RoadClass::Residential),
            road(2, &[(0.0, 600.0), (1000.0, 600.0)], RoadClass::Residential),
            road(
                3,
                &[(bridge_x, 400.0), (bridge_x, 600.0)],
                RoadClass::Secondary,
            ),
        ]
    };
    let hh = vec![household(1, 300.0, 600.0, 2)];
    let people = vec![person(
        1,
        Role::PartTimeWorker,
        300.0,
        400.0,
        &["6109020010010010101"],
    )];
    for (bridge_x, by_road) in [(300.0, 1), (900.0, 0)] {
        let roads = banks(bridge_x);
        let e = crate::emergency::EmergencyIndex::build(
            &people,
            &roads,
            geo::BoundingRect::bounding_rect(&regions[0].boundary),
        );
        let input = Inputs {
            regions: &regions,
            grids: &grids,
            households: &hh,
            people: &people,
            water: &[],
            buildings: &[],
            walking: e.walking_shared(),
        };
        let a = Analysis::new(&input, &Policy::default(), Options::default());
        let r = a.report(None, &Scope::all());
        assert_eq!(r.region.reached, 1, "straight line: 200 m");
        assert_eq!(
            r.region.reached_by_road,
            Some(by_road),
            "bridge at {bridge_x}"
        );
    }
}

#[test]
fn suggestions_reach_the_unreached_and_adding_them_closes_the_gap() {
    let (regions, grids) = staffed_community();
    // Two clusters of unreached vulnerable households in the east grid.
    let mut hh = Vec::new();
    for i in 0..6 {
        hh.push(household(i, 800.0 + f64::from(i as i32) * 5.0, 800.0, 2));
    }
    for i in 6..9 {
        hh.push(household(i, 600.0, 100.0 + f64::from(i as i32) * 5.0, 1));
    }
    hh.push(household(100, 900.0, 300.0, 0));
    let a = analyse(&regions, &grids, &hh, &[], &[]);
    let s = a.suggest(None, &Scope::all(), 2);
    assert_eq!(s.len(), 2);
    assert_eq!((s[0].gain, s[1].gain), (6, 3));
    assert_eq!(s[0].grid.as_deref(), Some("6109020010010010102"));
    // A carer placed at each suggestion reaches all nine.
    let people: Vec<Person> = s
        .iter()
        .enumerate()
        .map(|(k, x)| {
            let mut p = person(
                k as i64 + 1,
                Role::PartyHousehold,
                0.0,
                0.0,
                &["6109020010010010102"],
            );
            p.home = Point(coord! { x: x.lon, y: x.lat });
            p
        })
        .collect();
    let after = analyse(&regions, &grids, &hh, &people, &[]);
    assert_eq!(after.report(None, &Scope::all()).region.reached, 9);
}

#[test]
fn every_gap_planted_in_the_generated_city_is_found() {
    let g = crate::generate::generate(
        crate::generate::Params {
            households: 40_000,
            seed: 3,
        },
        &mut |_| {},
    );
    assert!(g.planted.iter().any(|p| p.kind == "gap"));
    assert!(g.planted.iter().any(|p| p.kind == "overlap"));
    let e = crate::emergency::EmergencyIndex::build(&g.people, &g.roads, None);
    let input = Inputs {
        regions: &g.regions,
        grids: &g.grids,
        households: &g.households,
        people: &g.people,
        water: &g.water,
        buildings: &g.buildings,
        walking: e.walking_shared(),
    };
    let a = Analysis::new(&input, &Policy::default(), Options::default());
    let r = a.report(None, &Scope::all());
    for p in &g.planted {
        match p.kind {
            "gap" => {
                let found = of_kind(&r, FindingKind::Gap)
                    .into_iter()
                    .filter(|f| f.region == p.region && f.level == Some(Level::ONE))
                    .map(|f| f.area_m2)
                    .sum::<f64>();
                assert!(
                    (found - p.area_m2).abs() < p.area_m2 * 0.01,
                    "{}: planted {} m², found {found}",
                    p.region,
                    p.area_m2
                );
            }
            _ => {
                let code = p.grid.clone().unwrap();
                for kind in [FindingKind::Overlap, FindingKind::Nesting] {
                    assert!(
                        of_kind(&r, kind).iter().any(|f| f.grids.contains(&code)),
                        "{kind:?} of {code}"
                    );
                }
            }
        }
    }
    // No gap, overlap or nesting finding but the planted ones.
    let planted_regions: Vec<RegionCode> = g.planted.iter().map(|p| p.region).collect();
    for f in &r.findings {
        if matches!(
            f.kind,
            FindingKind::Gap | FindingKind::Overlap | FindingKind::Nesting
        ) {
            assert!(planted_regions.contains(&f.region), "unplanted {f:?}");
        }
    }
    // Communities left without carers: every level-3 grid with people in
    // it unstaffed (an empty one needs no one), every vulnerable household
    // unreached.
    for gap in &g.gap_communities {
        let code = gap.to_string();
        let grids: Vec<&GridFigures> = r
            .grids
            .iter()
            .filter(|f| f.region == code && f.level == 3)
            .collect();
        assert!(!grids.is_empty());
        assert!(
            grids
                .iter()
                .all(|f| f.unstaffed == (f.households.iter().sum::<u64>() > 0) && f.reached == 0),
            "{code}"
        );
        assert!(grids.iter().any(|f| f.unstaffed), "{code}");
        let vulnerable: u64 = grids.iter().map(|f| f.vulnerable).sum();
        let unreached = of_kind(&r, FindingKind::Unreached)
            .iter()
            .filter(|f| f.region == *gap)
            .count() as u64;
        assert!(unreached >= vulnerable && vulnerable > 0);
    }
    // Elsewhere carers live in their own level-3 grids: almost everyone is reached.
    assert!(r.region.reached_pct > 80.0, "{}", r.region.reached_pct);
    assert!(r.region.land_covered_pct > 97.0 && r.region.land_covered_pct < 100.0);
}
