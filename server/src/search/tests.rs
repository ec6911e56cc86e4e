//! Search over two streets, each with two communities' worth of
//! households, an imported grid in one and a stored plan in the other.

use geo_types::{point, polygon, MultiPolygon};

use super::*;
use crate::access::Role;
use crate::access::Scope;
use crate::domain::Dataset;
use crate::domain::{
    Atom, AtomKind, CareLevel, GridCode, GridLabel, Household, ImportedGrid, Level, Plan,
    PlanVersion, Region, SensitiveFlags,
};

fn square(x0: f64, y0: f64, side: f64) -> MultiPolygon<f64> {
    MultiPolygon(vec![polygon![
        (x: x0, y: y0), (x: x0 + side, y: y0), (x: x0 + side, y: y0 + side), (x: x0, y: y0 + side)
    ]])
}

fn household(id: i64, x: f64, address: &str, region: &str) -> Household {
    Household {
        id,
        location: point!(x: x, y: 32.685),
        size: 3,
        care: CareLevel(0),
        flags: SensitiveFlags::default(),
        building: None,
        address: address.into(),
        head_name: "王五".into(),
        phone: "13700000000".into(),
        region: Some(region.parse().unwrap()),
        estimated: false,
    }
}

fn snapshot() -> Snapshot {
    let (a, b) = ("610902001", "610902002");
    let atom = |id: u32, x0: f64| Atom {
        id,
        region: b.parse().unwrap(),
        kind: AtomKind::Block,
        geometry: square(x0, 32.68, 0.005),
    };
    Snapshot::build(Dataset {
        regions: vec![
            Region {
                code: a.parse().unwrap(),
                name: "新城街道".into(),
                parent: None,
                boundary: square(109.00, 32.68, 0.01),
            },
            Region {
                code: b.parse().unwrap(),
                name: "老城街道".into(),
                parent: None,
                boundary: square(109.01, 32.68, 0.01),
            },
        ],
        households: vec![
            household(1, 109.001, "新城街道兴安路12号3栋", a),
            household(2, 109.002, "新城街道兴安路14号", a),
            Household {
                head_name: "李四海".into(),
                phone: "139 1234 5678".into(),
                ..household(3, 109.011, "老城街道巴山路1号", b)
            },
        ],
        grids: vec![ImportedGrid {
            id: 1,
            region: a.parse().unwrap(),
            level: Level::ONE,
            code: GridCode(format!("{a}001")),
            name: "兴安网格".into(),
            parent: None,
            geometry: square(109.00, 32.68, 0.01),
        }],
        atoms: vec![atom(0, 109.01), atom(1, 109.015)],
        plans: vec![Plan {
            version: PlanVersion::unsaved(b.parse().unwrap(), "test", "", None),
            atoms: vec![0, 1],
            labels: vec![GridLabel([0, 0, 0]), GridLabel([0, 0, 1])],
            codes: [
                vec![GridCode(format!("{b}001"))],
                vec![GridCode(format!("{b}001001"))],
                vec![
                    GridCode(format!("{b}001001001")),
                    GridCode(format!("{b}001001002")),
                ],
            ],
        }],
        ..Dataset::default()
    })
}

fn caller(role: Role, scope: Scope) -> Caller {
    Caller {
        name: "t".into(),
        role,
        scope,
    }
}

#[test]
fn regions_and_grids_are_found_by_code_and_name_with_their_extent() {
    let s = snapshot();
    let all = caller(Role::Office, Scope::all());
    let hits = search(&s, &all, "老城", 20);
    assert_eq!(hits[0].kind, Kind::Region);
    assert_eq!(hits[0].code, "610902002000");
    // A plan's level-3 grid: found by code, its extent is its atom's.
    let hits = search(&s, &all, "610902002001001002", 20);
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].kind, Kind::Grid);
    assert_eq!(hits[0].level, Some(3));
    let b = hits[0].bbox.unwrap();
    assert!(
        (b[0] - 109.015).abs() < 1e-9 && (b[2] - 109.02).abs() < 1e-9,
        "{b:?}"
    );
    // The level-2 grid spans both atoms.
    let hits = search(&s, &all, "610902002001001", 20);
    let l2 = hits.iter().find(|h| h.level == Some(2)).unwrap();
    assert!((l2.bbox.unwrap()[0] - 109.01).abs() < 1e-9);
    // An imported grid by name; codes match from their start only.
    let hits = search(&s, &all, "兴安网格", 20);
    assert!(hits
        .iter()
        .any(|h| h.kind == Kind::Grid && h.code == "610902001001"));
    assert!(search(&s, &all, "02001", 20).is_empty());
    assert!(search(&s, &all, "  ", 20).is_empty());
}

#[test]
fn addresses_are_matched_as_the_role_sees_them() {
    let s = snapshot();
    // Full addresses for a street office.
    let office = caller(Role::Office, Scope::all());
    let hits = search(&s, &office, "兴安路12号", 20);
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].label, "新城街道兴安路12号3栋");
    assert_eq!(hits[0].point, Some([109.001, 32.685]));
    // A planner sees streets: the two houses on 兴安路 are one hit, and
    // the hidden number finds nothing.
    let planner = caller(Role::Planner, Scope::all());
    let hits: Vec<Hit> = search(&s, &planner, "兴安路", 20)
        .into_iter()
        .filter(|h| h.kind == Kind::Household)
        .collect();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].label, "新城街道兴安路…");
    assert_eq!(hits[0].count, Some(2));
    assert!(search(&s, &planner, "12号", 20).is_empty());
    // The public map finds no household at all.
    let viewer = caller(Role::Viewer, Scope::all());
    assert!(search(&s, &viewer, "兴安路", 20)
        .iter()
        .all(|h| h.kind != Kind::Household));
}

#[test]
fn nothing_outside_the_scope_is_found() {
    let s = snapshot();
    let a_only = caller(Role::Office, Scope::prefixes(["610902001"]));
    assert!(search(&s, &a_only, "老城", 20).is_empty());
    assert!(search(&s, &a_only, "610902002", 20).is_empty());
    assert!(search(&s, &a_only, "巴山路", 20).is_empty());
    assert_eq!(
        search(&s, &a_only, "新城", 20).len(),
        3,
        "region and 2 addresses"
    );
    assert_eq!(search(&s, &a_only, "新城", 2).len(), 2, "the limit holds");
}

#[test]
fn households_are_found_by_head_name_or_phone_only_by_roles_that_see_them() {
    let s = snapshot();
    let office = caller(Role::Office, Scope::all());
    let hits = search(&s, &office, "李四", 20);
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0].kind, Kind::Household);
    assert_eq!(hits[0].code, "3");
    assert_eq!(hits[0].label, "李四海 · 老城街道巴山路1号");
    assert_eq!(hits[0].point, Some([109.011, 32.685]));
    // A phone however it is typed, by its digits.
    for q in ["13912345678", "139-1234-5678", "5678"] {
        let hits = search(&s, &office, q, 20);
        assert_eq!(hits.len(), 1, "{q}: {hits:?}");
        assert_eq!(hits[0].code, "3");
    }
    // A planner sees names masked and no phone: neither is searched.
    let planner = caller(Role::Planner, Scope::all());
    assert!(search(&s, &planner, "李四", 20).is_empty());
    assert!(search(&s, &planner, "13912345678", 20).is_empty());
    // Nor by anyone who sees counts only, nor outside the scope.
    let viewer = caller(Role::Viewer, Scope::all());
    assert!(search(&s, &viewer, "李四", 20).is_empty());
    assert!(search(&s, &viewer, "13912345678", 20).is_empty());
    let a_only = caller(Role::Office, Scope::prefixes(["610902001"]));
    assert!(search(&s, &a_only, "李四", 20).is_empty());
}
