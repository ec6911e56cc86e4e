use geo_types::{polygon, MultiPolygon, Point};
use serde_json::json;
use time::macros::datetime;

use super::*;
use crate::access::{Caller, Role as AccessRole};
use crate::domain::{
    Availability, CareLevel, Dataset, GridCode, ImportedGrid, Level, Person, Region, Role,
    SensitiveFlags,
};

/// A square of `w` degrees with its south-west corner at (x, y).
fn square(x: f64, y: f64, w: f64) -> MultiPolygon<f64> {
    MultiPolygon(vec![polygon![
        (x: x, y: y), (x: x + w, y: y), (x: x + w, y: y + w), (x: x, y: y + w), (x: x, y: y),
    ]])
}

fn household(id: i64, x: f64, y: f64, care: u8, region: &str) -> Household {
    Household {
        id,
        location: Point::new(x, y),
        size: 2,
        care: CareLevel(care),
        flags: SensitiveFlags::default(),
        building: None,
        address: format!("地址{id}"),
        head_name: format!("户主{id}"),
        phone: "13800000000".into(),
        region: Some(region.parse().unwrap()),
        estimated: false,
    }
}

fn volunteer(id: i64, x: f64, status: Availability) -> Person {
    Person {
        id,
        name: format!("志愿者{id}"),
        phone: String::new(),
        roles: vec![Role::Volunteer],
        team: None,
        skills: vec![],
        status,
        checkin: None,
        reserve: true,
        home: Point::new(x, 32.005),
        grids: vec![],
        region: Some("610902001001".parse().unwrap()),
    }
}

/// Two communities side by side (109.00–109.01 and 109.01–109.02), a
/// grid over the west one; households inside and outside a circle.
fn snapshot() -> Snapshot {
    let mut d = Dataset::default();
    for (code, x) in [("610902001001", 109.0), ("610902001002", 109.01)] {
        d.regions.push(Region {
            code: code.parse().unwrap(),
            name: format!("社区{}", &code[10..]),
            parent: None,
            boundary: square(x, 32.0, 0.01),
        });
    }
    d.grids.push(ImportedGrid {
        id: 1,
        region: "610902001001".parse().unwrap(),
        level: Level::THREE,
        code: GridCode("G1".into()),
        name: "一网格".into(),
        parent: None,
        geometry: square(109.0, 32.0, 0.01),
    });
    d.households = vec![
        household(1, 109.008, 32.005, 2, "610902001001"), // 连心户, west, inside
        household(2, 109.009, 32.005, 1, "610902001001"), // 关心户, west, inside
        household(3, 109.011, 32.005, 1, "610902001002"), // 关心户, east, inside
        household(4, 109.012, 32.005, 0, "610902001002"), // not vulnerable, inside
        household(5, 109.012, 32.005, 2, "610902001002"), // 连心户, inside, reached
        household(6, 109.001, 32.009, 2, "610902001001"), // 连心户, outside both circles
    ];
    d.people = vec![
        volunteer(10, 109.010, Availability::OnDuty), // inside the area
        volunteer(11, 109.030, Availability::Dispatched), // ≈ 1.4 km east of the wide edge
        volunteer(12, 109.060, Availability::OnDuty), // far
    ];
    Snapshot::build(d)
}

/// A circle on the line y = 32.005 (0.001° of longitude ≈ 94 m here).
fn circle(lon: f64, radius_m: f64) -> serde_json::Value {
    json!({ "circle": { "lon": lon, "lat": 32.005, "radius_m": radius_m } })
}

/// Holds households 3, 4 and 5 only.
fn east() -> serde_json::Value {
    circle(109.0115, 150.0)
}

/// Holds households 1 to 5.
fn wide() -> serde_json::Value {
    circle(109.01, 450.0)
}

fn incident(areas: &[(&str, serde_json::Value)]) -> Incident {
    Incident {
        id: 7,
        title: "暴雨".into(),
        kind: super::super::IncidentKind::Flood,
        status: IncidentStatus::Open,
        opened_by: "em".into(),
        opened_at: "2026-07-01T17:00:00Z".into(),
        closed_at: None,
        areas: areas
            .iter()
            .enumerate()
            .map(|(i, (at, a))| super::super::AreaVersion {
                version: i as i64 + 1,
                at: (*at).into(),
                by: "em".into(),
                area: a.clone(),
            })
            .collect(),
    }
}

fn mark(household: i64, status: ContactStatus) -> HouseholdStatus {
    HouseholdStatus {
        household,
        status,
        note: String::new(),
        by: "em".into(),
        at: "2026-07-01T17:30:00Z".into(),
        version: 1,
    }
}

fn names() -> Vec<String> {
    vec!["一般户".into(), "关心户".into(), "连心户".into()]
}

fn caller(role: AccessRole) -> Caller {
    Caller::of_user("em", role, &[String::new()])
}

#[test]
fn counts_by_care_status_grid_and_community_and_orders_the_waiting() {
    let s = snapshot();
    // The area first held only the east side; the water rose at 17:40.
    let i = incident(&[
        ("2026-07-01T17:00:00Z", east()),
        ("2026-07-01T17:40:00Z", wide()),
    ]);
    let marks = [
        mark(5, ContactStatus::Reached),
        mark(3, ContactStatus::NotHome),
    ];
    let now = datetime!(2026-07-01 18:00 UTC);
    let t = tally(
        &s,
        &i,
        &marks,
        &caller(AccessRole::Emergency),
        &names(),
        now,
        10,
        &Cancel::never(),
    )
    .unwrap();
    assert_eq!(t.minutes_open, 60);
    assert_eq!(t.area_version, 2);
    assert_eq!(
        t.households_in_area, 5,
        "1–5 are in the wide circle, 6 is not"
    );
    assert_eq!(t.vulnerable.total, 4, "household 4 is not vulnerable");
    assert_eq!(t.vulnerable.served, 1);
    assert_eq!(t.vulnerable.by_status["untouched"], 2);
    assert_eq!(t.vulnerable.by_care[&2]["reached"], 1);
    assert_eq!(t.vulnerable.by_care[&1]["not_home"], 1);
    let grid: Vec<(&str, u64)> = t
        .by_grid
        .iter()
        .map(|g| (g.code.as_str(), g.counts.total))
        .collect();
    assert_eq!(
        grid,
        [("-", 2), ("G1", 2)],
        "the east community has no grid"
    );
    let communities: Vec<(&str, &str, u64)> = t
        .by_community
        .iter()
        .map(|g| (g.code.as_str(), g.name.as_str(), g.counts.total))
        .collect();
    assert_eq!(
        communities,
        [("610902001001", "社区01", 2), ("610902001002", "社区02", 2)]
    );
    // 连心户 1 first; then the 关心户: 3 waited since 17:00 (the first
    // circle held it), 2 only since the redraw at 17:40.
    let order: Vec<(i64, i64)> = t
        .waiting
        .iter()
        .map(|w| (w.household.id, w.waited_min))
        .collect();
    assert_eq!(order, [(1, 20), (3, 60), (2, 20)]);
    assert_eq!(t.waiting_total, 3);
    assert_eq!(t.waiting[1].status, ContactStatus::NotHome);
    assert_eq!(t.waiting[0].household.head_name.as_deref(), Some("户主1"));
    // Volunteers: 10 inside, 11 within 2 km of the edge, 12 far away.
    assert_eq!(t.volunteers.total, 2);
    assert_eq!(t.volunteers.inside_area, 1);
    assert_eq!(t.volunteers.by_status["dispatched"], 1);
    // The limit cuts the list, not the count.
    let short = tally(
        &s,
        &i,
        &marks,
        &caller(AccessRole::Emergency),
        &names(),
        now,
        1,
        &Cancel::never(),
    )
    .unwrap();
    assert_eq!((short.waiting.len(), short.waiting_total), (1, 3));
}

#[test]
fn a_household_marked_under_an_earlier_area_still_counts_and_a_closed_incident_stops_the_clock() {
    let s = snapshot();
    // The area shrank to the east side: household 1 is no longer in it,
    // but it was marked needing evacuation, so it still waits.
    let mut i = incident(&[
        ("2026-07-01T17:00:00Z", wide()),
        ("2026-07-01T17:10:00Z", east()),
    ]);
    i.status = IncidentStatus::Closed;
    i.closed_at = Some("2026-07-01T17:45:00Z".into());
    let marks = [mark(1, ContactStatus::NeedsEvacuation)];
    let now = datetime!(2026-07-02 09:00 UTC);
    let t = tally(
        &s,
        &i,
        &marks,
        &caller(AccessRole::Office),
        &names(),
        now,
        10,
        &Cancel::never(),
    )
    .unwrap();
    assert_eq!(t.minutes_open, 45, "closed at 17:45");
    assert!(t.waiting.iter().any(|w| w.household.id == 1
        && w.status == ContactStatus::NeedsEvacuation
        && w.waited_min == 45));
    assert!(
        t.waiting.iter().all(|w| w.household.id != 2),
        "2 is in neither circle now"
    );
}

#[test]
fn the_scope_limits_what_is_counted() {
    let s = snapshot();
    let i = incident(&[("2026-07-01T17:00:00Z", wide())]);
    let west = Caller::of_user("w", AccessRole::Emergency, &["610902001001".into()]);
    let t = tally(
        &s,
        &i,
        &[],
        &west,
        &names(),
        datetime!(2026-07-01 18:00 UTC),
        10,
        &Cancel::never(),
    )
    .unwrap();
    assert_eq!(
        t.vulnerable.total, 2,
        "only the west community's households"
    );
    assert!(t.by_community.iter().all(|g| g.code == "610902001001"));
    assert_eq!(
        t.volunteers.total, 2,
        "the volunteers live in the west community"
    );
}
