//! Incidents, checked on every store (called from
//! [`super::suite::run_all`] and [`super::suite::restore_copies_everything`]).

use serde_json::json;

use super::{Backend, ChangeLayer, ChangeOp, PersonWrite, StoreError};
use crate::access::account::AuditEntry;
use crate::domain::{Availability, Layer};
use crate::incident::{ContactStatus, IncidentKind, IncidentStatus, IncidentWrite};

fn audit(user: &str, at: &str) -> AuditEntry {
    AuditEntry {
        id: 0,
        at: at.into(),
        user: user.into(),
        action: "incident".into(),
        target: "incidents".into(),
        from: "127.0.0.1".into(),
        detail: String::new(),
    }
}

fn circle(r: f64) -> serde_json::Value {
    json!({ "circle": { "lon": 109.03, "lat": 32.69, "radius_m": r } })
}

/// Open, redraw, note, mark, dispatch, close: each write lands with its
/// timeline line, its change row and its audit line; a stale or closed
/// write stores nothing. Returns the incident's id.
#[allow(
    clippy::too_many_lines,
    reason = "one incident's life in order, each write checked against the ones before"
)]
pub fn run(s: &dyn Backend) -> i64 {
    let seq0 = s.last_seq().unwrap();
    let opened = s
        .write_incident(
            &IncidentWrite::Open {
                title: "汉江 flood".into(),
                kind: IncidentKind::Flood,
                area: circle(300.0),
                region: Some("610902001001".parse().unwrap()),
            },
            &audit("em1", "2026-12-04T01:00:00Z"),
        )
        .unwrap();
    let id = opened.id.unwrap();
    assert_eq!(
        (opened.layer, opened.op, opened.seq),
        (ChangeLayer::Incidents, ChangeOp::Create, seq0 + 1)
    );
    assert_eq!(s.incident_etag(id).unwrap(), opened.seq);
    let i = s.incident(id).unwrap().unwrap();
    assert_eq!(
        (i.title.as_str(), i.kind, i.status, i.opened_by.as_str()),
        (
            "汉江 flood",
            IncidentKind::Flood,
            IncidentStatus::Open,
            "em1"
        )
    );
    assert_eq!(i.areas.len(), 1);
    assert_eq!(i.areas[0].area, circle(300.0));

    // A redraw keeps the first area; a stale one stores nothing.
    let stale = s.write_incident(
        &IncidentWrite::Redraw {
            id,
            area: circle(900.0),
            region: None,
            expect: opened.seq - 1,
        },
        &audit("em2", "2026-12-04T01:10:00Z"),
    );
    assert!(
        matches!(stale, Err(StoreError::Precondition { id: named, current }) if named == id && current == opened.seq),
        "{stale:?}"
    );
    assert_eq!(
        s.last_seq().unwrap(),
        opened.seq,
        "a stale write logs nothing"
    );
    let redrawn = s
        .write_incident(
            &IncidentWrite::Redraw {
                id,
                area: circle(900.0),
                region: None,
                expect: opened.seq,
            },
            &audit("em2", "2026-12-04T01:10:00Z"),
        )
        .unwrap();
    let noted = s
        .write_incident(
            &IncidentWrite::Note {
                id,
                note: "水位上涨".into(),
                region: None,
                expect: redrawn.seq,
            },
            &audit("em1", "2026-12-04T01:20:00Z"),
        )
        .unwrap();
    // Household statuses: versioned by household, not by the incident's
    // ETag; a stale mark stores nothing and names the household.
    let mark = |household: i64, status: ContactStatus, expect: i64| IncidentWrite::Mark {
        id,
        household,
        status,
        note: String::new(),
        region: None,
        expect,
    };
    let at = audit("em2", "2026-12-04T02:00:00Z");
    let m1 = s
        .write_incident(&mark(7, ContactStatus::NeedsEvacuation, 0), &at)
        .unwrap();
    s.write_incident(&mark(8, ContactStatus::Contacted, 0), &at)
        .unwrap();
    let stale = s.write_incident(&mark(7, ContactStatus::Reached, 0), &at);
    assert!(
        matches!(stale, Err(StoreError::Precondition { id: 7, current: 1 })),
        "{stale:?}"
    );
    assert_eq!(
        s.last_seq().unwrap(),
        m1.seq + 1,
        "a stale mark logs nothing"
    );
    s.write_incident(&mark(7, ContactStatus::Evacuated, 1), &at)
        .unwrap();
    let marked: Vec<(i64, ContactStatus, i64, String)> = s
        .household_statuses(id)
        .unwrap()
        .into_iter()
        .map(|h| (h.household, h.status, h.version, h.by))
        .collect();
    assert_eq!(
        marked,
        [
            (7, ContactStatus::Evacuated, 2, "em2".to_string()),
            (8, ContactStatus::Contacted, 1, "em2".to_string())
        ]
    );
    // A dispatch for the incident: the volunteer's write and who goes
    // where, in one transaction.
    let (dispatch, people) = dispatch_of(s, id);
    let done = s
        .dispatch_in(&dispatch, &people, &audit("em1", "2026-12-04T03:00:00Z"))
        .unwrap();
    assert_eq!(
        done.iter().map(|c| c.layer).collect::<Vec<_>>(),
        [ChangeLayer::Data(Layer::People), ChangeLayer::Incidents],
        "the volunteer's change, then the incident's"
    );
    let v = done[0].id.unwrap();
    let sent: Vec<(i64, i64, String)> = s
        .sent(id)
        .unwrap()
        .into_iter()
        .map(|x| (x.household, x.volunteer, x.by))
        .collect();
    assert_eq!(sent, [(7, v, "em1".into()), (8, v, "em1".into())]);
    assert_eq!(
        s.incident_etag(id).unwrap(),
        noted.seq,
        "a dispatch is not the incident's own write"
    );
    let closed = s
        .write_incident(
            &IncidentWrite::Close {
                id,
                note: String::new(),
                region: None,
                expect: noted.seq,
            },
            &audit("em2", "2026-12-04T05:00:00Z"),
        )
        .unwrap();
    let i = s.incident(id).unwrap().unwrap();
    assert_eq!(i.status, IncidentStatus::Closed);
    assert_eq!(i.closed_at.as_deref(), Some("2026-12-04T05:00:00Z"));
    let versions: Vec<(i64, &str)> = i.areas.iter().map(|a| (a.version, a.by.as_str())).collect();
    assert_eq!(versions, [(1, "em1"), (2, "em2")], "every version kept");
    assert_eq!(i.area().unwrap().area, circle(900.0));
    let t: Vec<(String, String, String)> = s
        .timeline(id)
        .unwrap()
        .into_iter()
        .map(|l| (l.actor, l.what, l.detail))
        .collect();
    let want = [
        ("em1", "opened", "汉江 flood"),
        ("em2", "area_redrawn", "version 2"),
        ("em1", "note", "水位上涨"),
        ("em2", "household_marked", "household 7: needs_evacuation"),
        ("em2", "household_marked", "household 8: contacted"),
        ("em2", "household_marked", "household 7: evacuated"),
        (
            "em1",
            "dispatched",
            &format!("volunteer {v} → households 7, 8"),
        ),
        ("em2", "closed", ""),
    ];
    assert_eq!(
        t,
        want.map(|(a, w, d)| (a.to_string(), w.to_string(), d.to_string()))
    );
    // A closed incident takes no more writes.
    let late = s.write_incident(
        &IncidentWrite::Note {
            id,
            note: "迟到".into(),
            region: None,
            expect: closed.seq,
        },
        &audit("em1", "2026-12-04T06:00:00Z"),
    );
    assert!(matches!(late, Err(StoreError::Conflict(_))), "{late:?}");
    let late = s.write_incident(&mark(9, ContactStatus::Reached, 0), &at);
    assert!(matches!(late, Err(StoreError::Conflict(_))), "{late:?}");
    let seq = s.last_seq().unwrap();
    let (dispatch, people) = dispatch_of(s, id);
    let late = s.dispatch_in(&dispatch, &people, &at);
    assert!(matches!(late, Err(StoreError::Conflict(_))), "{late:?}");
    assert_eq!(
        s.last_seq().unwrap(),
        seq,
        "a dispatch for a closed incident writes no volunteer either"
    );
    assert_eq!(s.timeline(id).unwrap().len(), 8, "nothing half-stored");
    assert_eq!(s.household_statuses(id).unwrap().len(), 2);
    // Every write has its audit line, naming the change.
    let lines = s.audit_log(None, None, usize::MAX).unwrap();
    for c in [opened.seq, redrawn.seq, noted.seq, closed.seq] {
        assert!(
            lines.iter().any(|l| l.target == format!("incidents {id}")
                && l.detail.contains(&format!("(change {c})"))),
            "audit line of change {c}"
        );
    }
    assert!(s.incident(id + 1000).unwrap().is_none());
    let gone = s.write_incident(
        &IncidentWrite::Note {
            id: id + 1000,
            note: "x".into(),
            region: None,
            expect: 0,
        },
        &audit("em1", "2026-12-04T06:00:00Z"),
    );
    assert!(matches!(gone, Err(StoreError::NotFound { .. })), "{gone:?}");
    id
}

/// A dispatch for incident `id` sending the store's first person to
/// households 7 and 8, with that person's write (status dispatched).
fn dispatch_of(s: &dyn Backend, id: i64) -> (IncidentWrite, Vec<(PersonWrite, AuditEntry)>) {
    let mut p = s.load().unwrap().people.remove(0);
    let expect = s.etag_seq(Layer::People, p.id).unwrap();
    p.status = Availability::Dispatched;
    let w = IncidentWrite::Dispatch {
        id,
        routes: vec![(p.id, vec![7, 8])],
        region: None,
    };
    let mut a = audit("em1", "2026-12-04T03:00:00Z");
    a.target = "people".into();
    (w, vec![(PersonWrite::Update { person: p, expect }, a)])
}

/// `to` holds what `from` held after [`super::incidents::dump`] was
/// restored into it: the same incidents, areas and timelines.
pub fn restored(from: &dyn Backend, to: &dyn Backend) {
    let all = super::incidents::dump(from).unwrap();
    assert!(!all.is_empty(), "the suite opened an incident");
    to.restore_incidents(&all).unwrap();
    assert_eq!(super::incidents::dump(to).unwrap(), all);
}
