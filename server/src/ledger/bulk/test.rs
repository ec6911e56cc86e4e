use super::*;
use crate::access::Role;
use crate::domain::Dataset;

fn snapshot() -> Snapshot {
    let mut d = Dataset::default();
    for r in crate::store::suite::sample() {
        match r {
            Record::Region(x) => d.regions.push(x),
            Record::Building(x) => d.buildings.push(x),
            Record::Household(x) => d.households.push(x),
            _ => {}
        }
    }
    Snapshot::build(d)
}

fn office(scope: &str) -> Caller {
    Caller::of_user("office1", Role::Office, &[scope.to_string()])
}

fn row(id: i64, lon: f64, lat: f64, address: &str) -> Record {
    Record::Household(Household {
        id,
        location: geo_types::Point::new(lon, lat),
        size: 2,
        care: crate::domain::CareLevel(1),
        flags: crate::domain::SensitiveFlags::default(),
        building: None,
        address: address.into(),
        head_name: String::new(),
        phone: String::new(),
        region: None,
        estimated: false,
    })
}

#[test]
fn rows_are_placed_and_duplicates_and_scope_reported_by_row() {
    let s = snapshot();
    let held = s.households.items()[0].clone();
    let c = office("610902001");
    let mut check = Check::new(&s, &c, Layer::Households).unwrap();
    check.record(2, row(0, 109.01, 32.61, "新地址1号"));
    // The held household by id: an update, listed as a duplicate.
    let mut upd = row(held.id, held.location.x(), held.location.y(), &held.address);
    if let Record::Household(h) = &mut upd {
        h.size = 5;
    }
    check.record(3, upd);
    // Same address as row 2; a place in no region; the same id twice.
    check.record(4, row(0, 109.01, 32.61, " 新地址 1号"));
    check.record(5, row(0, 10.0, 10.0, ""));
    check.record(6, row(held.id, held.location.x(), held.location.y(), ""));
    let out = check.finish();
    let r = &out.report;
    assert_eq!(
        (r.rows, r.valid, r.creates, r.updates),
        (5, 2, 1, 1),
        "{r:?}"
    );
    let codes: Vec<(u64, &str)> = r.problems.iter().map(|p| (p.row, p.code)).collect();
    assert_eq!(
        codes,
        vec![
            (4, "duplicate_in_upload"),
            (5, "outside_regions"),
            (6, "duplicate_in_upload")
        ]
    );
    assert_eq!(r.duplicates[0].by, "id");
    // Another street's office: the row lands outside its scope.
    let other = office("610902002");
    let mut check = Check::new(&s, &other, Layer::Households).unwrap();
    check.record(2, row(0, 109.01, 32.61, ""));
    let r = check.finish().report;
    assert_eq!((r.out_of_scope, r.problems[0].code), (1, "out_of_scope"));
    // New ids follow the largest held.
    let planned = commit_plan(&s, &out.records);
    let max = s.households.items().last().unwrap().id;
    assert!(planned
        .iter()
        .any(|r| crate::snapshot::record_id(r) == max + 1));
}

#[test]
fn an_address_held_already_is_refused_unless_the_id_is_given() {
    let s = snapshot();
    let held = s
        .households
        .items()
        .iter()
        .find(|h| !h.address.is_empty())
        .expect("a sample household with an address")
        .clone();
    let c = office("6109");
    let mut check = Check::new(&s, &c, Layer::Households).unwrap();
    check.record(
        2,
        row(0, held.location.x(), held.location.y(), &held.address),
    );
    let r = check.finish().report;
    assert_eq!(r.problems[0].code, "duplicate_address", "{r:?}");
    assert_eq!(
        (r.duplicates[0].by, r.duplicates[0].existing),
        ("address", held.id)
    );
    let planner = Caller::of_user("p", Role::Planner, &[String::new()]);
    assert!(Check::new(&s, &planner, Layer::Households).is_err());
}
