use geo_types::{polygon, Coord, MultiPolygon};
use serde_json::json;

use super::*;

/// A square of about 1 km a side east of (109.0, 32.7).
fn square() -> MultiPolygon<f64> {
    MultiPolygon(vec![polygon![
        (x: 109.0, y: 32.7),
        (x: 109.0107, y: 32.7),
        (x: 109.0107, y: 32.709),
        (x: 109.0, y: 32.709),
        (x: 109.0, y: 32.7),
    ]])
}

#[test]
fn kinds_parse_by_code_and_chinese_name() {
    assert_eq!(IncidentKind::parse("flood"), Some(IncidentKind::Flood));
    assert_eq!(IncidentKind::parse("地震"), Some(IncidentKind::Quake));
    assert_eq!(IncidentKind::parse("storm"), None);
    assert!(matches!(
        kind("storm"),
        Err(IncidentError::Invalid {
            code: "unknown_kind",
            ..
        })
    ));
    for k in IncidentKind::ALL {
        assert_eq!(IncidentKind::parse(k.as_str()), Some(k));
    }
}

#[test]
fn titles_and_notes_are_trimmed_and_bounded() {
    assert_eq!(title("  汉滨区暴雨  ").unwrap(), "汉滨区暴雨");
    assert!(title("   ").is_err());
    assert!(title(&"水".repeat(TITLE_MAX + 1)).is_err());
    assert_eq!(note("", true).unwrap(), "");
    assert!(note("", false).is_err());
    assert!(note(&"a".repeat(NOTE_MAX + 1), true).is_err());
}

#[test]
fn a_circle_meets_a_region_it_reaches_without_holding_its_centre() {
    // 200 m west of the square's west side (1° of longitude ≈ 93.6 km here).
    let center = Coord {
        x: 109.0 - 200.0 / 93_600.0,
        y: 32.704,
    };
    let near = Area::Circle {
        center,
        radius_m: 250.0,
    };
    let short = Area::Circle {
        center,
        radius_m: 150.0,
    };
    assert!(meets(&near, &square()));
    assert!(!meets(&short, &square()));
    let inside = Area::Circle {
        center: Coord {
            x: 109.005,
            y: 32.704,
        },
        radius_m: 1.0,
    };
    assert!(meets(&inside, &square()), "a small circle inside");
}

#[test]
fn stored_areas_read_back_as_given() {
    let c = json!({ "circle": { "lon": 109.0, "lat": 32.7, "radius_m": 500.0 } });
    assert!(matches!(stored_area(&c), Some(Area::Circle { radius_m, .. }) if radius_m == 500.0));
    let g = geojson::Geometry::from(&square().0[0]);
    let p = json!({ "polygon": g });
    let Some(Area::Polygon(mp)) = stored_area(&p) else {
        panic!("a polygon")
    };
    assert_eq!(mp, square());
    assert!(stored_area(&json!({ "box": [1, 2] })).is_none());
}

#[test]
fn contact_statuses_parse_and_say_who_is_served() {
    assert_eq!(
        ContactStatus::parse("需转移"),
        Some(ContactStatus::NeedsEvacuation)
    );
    assert_eq!(
        ContactStatus::parse("not_home"),
        Some(ContactStatus::NotHome)
    );
    assert!(matches!(
        contact_status("drowned"),
        Err(IncidentError::Invalid {
            code: "unknown_status",
            ..
        })
    ));
    let served: Vec<&str> = ContactStatus::ALL
        .into_iter()
        .filter(|s| s.served())
        .map(ContactStatus::as_str)
        .collect();
    assert_eq!(served, ["reached", "evacuated"]);
    for s in ContactStatus::ALL {
        assert_eq!(ContactStatus::parse(s.as_str()), Some(s));
    }
}
