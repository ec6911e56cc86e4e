//! A record's history (who changed what, when) from the audit log: the
//! lines its writes left, newest first. A ledger write's audit detail names
//! the personal fields it changed but never holds their values
//! ([`super::audit_detail`]), and the client address is left out here, so
//! a reader who may write the record sees nothing personal they could not
//! already read.

use serde::Serialize;

use super::{current, LedgerError};
use crate::access::account::AuditEntry;
use crate::access::Caller;
use crate::domain::Layer;
use crate::snapshot::Snapshot;

/// Lines of history sent at most.
pub const HISTORY_MAX: usize = 200;

/// One write of a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryEntry {
    /// RFC 3339 UTC.
    pub at: String,
    pub actor: String,
    /// `create`, `update` or `delete`.
    pub op: String,
    /// The change log's seq of the write.
    pub change: Option<i64>,
    /// The fields changed, before → after (personal ones only named).
    pub detail: String,
}

/// The audit target of record `id` of `layer`, as a record write names it
/// ([`crate::store::changes`]: `households 12`).
pub fn target(layer: Layer, id: i64) -> String {
    format!("{layer} {id}")
}

/// The household `id` whose history `caller` may read: one they may
/// write (office, admin) in their scope.
pub fn may_read(s: &Snapshot, caller: &Caller, id: i64) -> Result<(), LedgerError> {
    current(s, caller, id).map(|_| ())
}

/// One audit line of a record write as a history entry: its head
/// (`update households 12 (change 57)`) split into the op and the change.
pub fn entry(e: &AuditEntry) -> HistoryEntry {
    let (head, detail) = e.detail.split_once("; ").unwrap_or((&e.detail, ""));
    let op = head.split(' ').next().unwrap_or_default().to_string();
    let change = head
        .rsplit_once("(change ")
        .and_then(|(_, rest)| rest.trim_end_matches(')').parse().ok());
    HistoryEntry {
        at: e.at.clone(),
        actor: e.user.clone(),
        op,
        change,
        detail: detail.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(detail: &str) -> AuditEntry {
        AuditEntry {
            id: 1,
            at: "2026-12-03T09:30:00Z".into(),
            user: "office1".into(),
            action: "household_write".into(),
            target: "households 12".into(),
            from: "10.0.0.7".into(),
            detail: detail.into(),
        }
    }

    #[test]
    fn an_audit_line_becomes_who_what_when_without_the_address_it_came_from() {
        let e = entry(&line(
            "update households 12 (change 57); size: 3 → 4; address: changed (personal, not logged)",
        ));
        assert_eq!(e.op, "update");
        assert_eq!(e.change, Some(57));
        assert_eq!(e.actor, "office1");
        assert_eq!(
            e.detail,
            "size: 3 → 4; address: changed (personal, not logged)"
        );
        assert!(!serde_json::to_string(&e).unwrap().contains("10.0.0.7"));
        let bare = entry(&line("delete households 12 (change 60)"));
        assert_eq!((bare.op.as_str(), bare.change), ("delete", Some(60)));
        assert_eq!(bare.detail, "");
        assert_eq!(target(Layer::Households, 12), "households 12");
    }
}
