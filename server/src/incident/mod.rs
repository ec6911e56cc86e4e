//! Incidents (事件): a flood night kept as a record, from the first call
//! to the close. An incident has a title, a kind, who opened it and when,
//! its hazard areas as they were redrawn (every version kept: water rises)
//! and a timeline of everything done in it, each line written in the same
//! store transaction as the change it tells of.
//!
//! The rules, with no I/O: who may, what a valid incident is, and which
//! incidents a caller sees (those whose areas touch their scope). The
//! stores keep them ([`crate::store::IncidentStore`]); the API is thin.

use geo::{Distance, Euclidean, Intersects};
use geo_types::{Coord, MultiPolygon, Point};
use serde::{Deserialize, Serialize};

use crate::access::{Caller, Role};
use crate::domain::RegionCode;
use crate::emergency::Area;
use crate::snapshot::Snapshot;
use crate::spatial::projection::LocalProjection;

/// Characters a title holds at most.
pub const TITLE_MAX: usize = 200;
/// Characters a timeline note holds at most.
pub const NOTE_MAX: usize = 2000;

/// What happened: the kinds an emergency officer picks from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentKind {
    Flood,
    Fire,
    Quake,
    Epidemic,
    Other,
}

impl IncidentKind {
    pub const ALL: [Self; 5] = [
        Self::Flood,
        Self::Fire,
        Self::Quake,
        Self::Epidemic,
        Self::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Flood => "flood",
            Self::Fire => "fire",
            Self::Quake => "quake",
            Self::Epidemic => "epidemic",
            Self::Other => "other",
        }
    }

    /// Chinese name, as on paper.
    pub fn name_zh(self) -> &'static str {
        match self {
            Self::Flood => "洪涝",
            Self::Fire => "火灾",
            Self::Quake => "地震",
            Self::Epidemic => "疫情",
            Self::Other => "其他",
        }
    }

    /// The stored or given code, or its Chinese name (洪涝, 火灾, 地震,
    /// 疫情, 其他).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s || k.name_zh() == s)
    }
}

/// Open until an officer closes it; a closed incident takes no more writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentStatus {
    Open,
    Closed,
}

impl IncidentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Open, Self::Closed]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// Where a household stands in an incident: untouched until someone
/// marks it. Reached and evacuated households are served: a re-plan
/// leaves them out; the others still need someone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactStatus {
    Untouched,
    Contacted,
    Reached,
    NotHome,
    NeedsEvacuation,
    Evacuated,
}

impl ContactStatus {
    pub const ALL: [Self; 6] = [
        Self::Untouched,
        Self::Contacted,
        Self::Reached,
        Self::NotHome,
        Self::NeedsEvacuation,
        Self::Evacuated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Untouched => "untouched",
            Self::Contacted => "contacted",
            Self::Reached => "reached",
            Self::NotHome => "not_home",
            Self::NeedsEvacuation => "needs_evacuation",
            Self::Evacuated => "evacuated",
        }
    }

    /// Chinese name, as on paper.
    pub fn name_zh(self) -> &'static str {
        match self {
            Self::Untouched => "未联系",
            Self::Contacted => "已联系",
            Self::Reached => "已到达",
            Self::NotHome => "不在家",
            Self::NeedsEvacuation => "需转移",
            Self::Evacuated => "已转移",
        }
    }

    /// The code, or its Chinese name (未联系, 已联系, 已到达, 不在家,
    /// 需转移, 已转移).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s || k.name_zh() == s)
    }

    /// Someone got there: a re-plan sends nobody again.
    pub fn served(self) -> bool {
        matches!(self, Self::Reached | Self::Evacuated)
    }
}

/// A household's status in an incident, as last marked. `version`
/// counts the marks (0: never marked), the ETag of the status.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HouseholdStatus {
    pub household: i64,
    pub status: ContactStatus,
    pub note: String,
    pub by: String,
    /// RFC 3339 UTC.
    pub at: String,
    pub version: i64,
}

/// One version of an incident's hazard area: the area as the officer gave
/// it (a GeoJSON polygon in WGS-84 or a circle), kept as given so that a
/// plan over it is the plan they asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AreaVersion {
    /// 1 for the area the incident was opened with, then one more per redraw.
    pub version: i64,
    /// RFC 3339 UTC.
    pub at: String,
    pub by: String,
    /// `{polygon: GeoJSON}` or `{circle: {lon, lat, radius_m}}`, as
    /// `POST /api/emergency/area` takes it.
    pub area: serde_json::Value,
}

/// An incident as stored, with every area version, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Incident {
    pub id: i64,
    pub title: String,
    pub kind: IncidentKind,
    pub status: IncidentStatus,
    pub opened_by: String,
    /// RFC 3339 UTC.
    pub opened_at: String,
    pub closed_at: Option<String>,
    pub areas: Vec<AreaVersion>,
}

impl Incident {
    /// The area in force: the newest version.
    pub fn area(&self) -> Option<&AreaVersion> {
        self.areas.last()
    }
}

/// One line of an incident's timeline: who did what, when.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimelineEntry {
    /// The line's number within the store (ascending in time).
    pub id: i64,
    /// RFC 3339 UTC.
    pub at: String,
    pub actor: String,
    /// A stable code the viewer words: `opened`, `area_redrawn`, `note`,
    /// `closed`.
    pub what: String,
    /// Free text: the area's version, the note, the closing remark.
    pub detail: String,
}

/// Who was sent to a household in an incident: the last volunteer a
/// confirmed dispatch named for it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sent {
    pub household: i64,
    pub volunteer: i64,
    pub by: String,
    /// RFC 3339 UTC.
    pub at: String,
}

/// A write to an incident, as the store applies it: each with its
/// timeline line, its change row (layer `incidents`) and its audit line,
/// in one transaction. `expect` is the ETag seq the writer read.
#[derive(Debug, Clone, PartialEq)]
pub enum IncidentWrite {
    Open {
        title: String,
        kind: IncidentKind,
        area: serde_json::Value,
        region: Option<RegionCode>,
    },
    Redraw {
        id: i64,
        area: serde_json::Value,
        region: Option<RegionCode>,
        expect: i64,
    },
    Note {
        id: i64,
        note: String,
        region: Option<RegionCode>,
        expect: i64,
    },
    Close {
        id: i64,
        note: String,
        region: Option<RegionCode>,
        expect: i64,
    },
    /// A household's status marked; `expect` is the status's version the
    /// writer read (0 when never marked), not the incident's ETag: two
    /// officers marking different households never conflict.
    Mark {
        id: i64,
        household: i64,
        status: ContactStatus,
        note: String,
        region: Option<RegionCode>,
        expect: i64,
    },
    /// A confirmed dispatch made for the incident: each volunteer with
    /// the households they go to. The volunteers' own writes (status
    /// dispatched) go in the same transaction
    /// ([`IncidentStore::dispatch_in`](crate::store::incidents::IncidentStore::dispatch_in)).
    Dispatch {
        id: i64,
        routes: Vec<(i64, Vec<i64>)>,
        region: Option<RegionCode>,
    },
}

impl IncidentWrite {
    pub fn id(&self) -> Option<i64> {
        match self {
            Self::Open { .. } => None,
            Self::Redraw { id, .. }
            | Self::Note { id, .. }
            | Self::Close { id, .. }
            | Self::Mark { id, .. }
            | Self::Dispatch { id, .. } => Some(*id),
        }
    }

    /// The region the change row names (see [`touched_region`]).
    pub fn region(&self) -> Option<RegionCode> {
        match self {
            Self::Open { region, .. }
            | Self::Redraw { region, .. }
            | Self::Note { region, .. }
            | Self::Close { region, .. }
            | Self::Mark { region, .. }
            | Self::Dispatch { region, .. } => *region,
        }
    }

    /// The timeline line's code.
    pub fn what(&self) -> &'static str {
        match self {
            Self::Open { .. } => "opened",
            Self::Redraw { .. } => "area_redrawn",
            Self::Note { .. } => "note",
            Self::Close { .. } => "closed",
            Self::Mark { .. } => "household_marked",
            Self::Dispatch { .. } => "dispatched",
        }
    }
}

/// Why an incident write is refused, before any I/O.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IncidentError {
    #[error("role {0} may not keep incidents (emergency, office, admin)")]
    Role(&'static str),
    #[error("incident {0} does not exist in your scope")]
    NotFound(i64),
    #[error("{detail}")]
    Invalid { code: &'static str, detail: String },
    #[error("the hazard area lies outside your scope")]
    OutOfScope,
    #[error("incident {0} is closed: it takes no more writes")]
    Closed(i64),
    /// The viewer (and a public map) sees households only as counts.
    #[error("the viewer role sees households only as counts, never one by one")]
    CountsOnly,
}

fn invalid(code: &'static str, detail: impl Into<String>) -> IncidentError {
    IncidentError::Invalid {
        code,
        detail: detail.into(),
    }
}

/// Emergency, office and admin keep incidents (the roles that keep
/// volunteers); planner and viewer do not.
pub fn may_keep(caller: &Caller) -> Result<(), IncidentError> {
    match caller.role {
        Role::Admin | Role::Emergency | Role::Office => Ok(()),
        r => Err(IncidentError::Role(r.as_str())),
    }
}

/// Households one by one: a viewer (or a public map) is told they see
/// counts only; other roles as [`may_keep`].
pub fn may_see_households(caller: &Caller) -> Result<(), IncidentError> {
    if caller.role == Role::Viewer {
        return Err(IncidentError::CountsOnly);
    }
    may_keep(caller)
}

/// A title: trimmed, 1 to [`TITLE_MAX`] characters.
pub fn title(given: &str) -> Result<String, IncidentError> {
    let t = given.trim();
    if t.is_empty() || t.chars().count() > TITLE_MAX {
        return Err(invalid(
            "bad_title",
            format!("a title has 1 to {TITLE_MAX} characters"),
        ));
    }
    Ok(t.to_string())
}

/// A kind by code or Chinese name (`unknown_kind` otherwise).
pub fn kind(given: &str) -> Result<IncidentKind, IncidentError> {
    IncidentKind::parse(given).ok_or_else(|| {
        invalid(
            "unknown_kind",
            format!(
                "kind {given:?}: {}",
                IncidentKind::ALL.map(IncidentKind::as_str).join(", ")
            ),
        )
    })
}

/// A note: trimmed, at most [`NOTE_MAX`] characters (may be empty when
/// `optional`).
pub fn note(given: &str, optional: bool) -> Result<String, IncidentError> {
    let t = given.trim();
    if (t.is_empty() && !optional) || t.chars().count() > NOTE_MAX {
        return Err(invalid(
            "bad_note",
            format!("a note has 1 to {NOTE_MAX} characters"),
        ));
    }
    Ok(t.to_string())
}

/// True when `area` meets `boundary`; a circle's distance measured on a
/// flat projection around its centre (metres).
fn meets(area: &Area, boundary: &MultiPolygon<f64>) -> bool {
    match area {
        Area::Polygon(mp) => mp.intersects(boundary),
        Area::Circle { center, radius_m } => {
            let proj = LocalProjection::new(*center);
            boundary.intersects(&Point::from(*center))
                || Euclidean.distance(&Point::new(0.0, 0.0), &proj.project(boundary)) <= *radius_m
        }
    }
}

/// The area of a stored [`AreaVersion`] (validated when it was written):
/// `{polygon}` or `{circle}`; `None` for anything else.
pub fn stored_area(v: &serde_json::Value) -> Option<Area> {
    if let Some(c) = v.get("circle") {
        let f = |k: &str| c.get(k).and_then(serde_json::Value::as_f64);
        return Some(Area::Circle {
            center: Coord {
                x: f("lon")?,
                y: f("lat")?,
            },
            radius_m: f("radius_m")?,
        });
    }
    let g: geojson::Geometry = serde_json::from_value(v.get("polygon")?.clone()).ok()?;
    match geo_types::Geometry::<f64>::try_from(g).ok()? {
        geo_types::Geometry::Polygon(p) => Some(Area::Polygon(MultiPolygon(vec![p]))),
        geo_types::Geometry::MultiPolygon(m) => Some(Area::Polygon(m)),
        _ => None,
    }
}

/// The region a write over `area` names in the change log: the most
/// precise region of the caller's scope the area meets (the first by code
/// among the longest), or `None` when it meets none
/// ([`IncidentError::OutOfScope`] for the writer).
pub fn touched_region(s: &Snapshot, caller: &Caller, area: &Area) -> Option<RegionCode> {
    s.regions(&caller.scope)
        .filter(|r| meets(area, &r.boundary))
        .map(|r| r.code)
        .max_by(|a, b| {
            a.to_string()
                .trim_end_matches('0')
                .len()
                .cmp(&b.to_string().trim_end_matches('0').len())
                .then(b.cmp(a))
        })
}

/// The region a writer's area names, refusing an area outside their scope.
pub fn writer_region(
    s: &Snapshot,
    caller: &Caller,
    area: &Area,
) -> Result<Option<RegionCode>, IncidentError> {
    may_keep(caller)?;
    match touched_region(s, caller, area) {
        Some(r) => Ok(Some(r)),
        None if caller.scope.is_all() => Ok(None),
        None => Err(IncidentError::OutOfScope),
    }
}

/// True when the caller may see `incident`: one of its areas (any
/// version) meets their scope. Everything for an unrestricted scope.
pub fn visible(s: &Snapshot, caller: &Caller, incident: &Incident) -> bool {
    caller.scope.is_all()
        || incident
            .areas
            .iter()
            .filter_map(|a| stored_area(&a.area))
            .any(|a| touched_region(s, caller, &a).is_some())
}

/// A status as a client gives it (`unknown_status` otherwise).
pub fn contact_status(given: &str) -> Result<ContactStatus, IncidentError> {
    ContactStatus::parse(given).ok_or_else(|| {
        invalid(
            "unknown_status",
            format!(
                "status {given:?}: {}",
                ContactStatus::ALL.map(ContactStatus::as_str).join(", ")
            ),
        )
    })
}

/// The household a caller marks: in the snapshot and in their scope
/// (`unknown_household` otherwise, as a dispatch says it).
pub fn household_region(
    s: &Snapshot,
    caller: &Caller,
    household: i64,
) -> Result<Option<RegionCode>, IncidentError> {
    may_keep(caller)?;
    s.households
        .get(household, &caller.scope)
        .map(|h| h.region)
        .ok_or_else(|| {
            invalid(
                "unknown_household",
                format!("household {household} does not exist in your scope"),
            )
        })
}

/// A write over a closed incident is refused.
pub fn open_one(incident: &Incident) -> Result<(), IncidentError> {
    if incident.status == IncidentStatus::Closed {
        return Err(IncidentError::Closed(incident.id));
    }
    Ok(())
}
pub mod report;
pub mod tally;

#[cfg(test)]
mod test;
