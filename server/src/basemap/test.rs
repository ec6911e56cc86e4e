use serde_json::json;

use super::*;
use crate::domain::{Building, Dataset, Record, Road, RoadClass};

fn snapshot() -> Snapshot {
    let mut d = Dataset::default();
    for r in crate::store::suite::sample() {
        match r {
            Record::Region(x) => d.regions.push(x),
            Record::Building(x) => d.buildings.push(x),
            Record::Road(x) => d.roads.push(x),
            _ => {}
        }
    }
    Snapshot::build(d)
}

fn caller(role: crate::access::Role, scope: &str) -> Caller {
    Caller::of_user("p1", role, &[scope.to_string()])
}

fn square(x: f64, y: f64) -> BuildingFields {
    let d = 0.001;
    BuildingFields {
        geometry: Some(
            serde_json::from_value(json!({"type": "Polygon", "coordinates": [[[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]]}))
                .unwrap(),
        ),
        levels: Some(Some(6.0)),
        kind: Some("residential".into()),
        ..BuildingFields::default()
    }
}

#[test]
fn planners_place_buildings_in_scope_only() {
    let s = snapshot();
    let planner = caller(Role::Planner, "610902001");
    let (b, at) = create::<Building>(&s, &planner, &square(109.01, 32.61)).unwrap();
    assert_eq!((b.levels, b.kind.as_str()), (Some(6), "residential"));
    assert_eq!(at.region, "610902001001".parse().unwrap());
    let e = create::<Building>(
        &s,
        &caller(Role::Planner, "610902002"),
        &square(109.01, 32.61),
    )
    .unwrap_err();
    assert!(matches!(e, BasemapError::OutOfScope(_)), "{e}");
    for r in [Role::Office, Role::Emergency, Role::Viewer] {
        let e =
            create::<Building>(&s, &caller(r, "610902001"), &square(109.01, 32.61)).unwrap_err();
        assert!(matches!(e, BasemapError::Role(_)), "{e}");
    }
    // Far off (Paris): no region holds it.
    let e = create::<Building>(&s, &planner, &square(2.35, 48.85)).unwrap_err();
    assert!(
        matches!(
            e,
            BasemapError::Invalid {
                code: "outside_regions",
                ..
            }
        ),
        "{e}"
    );
    let bad = BuildingFields {
        levels: Some(Some(2.5)),
        ..square(109.01, 32.61)
    };
    let e = create::<Building>(&s, &planner, &bad).unwrap_err();
    assert!(
        matches!(
            e,
            BasemapError::Invalid {
                code: "levels_out_of_range",
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn roads_need_a_known_class_and_stay_in_scope_when_moved() {
    let s = snapshot();
    let planner = caller(Role::Planner, "610902001");
    let line = |x: f64| -> geojson::Geometry {
        serde_json::from_value(
            json!({"type": "LineString", "coordinates": [[x, 32.61], [x + 0.01, 32.62]]}),
        )
        .unwrap()
    };
    let f = RoadFields {
        geometry: Some(line(109.01)),
        class: Some("residential".into()),
        name: Some("新路".into()),
        ..RoadFields::default()
    };
    let (r, _) = create::<Road>(&s, &planner, &f).unwrap();
    assert_eq!(r.class, RoadClass::Residential);
    let e = create::<Road>(
        &s,
        &planner,
        &RoadFields {
            class: Some("canal".into()),
            ..f.clone()
        },
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            BasemapError::Invalid {
                code: "unknown_class",
                ..
            }
        ),
        "{e}"
    );
    let (cur, _) = current::<Road>(&s, &planner, 9).unwrap();
    let moved = RoadFields {
        geometry: Some(line(2.35)),
        ..RoadFields::default()
    };
    let e = update(&s, &planner, &cur, &moved).unwrap_err();
    assert!(
        matches!(
            e,
            BasemapError::Invalid {
                code: "outside_regions",
                ..
            }
        ),
        "{e}"
    );
    assert!(Road::detail(Some(&cur), Some(&r)).contains("class: primary → residential"));
}
