use super::*;
use crate::domain::Dataset;

fn snapshot() -> Snapshot {
    let mut d = Dataset::default();
    for r in crate::store::suite::sample() {
        match r {
            crate::domain::Record::Region(x) => d.regions.push(x),
            crate::domain::Record::Building(x) => d.buildings.push(x),
            crate::domain::Record::Household(x) => d.households.push(x),
            _ => {}
        }
    }
    Snapshot::build(d)
}

fn office(scope: &str) -> Caller {
    Caller::of_user("office1", Role::Office, &[scope.to_string()])
}

fn fields() -> HouseholdFields {
    HouseholdFields {
        location: Some(vec![109.01, 32.61]),
        size: Some(3),
        care: Some(2),
        building: Some(Some(3)),
        address: Some("兴安路1号".into()),
        ..HouseholdFields::default()
    }
}

#[test]
fn a_household_is_placed_in_its_region_and_kept_in_scope() {
    let s = snapshot();
    let p = Policy::default();
    let h = create(&s, &p, &office("610902001"), &fields()).unwrap();
    assert_eq!(h.region, Some("610902001001".parse().unwrap()));
    let e = create(&s, &p, &office("610902002"), &fields()).unwrap_err();
    assert!(matches!(e, LedgerError::OutOfScope(_)), "{e}");
    let planner = Caller::of_user("p", Role::Planner, &[String::new()]);
    assert!(matches!(
        create(&s, &p, &planner, &fields()),
        Err(LedgerError::Role("planner"))
    ));
}

#[test]
fn bad_fields_are_refused_with_their_codes() {
    let s = snapshot();
    let p = Policy::default();
    let c = office("6109");
    let code = |f: HouseholdFields| match create(&s, &p, &c, &f) {
        Err(LedgerError::Invalid { code, .. }) => code,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        code(HouseholdFields {
            location: Some(vec![32.61, 109.01]),
            ..fields()
        }),
        "swapped_coordinates"
    );
    assert_eq!(
        code(HouseholdFields {
            location: Some(vec![1.0]),
            ..fields()
        }),
        "bad_location"
    );
    assert_eq!(
        code(HouseholdFields {
            location: Some(vec![100.0, 30.0]),
            ..fields()
        }),
        "outside_regions"
    );
    assert_eq!(
        code(HouseholdFields {
            care: Some(7),
            ..fields()
        }),
        "care_out_of_range"
    );
    assert_eq!(
        code(HouseholdFields {
            size: Some(0),
            ..fields()
        }),
        "size_out_of_range"
    );
    assert_eq!(
        code(HouseholdFields {
            building: Some(Some(99)),
            ..fields()
        }),
        "unknown_building"
    );
    assert_eq!(
        code(HouseholdFields {
            size: None,
            ..fields()
        }),
        "missing_field"
    );
}

#[test]
fn the_audit_detail_names_personal_fields_without_their_values() {
    let s = snapshot();
    let p = Policy::default();
    let before = create(&s, &p, &office("6109"), &fields()).unwrap();
    let f = HouseholdFields {
        size: Some(5),
        phone: Some("13800000000".into()),
        ..HouseholdFields::default()
    };
    let after = update(&s, &p, &office("6109"), &before, &f).unwrap();
    let d = audit_detail(Some(&before), Some(&after));
    assert!(d.contains("size: 3 → 5"), "{d}");
    assert!(
        d.contains("phone: changed") && !d.contains("13800000000"),
        "{d}"
    );
}
