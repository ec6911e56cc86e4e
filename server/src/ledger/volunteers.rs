//! Volunteers (志愿者) kept by the emergency team over HTTP: their status
//! (on duty, off duty, dispatched), skills, team and check-in point, and
//! a confirmed dispatch that sends several at once. The rules, with no
//! I/O, as [`super::people`] has them for staff: who may, what a valid
//! change is, and that a check-in stays in the writer's scope. The store
//! writes them as person writes ([`crate::store::PersonWrite`]).

use std::collections::HashSet;

use serde::Deserialize;

use super::{invalid, land_point, location, LedgerError};
use crate::access::{Caller, Role};
use crate::domain::{Availability, Person};
use crate::snapshot::Snapshot;

/// Skills one volunteer may hold at most.
pub const MAX_SKILLS: usize = 50;

/// What a client may change: any of these.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VolunteerFields {
    /// `on_duty`, `off_duty`, `dispatched`, `arrived` or `done` (or 在岗,
    /// 离岗, 已派出, 已到达, 已完成).
    pub status: Option<String>,
    /// The skills, replacing the ones held (`[]` clears them).
    pub skills: Option<Vec<String>>,
    /// The team; `""` or `null` clears it.
    #[serde(default, with = "super::double_option")]
    #[allow(
        clippy::option_option,
        reason = "absent keeps the team, null clears it"
    )]
    pub team: Option<Option<String>>,
    /// Where the volunteer checked in, `[longitude, latitude]` WGS-84;
    /// `null` clears it (sent from home again).
    #[serde(default, with = "super::double_option")]
    #[allow(
        clippy::option_option,
        reason = "absent keeps the check-in, null clears it"
    )]
    pub checkin: Option<Option<Vec<f64>>>,
}

/// Emergency, office and admin keep volunteers; planner and viewer do not.
pub fn may_manage(caller: &Caller) -> Result<(), LedgerError> {
    match caller.role {
        Role::Admin | Role::Emergency | Role::Office => Ok(()),
        r => Err(LedgerError::VolunteerRole(r.as_str())),
    }
}

/// A volunteer: has the volunteer role or is in the emergency reserve.
pub fn is_volunteer(p: &Person) -> bool {
    p.reserve || p.roles.contains(&crate::domain::Role::Volunteer)
}

/// Volunteer `id` as the caller may keep them: in the snapshot, a
/// volunteer, and in their scope.
pub fn current<'a>(s: &'a Snapshot, caller: &Caller, id: i64) -> Result<&'a Person, LedgerError> {
    may_manage(caller)?;
    s.people
        .get(id, &caller.scope)
        .filter(|p| is_volunteer(p))
        .ok_or(LedgerError::NoVolunteer(id))
}

/// Which volunteers a roster lists.
#[derive(Debug, Clone, Default)]
pub struct RosterFilter {
    pub status: Option<Availability>,
    pub team: Option<String>,
}

/// Parses a status as a client gives it (`unknown_status` otherwise).
pub fn status(s: &str) -> Result<Availability, LedgerError> {
    Availability::parse(s).ok_or_else(|| {
        invalid(
            "unknown_status",
            format!(
                "status {s:?}: {}",
                Availability::ALL.map(Availability::as_str).join(", ")
            ),
        )
    })
}

/// The volunteers in the caller's scope passing `f`, in id order.
pub fn roster<'a>(
    s: &'a Snapshot,
    caller: &Caller,
    f: &RosterFilter,
) -> Result<Vec<&'a Person>, LedgerError> {
    may_manage(caller)?;
    Ok(s.people
        .items()
        .iter()
        .filter(|p| is_volunteer(p) && caller.scope.contains_opt(p.region))
        .filter(|p| f.status.is_none_or(|st| p.status == st))
        .filter(|p| f.team.as_ref().is_none_or(|t| p.team.as_ref() == Some(t)))
        .collect())
}

fn skills(given: &[String]) -> Result<Vec<String>, LedgerError> {
    if given.len() > MAX_SKILLS {
        return Err(invalid(
            "too_long",
            format!("at most {MAX_SKILLS} skills per volunteer"),
        ));
    }
    let mut out: Vec<String> = vec![];
    for g in given {
        let g = g.trim();
        if g.is_empty() || g.chars().count() > 100 || g.contains(';') {
            return Err(invalid(
                "bad_skill",
                format!("skill {g:?}: 1 to 100 characters, no ';'"),
            ));
        }
        if !out.iter().any(|o| o == g) {
            out.push(g.to_string());
        }
    }
    Ok(out)
}

/// `current` with `f` applied. A check-in must lie in a region of the
/// deployment (`outside_regions`) within the writer's scope (403); the
/// volunteer keeps the region of their home.
pub fn update(
    s: &Snapshot,
    caller: &Caller,
    current: &Person,
    f: &VolunteerFields,
) -> Result<Person, LedgerError> {
    may_manage(caller)?;
    let mut p = current.clone();
    if let Some(st) = &f.status {
        p.status = status(st)?;
    }
    if let Some(sk) = &f.skills {
        p.skills = skills(sk)?;
    }
    if let Some(t) = &f.team {
        let t = t.as_deref().map(str::trim).filter(|t| !t.is_empty());
        if t.is_some_and(|t| t.chars().count() > 100) {
            return Err(invalid(
                "too_long",
                "a team name has at most 100 characters",
            ));
        }
        p.team = t.map(str::to_string);
    }
    if let Some(c) = &f.checkin {
        p.checkin = match c {
            None => None,
            Some(v) => {
                let at = location(v)?;
                land_point(s, caller, at)?;
                Some(at)
            }
        };
    }
    Ok(p)
}

/// One volunteer of a confirmed dispatch and the households they go to.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DispatchRoute {
    pub volunteer: i64,
    #[serde(default)]
    pub households: Vec<i64>,
    /// The volunteer's ETag as read, when the client holds one: a newer
    /// write makes the dispatch a 412.
    pub etag: Option<String>,
}

/// A dispatch plan's pairs, as `POST /api/emergency/plan` returned them
/// (each route's volunteer id and its households' ids), confirmed.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DispatchRequest {
    pub routes: Vec<DispatchRoute>,
    /// The incident the dispatch is made for: who went to which
    /// household goes on its record and timeline, in the same
    /// transaction, and its next plan leaves those households to them.
    #[serde(default)]
    pub incident: Option<i64>,
}

/// The volunteers a confirmed dispatch sends, each before and after
/// (status `dispatched`), in the order given. All must be volunteers in
/// the caller's scope and on duty: one that is not refuses the whole
/// dispatch ([`LedgerError::NotOnDuty`] names every one). Households must
/// exist in scope (`unknown_household`); none may be named twice.
pub fn dispatch(
    s: &Snapshot,
    caller: &Caller,
    req: &DispatchRequest,
    max: usize,
) -> Result<Vec<(Person, Person)>, LedgerError> {
    may_manage(caller)?;
    if req.routes.is_empty() {
        return Err(invalid(
            "empty_dispatch",
            "a dispatch names at least one route {volunteer, households}",
        ));
    }
    if req.routes.len() > max {
        return Err(invalid(
            "too_long",
            format!("at most {max} volunteers in one dispatch"),
        ));
    }
    let (mut seen_v, mut seen_h) = (HashSet::new(), HashSet::new());
    let mut out = vec![];
    let mut busy = vec![];
    for r in &req.routes {
        if !seen_v.insert(r.volunteer) {
            return Err(invalid(
                "duplicate_volunteer",
                format!("volunteer {} is named twice", r.volunteer),
            ));
        }
        let before = current(s, caller, r.volunteer)?;
        for h in &r.households {
            if !seen_h.insert(*h) {
                return Err(invalid(
                    "duplicate_household",
                    format!("household {h} is named twice"),
                ));
            }
            if s.households.get(*h, &caller.scope).is_none() {
                return Err(invalid(
                    "unknown_household",
                    format!("household {h} does not exist in your scope"),
                ));
            }
        }
        if before.available() {
            let mut after = before.clone();
            after.status = Availability::Dispatched;
            out.push((before.clone(), after));
        } else {
            busy.push((before.id, before.status));
        }
    }
    if !busy.is_empty() {
        return Err(LedgerError::NotOnDuty(busy));
    }
    Ok(out)
}

/// The audit detail of a volunteer write: what changed; name and phone
/// never written out (a volunteer write does not change them).
pub fn audit_detail(before: &Person, after: &Person, households: &[i64]) -> String {
    let mut out = vec![];
    if before.status != after.status {
        out.push(format!(
            "status: {} → {}",
            before.status.as_str(),
            after.status.as_str()
        ));
    }
    if before.skills != after.skills {
        out.push(format!(
            "skills: {} → {}",
            before.skills.join(","),
            after.skills.join(",")
        ));
    }
    if before.team != after.team {
        let t = |p: &Person| p.team.clone().unwrap_or_else(|| "-".into());
        out.push(format!("team: {} → {}", t(before), t(after)));
    }
    if before.checkin != after.checkin {
        let c = |p: &Person| {
            p.checkin.map_or_else(
                || "-".to_string(),
                |c| format!("({:.6}, {:.6})", c.x(), c.y()),
            )
        };
        out.push(format!("checkin: {} → {}", c(before), c(after)));
    }
    if !households.is_empty() {
        let ids: Vec<String> = households.iter().map(ToString::to_string).collect();
        out.push(format!("dispatched to households {}", ids.join(",")));
    }
    out.join("; ")
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::domain::{Dataset, Record};

    fn snapshot() -> Snapshot {
        let mut d = Dataset::default();
        for r in crate::store::suite::sample() {
            match r {
                Record::Region(x) => d.regions.push(x),
                Record::Household(x) => d.households.push(x),
                Record::Person(x) => d.people.push(x),
                _ => {}
            }
        }
        Snapshot::build(d)
    }

    fn caller(role: crate::access::Role, scope: &str) -> Caller {
        Caller::of_user("e1", role, &[scope.to_string()])
    }

    #[test]
    fn status_skills_and_checkin_are_checked_and_dispatch_is_all_or_nothing() {
        let s = snapshot();
        let em = caller(crate::access::Role::Emergency, "610902001");
        let v = current(&s, &em, 5).unwrap().clone();
        for role in [crate::access::Role::Planner, crate::access::Role::Viewer] {
            let e = current(&s, &caller(role, "610902001"), 5).unwrap_err();
            assert!(matches!(e, LedgerError::VolunteerRole(_)), "{e}");
        }
        let bad = |f: VolunteerFields| update(&s, &em, &v, &f).unwrap_err();
        let e = bad(VolunteerFields {
            status: Some("asleep".into()),
            ..VolunteerFields::default()
        });
        assert!(
            matches!(
                e,
                LedgerError::Invalid {
                    code: "unknown_status",
                    ..
                }
            ),
            "{e}"
        );
        let e = bad(VolunteerFields {
            checkin: Some(Some(vec![109.0])),
            ..VolunteerFields::default()
        });
        assert!(
            matches!(
                e,
                LedgerError::Invalid {
                    code: "bad_location",
                    ..
                }
            ),
            "{e}"
        );
        let other = caller(crate::access::Role::Office, "610902002");
        assert!(current(&s, &other, 5).is_err(), "out of scope is not found");
        let off = update(
            &s,
            &em,
            &v,
            &VolunteerFields {
                status: Some("离岗".into()),
                skills: Some(vec![" 急救 ".into(), "急救".into()]),
                checkin: Some(Some(vec![109.02, 32.62])),
                ..VolunteerFields::default()
            },
        )
        .unwrap();
        assert_eq!(off.status, Availability::OffDuty);
        assert_eq!(off.skills, vec!["急救".to_string()]);
        assert_eq!(off.position(), geo_types::point!(x: 109.02, y: 32.62));
        let d = audit_detail(&v, &off, &[]);
        assert!(
            d.contains("status: on_duty → off_duty") && !d.contains("李四"),
            "{d}"
        );
        let req = DispatchRequest {
            routes: vec![DispatchRoute {
                volunteer: 5,
                households: vec![42],
                etag: None,
            }],
            incident: None,
        };
        let sent = dispatch(&s, &em, &req, 10).unwrap();
        assert_eq!(sent[0].1.status, Availability::Dispatched);
        let t = s.with_person(5, Some(&sent[0].1));
        let e = dispatch(&t, &em, &req, 10).unwrap_err();
        assert_eq!(
            e,
            LedgerError::NotOnDuty(vec![(5, Availability::Dispatched)])
        );
        let e = dispatch(
            &s,
            &em,
            &DispatchRequest {
                routes: vec![],
                incident: None,
            },
            10,
        )
        .unwrap_err();
        assert!(
            matches!(
                e,
                LedgerError::Invalid {
                    code: "empty_dispatch",
                    ..
                }
            ),
            "{e}"
        );
    }
}
