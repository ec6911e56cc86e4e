//! The storage of incidents (see [`crate::incident`]), which every store
//! implements beside [`Store`](super::Store): the incident, its area
//! versions and its timeline, each write with its timeline line, change
//! row (layer `incidents`) and audit line in one transaction.

use super::changes::{written_audit, Change, ChangeLayer, ChangeOp};
use super::{Result, StoreError};
use crate::access::account::AuditEntry;
use crate::incident::{HouseholdStatus, Incident, IncidentWrite, Sent, TimelineEntry};
use crate::store::PersonWrite;

/// An incident with its whole timeline, its households' statuses and
/// who was sent to them, as a copy moves it.
pub type IncidentRecord = (
    Incident,
    Vec<TimelineEntry>,
    Vec<HouseholdStatus>,
    Vec<Sent>,
);

/// Storage for incidents.
pub trait IncidentStore: Send + Sync {
    /// Every incident with its area versions, newest first.
    fn incidents(&self) -> Result<Vec<Incident>>;

    /// One incident with its area versions.
    fn incident(&self, id: i64) -> Result<Option<Incident>>;

    /// An incident's timeline, oldest first.
    fn timeline(&self, id: i64) -> Result<Vec<TimelineEntry>>;

    /// The statuses marked in an incident, by household id (households
    /// never marked are untouched and absent).
    fn household_statuses(&self, id: i64) -> Result<Vec<HouseholdStatus>>;

    /// Who was sent to which household in an incident, by household.
    fn sent(&self, id: i64) -> Result<Vec<Sent>>;

    /// Applies one write in one transaction: checks the ETag seq the
    /// writer read ([`StoreError::Precondition`]; for a mark, the
    /// status's version, naming the household) and that the incident is
    /// open ([`StoreError::Conflict`]), writes it with its timeline line,
    /// change row and `audit` (completed with the change). Returns the
    /// change: the incident's id and its new ETag seq.
    fn write_incident(&self, write: &IncidentWrite, audit: &AuditEntry) -> Result<Change>;

    /// A confirmed dispatch for an open incident ([`IncidentWrite::Dispatch`])
    /// with the volunteers' writes, each with its change row and audit
    /// line as [`Store::write_people`](super::Store::write_people) writes
    /// them, all in ONE transaction: the people's changes, then the
    /// incident's.
    fn dispatch_in(
        &self,
        write: &IncidentWrite,
        people: &[(PersonWrite, AuditEntry)],
        audit: &AuditEntry,
    ) -> Result<Vec<Change>>;

    /// The ETag seq of an incident: its last own write's change (a
    /// household mark is not one), 0 for none or after a copy.
    fn incident_etag(&self, id: i64) -> Result<i64>;

    /// Writes incidents read from another store, keeping their ids, area
    /// versions and timelines, in one transaction (`wangge copy`).
    fn restore_incidents(&self, all: &[IncidentRecord]) -> Result<()>;
}

/// Reads every incident with its timeline (what a copy moves).
pub fn dump(store: &dyn IncidentStore) -> Result<Vec<IncidentRecord>> {
    let mut out = vec![];
    for i in store.incidents()? {
        let t = store.timeline(i.id)?;
        let h = store.household_statuses(i.id)?;
        let s = store.sent(i.id)?;
        out.push((i, t, h, s));
    }
    out.sort_by_key(|(i, _, _, _)| i.id);
    Ok(out)
}

/// The change row of an incident write (seq assigned by the store).
pub(crate) fn change(w: &IncidentWrite, id: i64, audit: &AuditEntry) -> Change {
    Change {
        seq: 0,
        at: audit.at.clone(),
        layer: ChangeLayer::Incidents,
        id: Some(id),
        op: match w {
            IncidentWrite::Open { .. } => ChangeOp::Create,
            _ => ChangeOp::Update,
        },
        region: w.region(),
        actor: audit.user.clone(),
    }
}

/// The audit line of an incident write, completed with its change.
pub(crate) fn audited(audit: &AuditEntry, c: &Change) -> AuditEntry {
    written_audit(audit, c)
}

/// The timeline line's detail for a write: the title, the area's
/// version, the note.
pub(crate) fn detail(w: &IncidentWrite, version: Option<i64>) -> String {
    match w {
        IncidentWrite::Open { title, .. } => title.clone(),
        IncidentWrite::Redraw { .. } => format!("version {}", version.unwrap_or(0)),
        IncidentWrite::Note { note, .. } | IncidentWrite::Close { note, .. } => note.clone(),
        IncidentWrite::Mark {
            household,
            status,
            note,
            ..
        } if note.is_empty() => format!("household {household}: {}", status.as_str()),
        IncidentWrite::Mark {
            household,
            status,
            note,
            ..
        } => format!("household {household}: {}; {note}", status.as_str()),
        IncidentWrite::Dispatch { routes, .. } => routes
            .iter()
            .map(|(v, hs)| {
                let hs: Vec<String> = hs.iter().map(ToString::to_string).collect();
                format!("volunteer {v} → households {}", hs.join(", "))
            })
            .collect::<Vec<_>>()
            .join("; "),
    }
}

/// The refusal of a write to a closed incident.
pub(crate) fn closed(id: i64) -> StoreError {
    StoreError::Conflict(format!("incident {id} is closed"))
}

/// The refusal of a write to an incident that is not there.
pub(crate) fn missing(id: i64) -> StoreError {
    StoreError::NotFound {
        what: format!("incident {id}"),
    }
}

/// A stored kind or status that does not parse.
pub(crate) fn corrupt(what: &str, v: &str) -> StoreError {
    StoreError::Corrupt {
        what: format!("incidents.{what}"),
        reason: format!("unknown value {v:?}"),
    }
}
