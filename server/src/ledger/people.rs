//! Staff (网格长, 网格员, 楼栋长, 党员中心户) written one by one over HTTP:
//! the rules of a person write, with no I/O, as [`super`] has them for
//! households. A person lands in the leaf region holding their home, which
//! must be in the writer's scope; the grids they are assigned must exist
//! and lie in the writer's scope too.

use geo_types::Point;
use serde::Deserialize;

use super::{invalid, land_point, location, may_write, LedgerError};
use crate::access::Caller;
use crate::domain::{GridCode, Person, RegionCode, Role};
use crate::snapshot::Snapshot;

/// The roles a staff write may give (volunteers are kept elsewhere).
pub const STAFF: [Role; 5] = [
    Role::GridLeader,
    Role::FullTimeWorker,
    Role::PartTimeWorker,
    Role::BuildingHead,
    Role::PartyHousehold,
];

/// The fields a client sends: all required ones to create, any to update.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonFields {
    /// Home, `[longitude, latitude]`, WGS-84.
    pub location: Option<Vec<f64>>,
    /// Role keys (`full_time_worker`, …) or their Chinese names.
    pub roles: Option<Vec<String>>,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub team: Option<String>,
    pub available: Option<bool>,
    pub reserve: Option<bool>,
}

fn roles(given: &[String]) -> Result<Vec<Role>, LedgerError> {
    if given.is_empty() {
        return Err(invalid("missing_field", "roles: at least one staff role"));
    }
    let mut out = vec![];
    for g in given {
        let r = Role::parse(g)
            .filter(|r| STAFF.contains(r))
            .ok_or_else(|| {
                invalid(
                    "unknown_role",
                    format!(
                        "role {g:?}: staff roles are {}",
                        STAFF.map(Role::as_str).join(", ")
                    ),
                )
            })?;
        if !out.contains(&r) {
            out.push(r);
        }
    }
    Ok(out)
}

fn apply(p: &mut Person, f: &PersonFields) -> Result<(), LedgerError> {
    if let Some(v) = &f.location {
        p.home = location(v)?;
    }
    if let Some(r) = &f.roles {
        p.roles = roles(r)?;
    }
    for (v, to) in [(&f.name, &mut p.name), (&f.phone, &mut p.phone)] {
        if let Some(v) = v {
            if v.chars().count() > 500 {
                return Err(invalid(
                    "too_long",
                    "a text field has at most 500 characters",
                ));
            }
            v.clone_into(to);
        }
    }
    if let Some(t) = &f.team {
        p.team = Some(t.clone()).filter(|t| !t.is_empty());
    }
    if let Some(a) = f.available {
        p.status = crate::domain::Availability::from_available(a);
    }
    if let Some(r) = f.reserve {
        p.reserve = r;
    }
    Ok(())
}

/// A new staff member from `f` (location and roles required), placed in
/// their region; no grids yet (`PUT /api/people/{id}/grids`).
pub fn create(s: &Snapshot, caller: &Caller, f: &PersonFields) -> Result<Person, LedgerError> {
    may_write(caller)?;
    for (given, name) in [
        (f.location.is_some(), "location"),
        (f.roles.is_some(), "roles"),
    ] {
        if !given {
            return Err(invalid("missing_field", format!("{name} is required")));
        }
    }
    let mut p = Person {
        id: 0,
        name: String::new(),
        phone: String::new(),
        roles: vec![],
        team: None,
        skills: vec![],
        status: crate::domain::Availability::OnDuty,
        checkin: None,
        reserve: false,
        home: Point::new(0.0, 0.0),
        grids: vec![],
        region: None,
    };
    apply(&mut p, f)?;
    p.region = Some(land_point(s, caller, p.home)?);
    Ok(p)
}

/// Person `id` as the caller may write them: in the snapshot and scope.
pub fn current<'a>(s: &'a Snapshot, caller: &Caller, id: i64) -> Result<&'a Person, LedgerError> {
    may_write(caller)?;
    s.people
        .get(id, &caller.scope)
        .ok_or(LedgerError::NoPerson(id))
}

/// `current` with `f` applied, placed again when their home moved.
pub fn update(
    s: &Snapshot,
    caller: &Caller,
    current: &Person,
    f: &PersonFields,
) -> Result<Person, LedgerError> {
    may_write(caller)?;
    let mut p = current.clone();
    apply(&mut p, f)?;
    if p.home != current.home || p.region.is_none() {
        p.region = Some(land_point(s, caller, p.home)?);
    }
    Ok(p)
}

/// The region a grid code belongs to: the plan holding it, or the
/// imported grid of that code.
pub fn grid_region(s: &Snapshot, code: &GridCode) -> Option<RegionCode> {
    s.plans
        .iter()
        .find(|(_, p)| p.codes.iter().flatten().any(|c| c == code))
        .map(|(r, _)| *r)
        .or_else(|| {
            s.grids
                .items()
                .iter()
                .find(|g| &g.code == code)
                .map(|g| g.region)
        })
}

/// `current` with exactly the grids `codes` (duplicates dropped): each
/// must exist (`unknown_grid`) and lie in the writer's scope (403); grids
/// the person leaves must be in scope too.
pub fn assign(
    s: &Snapshot,
    caller: &Caller,
    current: &Person,
    codes: &[String],
) -> Result<Person, LedgerError> {
    may_write(caller)?;
    if codes.len() > 1000 {
        return Err(invalid("too_long", "at most 1000 grids per person"));
    }
    let mut grids: Vec<GridCode> = vec![];
    for c in codes {
        let code = GridCode(c.trim().to_string());
        let region = grid_region(s, &code)
            .ok_or_else(|| invalid("unknown_grid", format!("grid {c:?} does not exist")))?;
        if !caller.scope.contains(region) {
            return Err(LedgerError::OutOfScope(format!(
                "grid {c} belongs to region {region}"
            )));
        }
        if !grids.contains(&code) {
            grids.push(code);
        }
    }
    for left in current.grids.iter().filter(|g| !grids.contains(g)) {
        if let Some(r) = grid_region(s, left).filter(|r| !caller.scope.contains(*r)) {
            return Err(LedgerError::OutOfScope(format!(
                "grid {left} belongs to region {r}"
            )));
        }
    }
    let mut p = current.clone();
    p.grids = grids;
    Ok(p)
}

/// The audit detail of a person write: what changed; name and phone
/// named, never written out.
pub fn audit_detail(before: Option<&Person>, after: Option<&Person>) -> String {
    let mut out = vec![];
    let roles = |p: Option<&Person>| {
        p.map(|p| {
            p.roles
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default()
    };
    let grids = |p: Option<&Person>| {
        p.map(|p| {
            p.grids
                .iter()
                .map(GridCode::as_str)
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default()
    };
    let region = |p: Option<&Person>| {
        p.and_then(|p| p.region)
            .map_or_else(|| "-".to_string(), |r| r.to_string())
    };
    for (name, b, a) in [
        ("roles", roles(before), roles(after)),
        ("grids", grids(before), grids(after)),
        ("region", region(before), region(after)),
    ] {
        if b != a {
            out.push(format!("{name}: {b} → {a}"));
        }
    }
    if before.map(|p| p.home) != after.map(|p| p.home) {
        out.push("home: moved".to_string());
    }
    if before.map(|p| (&p.name, &p.phone)) != after.map(|p| (&p.name, &p.phone)) {
        out.push("name/phone: changed (personal, not logged)".to_string());
    }
    out.join("; ")
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::domain::Dataset;

    fn snapshot() -> Snapshot {
        let mut d = Dataset::default();
        for r in crate::store::suite::sample() {
            match r {
                crate::domain::Record::Region(x) => d.regions.push(x),
                crate::domain::Record::Household(x) => d.households.push(x),
                _ => {}
            }
        }
        Snapshot::build(d)
    }

    fn office(scope: &str) -> Caller {
        Caller::of_user("office1", crate::access::Role::Office, &[scope.to_string()])
    }

    fn fields(role: &str) -> PersonFields {
        PersonFields {
            location: Some(vec![109.01, 32.61]),
            roles: Some(vec![role.into()]),
            name: Some("网格员丙".into()),
            ..PersonFields::default()
        }
    }

    #[test]
    fn staff_are_placed_in_scope_with_staff_roles_only() {
        let s = snapshot();
        let p = create(&s, &office("610902001"), &fields("网格长")).unwrap();
        assert_eq!(p.roles, vec![Role::GridLeader]);
        assert_eq!(p.region, Some("610902001001".parse().unwrap()));
        let e = create(&s, &office("610902002"), &fields("grid_leader")).unwrap_err();
        assert!(matches!(e, LedgerError::OutOfScope(_)), "{e}");
        for bad in ["mayor", "volunteer"] {
            let e = create(&s, &office("610902001"), &fields(bad)).unwrap_err();
            assert!(
                matches!(
                    e,
                    LedgerError::Invalid {
                        code: "unknown_role",
                        ..
                    }
                ),
                "{e}"
            );
        }
        let e = assign(&s, &office("610902001"), &p, &["X-1".into()]).unwrap_err();
        assert!(
            matches!(
                e,
                LedgerError::Invalid {
                    code: "unknown_grid",
                    ..
                }
            ),
            "{e}"
        );
        let cleared = assign(&s, &office("610902001"), &p, &[]).unwrap();
        assert!(cleared.grids.is_empty());
        let d = audit_detail(None, Some(&p));
        assert!(d.contains("roles:") && !d.contains("网格员丙"), "{d}");
    }
}
