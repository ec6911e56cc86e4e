//! Records as GeoJSON features: what the API's layer endpoints and exports
//! write. Callers project personal fields per role before converting
//! ([`crate::access::projection`]); a field the role does not see is left
//! out here, so "hidden" never reads as "empty".

use geojson::{Feature, Geometry, JsonObject};
use serde_json::{json, Value};

use crate::access::projection::{shows, PersonalField};
use crate::access::Role;
use crate::domain::Record;

fn props(v: Value) -> JsonObject {
    match v {
        Value::Object(m) => m,
        _ => JsonObject::new(),
    }
}

/// The property names of personal fields, per record kind.
const HOUSEHOLD_FIELDS: [(&str, PersonalField); 4] = [
    ("head_name", PersonalField::HouseholdName),
    ("phone", PersonalField::HouseholdPhone),
    ("address", PersonalField::HouseholdAddress),
    ("flags", PersonalField::HouseholdFlags),
];
const PERSON_FIELDS: [(&str, PersonalField); 2] = [
    ("name", PersonalField::PersonName),
    ("phone", PersonalField::PersonPhone),
];

/// The feature of one record as `role` may see it (the record already
/// projected for it): personal fields `role` does not see are absent.
pub fn feature_for(record: &Record, role: Role) -> Feature {
    let mut f = feature_of(record);
    let hidden: &[(&str, PersonalField)] = match record {
        Record::Household(_) => &HOUSEHOLD_FIELDS,
        Record::Person(_) => &PERSON_FIELDS,
        _ => &[],
    };
    if let Some(p) = f.properties.as_mut() {
        for (key, field) in hidden {
            if !shows(role, *field) {
                p.remove(*key);
            }
        }
    }
    f
}

/// The feature of one record with every attribute (for the store's owner:
/// exports and the command line); its id is the record's id (a region's id
/// is its 12-digit code).
pub fn feature_of(record: &Record) -> Feature {
    let (id, geometry, properties): (Value, Geometry, Value) = match record {
        Record::Region(r) => (
            json!(r.code),
            Geometry::from(&r.boundary),
            json!({ "code": r.code, "name": r.name, "parent": r.parent }),
        ),
        Record::Atom(a) => (
            // Unique in the layer; `atom` is the id within its region.
            json!(a.feature_id()),
            Geometry::from(&a.geometry),
            json!({ "region": a.region, "atom": a.id, "kind": a.kind.as_str() }),
        ),
        Record::Household(h) => (
            json!(h.id),
            Geometry::from(&h.location),
            json!({
                "region": h.region, "size": h.size, "care": h.care.0, "flags": h.flags.names(),
                "building": h.building, "address": h.address, "head_name": h.head_name,
                "phone": h.phone, "estimated": h.estimated,
            }),
        ),
        Record::Person(p) => (
            json!(p.id),
            Geometry::from(&p.home),
            json!({
                "region": p.region, "name": p.name, "phone": p.phone,
                "roles": p.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
                "team": p.team, "skills": p.skills, "available": p.available(),
                "status": p.status.as_str(),
                "checkin": p.checkin.map(|c| [c.x(), c.y()]),
                "reserve": p.reserve, "grids": p.grids,
            }),
        ),
        Record::Road(r) => (
            json!(r.id),
            Geometry::from(&r.geometry),
            json!({ "class": r.class.as_str(), "name": r.name, "grade": r.grade.as_str() }),
        ),
        Record::Building(b) => (
            json!(b.id),
            Geometry::from(&b.geometry),
            json!({
                "levels": b.levels, "height_m": b.height_m, "kind": b.kind,
                "use": b.building_use().as_str(),
            }),
        ),
        Record::Water(w) => (
            json!(w.id),
            Geometry::from(&w.geometry),
            json!({ "kind": w.kind, "name": w.name }),
        ),
        Record::Grid(g) => (
            json!(g.id),
            Geometry::from(&g.geometry),
            json!({ "region": g.region, "level": g.level, "code": g.code, "name": g.name, "parent": g.parent }),
        ),
    };
    Feature {
        bbox: None,
        geometry: Some(geometry),
        id: Some(match id {
            Value::String(s) => geojson::feature::Id::String(s),
            Value::Number(n) => geojson::feature::Id::Number(n),
            other => geojson::feature::Id::String(other.to_string()),
        }),
        properties: Some(props(properties)),
        foreign_members: None,
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn every_layer_becomes_a_feature_with_id_and_attributes() {
        for rec in crate::store::suite::sample() {
            let f = feature_of(&rec);
            assert!(f.id.is_some() && f.geometry.is_some(), "{:?}", rec.layer());
            let v = serde_json::to_value(&f).unwrap();
            assert_eq!(v["type"], "Feature");
            if let Record::Household(_) = rec {
                assert_eq!(
                    v["properties"]["flags"],
                    json!(["elderly_alone", "disability"])
                );
                assert_eq!(v["id"], 42);
            }
            if let Record::Region(_) = rec {
                assert_eq!(v["id"], "610902001001");
            }
        }
    }

    #[test]
    fn hidden_fields_are_absent_and_masked_ones_masked() {
        use crate::access::projection::project_record;
        for rec in crate::store::suite::sample() {
            let (keys, personal): (&[&str], bool) = match rec {
                Record::Household(_) => (&["head_name", "phone", "address", "flags"], true),
                Record::Person(_) => (&["name", "phone"], true),
                _ => (&[], false),
            };
            if !personal {
                continue;
            }
            let office = serde_json::to_value(feature_for(
                &project_record(rec.clone(), Role::Office),
                Role::Office,
            ))
            .unwrap();
            let planner = serde_json::to_value(feature_for(
                &project_record(rec.clone(), Role::Planner),
                Role::Planner,
            ))
            .unwrap();
            let viewer = serde_json::to_value(feature_for(
                &project_record(rec.clone(), Role::Viewer),
                Role::Viewer,
            ))
            .unwrap();
            for k in keys {
                assert!(office["properties"].get(k).is_some(), "office {k}");
                assert!(
                    viewer["properties"].get(k).is_none(),
                    "viewer {k}: {viewer}"
                );
            }
            if let Record::Household(_) = rec {
                let p = &planner["properties"];
                assert!(p.get("phone").is_none() && p.get("flags").is_none(), "{p}");
                assert_eq!(p["head_name"], "张*", "masked, not hidden");
                assert!(p["address"].as_str().unwrap().ends_with('…'), "{p}");
            } else {
                let p = &planner["properties"];
                assert!(p["phone"].as_str().unwrap().contains("****"), "{p}");
            }
        }
    }
}
