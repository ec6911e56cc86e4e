//! The ledger (电子信息台账): households written one by one over HTTP, as
//! grid workers keep them every day. This module holds the rules of a
//! write, with no I/O: who may write, what a valid household is, where it
//! lands (the leaf region holding its location, as import places it), and
//! that it stays in the writer's scope. The store applies the write
//! ([`crate::store::Store::write_household`]); the snapshot follows
//! ([`crate::snapshot::Snapshot::with_household`]).

use geo_types::{Point, Rect};
use serde::Deserialize;

use crate::access::{Caller, Role, Scope};
use crate::domain::{CareLevel, Household, Policy, RegionCode, SensitiveFlags};
use crate::snapshot::Snapshot;
use crate::spatial::placement::RegionIndex;

/// Why a write is refused. Each has a stable code for clients.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    /// The role writes no households (planner, emergency, viewer).
    #[error("role {0} may not write the ledger (households, staff); office and admin may")]
    Role(&'static str),
    /// The role sees households only as counts (viewer, a public map).
    #[error("role viewer sees households only as counts")]
    CountsOnly,
    /// The record would land, or lies, outside the writer's scope.
    #[error("outside your scope: {0}")]
    OutOfScope(String),
    /// Missing, or outside the caller's scope (not told apart).
    #[error("household {0} not found")]
    NotFound(i64),
    /// A person missing, or outside the caller's scope (not told apart).
    #[error("person {0} not found")]
    NoPerson(i64),
    /// The role neither reads nor writes volunteers (planner, viewer).
    #[error("role {0} may not read or write volunteers; emergency, office and admin may")]
    VolunteerRole(&'static str),
    /// No volunteer of that id in the caller's scope (or not a volunteer).
    #[error("volunteer {0} not found")]
    NoVolunteer(i64),
    /// A dispatch names volunteers no longer on duty: none was dispatched.
    #[error("volunteers no longer on duty: {}", .0.iter().map(|(id, s)| format!("{id} ({})", s.as_str())).collect::<Vec<_>>().join(", "))]
    NotOnDuty(Vec<(i64, crate::domain::Availability)>),
    /// A field is wrong; nothing was stored.
    #[error("{detail}")]
    Invalid { code: &'static str, detail: String },
}

pub(crate) fn invalid(code: &'static str, detail: impl Into<String>) -> LedgerError {
    LedgerError::Invalid {
        code,
        detail: detail.into(),
    }
}

/// The fields a client sends: all of them to create, any of them to
/// update. `building: null` clears the building.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HouseholdFields {
    /// `[longitude, latitude]`, WGS-84.
    pub location: Option<Vec<f64>>,
    pub size: Option<i64>,
    /// Care level: 0 放心户, 1 关爱户, 2 连心户 (the policy's levels).
    pub care: Option<i64>,
    #[serde(default, with = "double_option")]
    #[allow(
        clippy::option_option,
        reason = "absent keeps the building, null clears it"
    )]
    pub building: Option<Option<i64>>,
    pub address: Option<String>,
    pub head_name: Option<String>,
    pub phone: Option<String>,
}

#[allow(
    clippy::option_option,
    reason = "absent, null and a value are three different requests"
)]
pub(crate) mod double_option {
    use serde::{Deserialize, Deserializer};

    // serde's `with` calls this only when the field is present, so a present
    // `null` is `Some(None)` and an absent field stays `None`.
    pub fn deserialize<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        d: D,
    ) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(d).map(Some)
    }
}

/// Office and admin write households; everyone else is refused.
pub fn may_write(caller: &Caller) -> Result<(), LedgerError> {
    match caller.role {
        Role::Admin | Role::Office => Ok(()),
        Role::Viewer => Err(LedgerError::CountsOnly),
        r => Err(LedgerError::Role(r.as_str())),
    }
}

/// The leaf region that holds `p` (the most specific region, as import
/// places households), found among the regions whose box meets it.
pub fn place(s: &Snapshot, p: Point<f64>) -> Option<RegionCode> {
    let candidates: Vec<(RegionCode, geo_types::MultiPolygon<f64>)> = s
        .regions
        .query(Some(Rect::new(p.0, p.0)), &Scope::all(), 0, usize::MAX)
        .items
        .into_iter()
        .map(|r| (r.code, r.boundary.clone()))
        .collect();
    RegionIndex::new(&candidates).locate(p)
}

pub(crate) fn location(v: &[f64]) -> Result<Point<f64>, LedgerError> {
    let [lon, lat] = v else {
        return Err(invalid(
            "bad_location",
            format!(
                "location must be [longitude, latitude], got {} numbers",
                v.len()
            ),
        ));
    };
    crate::io::validate::check_position(*lon, *lat, crate::spatial::crs::Crs::Wgs84).map_err(
        |e| {
            let code = if e.contains("swapped") {
                "swapped_coordinates"
            } else {
                "bad_location"
            };
            invalid(code, e)
        },
    )?;
    Ok(Point::new(*lon, *lat))
}

/// Applies `f` over `h`, checking each field given.
fn apply(
    s: &Snapshot,
    policy: &Policy,
    h: &mut Household,
    f: &HouseholdFields,
) -> Result<(), LedgerError> {
    if let Some(v) = &f.location {
        h.location = location(v)?;
    }
    if let Some(n) = f.size {
        h.size = u8::try_from(n)
            .ok()
            .filter(|n| (1..=99).contains(n))
            .ok_or_else(|| {
                invalid(
                    "size_out_of_range",
                    format!("size {n}: a household has 1 to 99 people"),
                )
            })?;
    }
    if let Some(c) = f.care {
        let levels = policy.care_levels.len().max(1);
        h.care = u8::try_from(c)
            .ok()
            .filter(|c| usize::from(*c) < levels)
            .map(CareLevel)
            .ok_or_else(|| {
                invalid(
                    "care_out_of_range",
                    format!("care level {c}: the levels are 0 to {}", levels - 1),
                )
            })?;
    }
    if let Some(b) = f.building {
        if let Some(id) = b {
            if s.buildings.get(id, &Scope::all()).is_none() {
                return Err(invalid(
                    "unknown_building",
                    format!("building {id} does not exist"),
                ));
            }
        }
        h.building = b;
    }
    for (v, to) in [
        (&f.address, &mut h.address),
        (&f.head_name, &mut h.head_name),
        (&f.phone, &mut h.phone),
    ] {
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
    Ok(())
}

/// The leaf region holding `p`, which the writer's scope must hold.
pub(crate) fn land_point(
    s: &Snapshot,
    caller: &Caller,
    p: Point<f64>,
) -> Result<RegionCode, LedgerError> {
    let region = place(s, p).ok_or_else(|| {
        invalid(
            "outside_regions",
            format!(
                "({}, {}) lies in no region of this deployment",
                p.x(),
                p.y()
            ),
        )
    })?;
    if !caller.scope.contains(region) {
        return Err(LedgerError::OutOfScope(format!(
            "the location lies in region {region}"
        )));
    }
    Ok(region)
}

/// Places `h` and checks the writer's scope holds it.
fn land(s: &Snapshot, caller: &Caller, h: &mut Household) -> Result<(), LedgerError> {
    h.region = Some(land_point(s, caller, h.location)?);
    Ok(())
}

/// A new household from `f` (location, size and care required), placed
/// in its region. Its id is the store's to give.
pub fn create(
    s: &Snapshot,
    policy: &Policy,
    caller: &Caller,
    f: &HouseholdFields,
) -> Result<Household, LedgerError> {
    may_write(caller)?;
    let mut h = blank_household(f)?;
    apply(s, policy, &mut h, f)?;
    land(s, caller, &mut h)?;
    Ok(h)
}

/// A household with no field set yet, for `f` to fill: refused unless
/// `f` gives what a new household needs (location, size, care).
fn blank_household(f: &HouseholdFields) -> Result<Household, LedgerError> {
    for (given, name) in [
        (f.location.is_some(), "location"),
        (f.size.is_some(), "size"),
        (f.care.is_some(), "care"),
    ] {
        if !given {
            return Err(invalid("missing_field", format!("{name} is required")));
        }
    }
    Ok(Household {
        id: 0,
        location: Point::new(0.0, 0.0),
        size: 1,
        care: CareLevel::REASSURED,
        flags: SensitiveFlags::default(),
        building: None,
        address: String::new(),
        head_name: String::new(),
        phone: String::new(),
        region: None,
        estimated: false,
    })
}

/// The household `id` as the caller may write it: in the snapshot and in
/// their scope.
pub fn current<'a>(
    s: &'a Snapshot,
    caller: &Caller,
    id: i64,
) -> Result<&'a Household, LedgerError> {
    may_write(caller)?;
    s.households
        .get(id, &caller.scope)
        .ok_or(LedgerError::NotFound(id))
}

/// `current` with `f` applied, placed again when it moved.
pub fn update(
    s: &Snapshot,
    policy: &Policy,
    caller: &Caller,
    current: &Household,
    f: &HouseholdFields,
) -> Result<Household, LedgerError> {
    may_write(caller)?;
    let mut h = current.clone();
    apply(s, policy, &mut h, f)?;
    if h.location != current.location || h.region.is_none() {
        land(s, caller, &mut h)?;
    }
    Ok(h)
}

/// The audit detail of a write: the fields that changed, before → after;
/// personal fields (address, name, phone) named but never written out.
pub fn audit_detail(before: Option<&Household>, after: Option<&Household>) -> String {
    let d = Household {
        id: 0,
        location: Point::new(0.0, 0.0),
        size: 0,
        care: CareLevel(0),
        flags: SensitiveFlags::default(),
        building: None,
        address: String::new(),
        head_name: String::new(),
        phone: String::new(),
        region: None,
        estimated: false,
    };
    let (b, a) = (before.unwrap_or(&d), after.unwrap_or(&d));
    let mut out = vec![];
    let fmt_opt = |x: Option<i64>| x.map_or_else(|| "-".to_string(), |v| v.to_string());
    let fmt_reg = |x: Option<RegionCode>| x.map_or_else(|| "-".to_string(), |v| v.to_string());
    if b.location != a.location {
        out.push(format!(
            "location: ({:.6}, {:.6}) → ({:.6}, {:.6})",
            b.location.x(),
            b.location.y(),
            a.location.x(),
            a.location.y()
        ));
    }
    if b.size != a.size {
        out.push(format!("size: {} → {}", b.size, a.size));
    }
    if b.care != a.care {
        out.push(format!("care: {} → {}", b.care.0, a.care.0));
    }
    if b.building != a.building {
        out.push(format!(
            "building: {} → {}",
            fmt_opt(b.building),
            fmt_opt(a.building)
        ));
    }
    if b.region != a.region {
        out.push(format!(
            "region: {} → {}",
            fmt_reg(b.region),
            fmt_reg(a.region)
        ));
    }
    for (name, x, y) in [
        ("address", &b.address, &a.address),
        ("head_name", &b.head_name, &a.head_name),
        ("phone", &b.phone, &a.phone),
    ] {
        if x != y {
            out.push(format!("{name}: changed (personal, not logged)"));
        }
    }
    out.join("; ")
}

pub mod bulk;
pub mod history;
pub mod people;
pub mod volunteers;

#[cfg(test)]
mod test;
