//! The change log and one-record writes, checked on every store (called
//! from [`super::suite::run_all`]).

use super::{Backend, ChangeOp, HouseholdWrite, PersonWrite, StoreError};
use crate::access::account::AuditEntry;
use crate::domain::{GridCode, Household, Layer, Person, Record, Role};

fn audit(user: &str) -> AuditEntry {
    AuditEntry {
        id: 0,
        at: "2026-12-03T10:00:00Z".into(),
        user: user.into(),
        action: "household_write".into(),
        target: "households".into(),
        from: "127.0.0.1".into(),
        detail: "size: 4 → 5".into(),
    }
}

fn household() -> Household {
    let Record::Household(h) = super::suite::sample()[2].clone() else {
        unreachable!()
    };
    h
}

fn last_seq(s: &dyn Backend) -> i64 {
    s.changes_since(0, usize::MAX)
        .unwrap()
        .last()
        .map_or(0, |c| c.seq)
}

/// Runs every check; the store may hold anything, and is left holding
/// one more household.
pub fn run(s: &dyn Backend) {
    imports_log_one_row_per_layer(s);
    a_write_lands_with_its_change_and_audit_line(s);
    a_person_write_lands_with_its_change_and_audit_line(s);
}

fn person() -> Person {
    Person {
        id: 0,
        name: "网格员乙".into(),
        phone: "13900000001".into(),
        roles: vec![Role::FullTimeWorker],
        team: None,
        skills: vec![],
        available: true,
        reserve: false,
        home: household().location,
        grids: vec![],
        region: household().region,
    }
}

/// A person created, given grids (a stale ETag refused, nothing
/// changed), deleted: each write with its `people` change row and audit
/// line; name and phone read back as written (sealed and opened).
fn a_person_write_lands_with_its_change_and_audit_line(s: &dyn Backend) {
    let seq0 = last_seq(s);
    let audits0 = s.audit_log(None, None, usize::MAX).unwrap().len();
    let n0 = s.load().unwrap().people.len();
    let created = s
        .write_person(&PersonWrite::Create(person()), &audit("office1"))
        .unwrap();
    assert_eq!(
        (created.seq, created.layer, created.op),
        (seq0 + 1, Layer::People, ChangeOp::Create)
    );
    let id = created.id.unwrap();
    assert_eq!(s.etag_seq(Layer::People, id).unwrap(), created.seq);
    let mut p = person();
    p.id = id;
    p.grids = vec![GridCode("610902001001001".into())];
    let stale = s.write_person(
        &PersonWrite::Update {
            person: p.clone(),
            expect: created.seq - 1,
        },
        &audit("office1"),
    );
    assert!(
        matches!(stale, Err(StoreError::Precondition { current }) if current == created.seq),
        "{stale:?}"
    );
    assert_eq!(last_seq(s), created.seq, "a stale write logs nothing");
    let updated = s
        .write_person(
            &PersonWrite::Update {
                person: p.clone(),
                expect: created.seq,
            },
            &audit("office1"),
        )
        .unwrap();
    let d = s.load().unwrap();
    let back = d.people.iter().find(|q| q.id == id).expect("stored");
    assert_eq!(
        (&back.grids, &back.name, &back.phone),
        (&p.grids, &p.name, &p.phone)
    );
    let deleted = s
        .write_person(
            &PersonWrite::Delete {
                id,
                region: p.region,
                expect: updated.seq,
            },
            &audit("office1"),
        )
        .unwrap();
    assert_eq!(s.load().unwrap().people.len(), n0);
    let log: Vec<_> = s
        .changes_since(seq0, 100)
        .unwrap()
        .iter()
        .map(|c| (c.seq, c.layer, c.op, c.id))
        .collect();
    assert_eq!(
        log,
        vec![
            (seq0 + 1, Layer::People, ChangeOp::Create, Some(id)),
            (seq0 + 2, Layer::People, ChangeOp::Update, Some(id)),
            (seq0 + 3, Layer::People, ChangeOp::Delete, Some(id)),
        ]
    );
    assert_eq!(deleted.seq, seq0 + 3);
    let audits = s.audit_log(None, None, usize::MAX).unwrap();
    assert_eq!(
        audits.len(),
        audits0 + 3,
        "one audit line per acknowledged write"
    );
    assert!(audits.iter().any(|a| a
        .detail
        .contains(&format!("create people {id} (change {})", seq0 + 1))));
}

fn imports_log_one_row_per_layer(s: &dyn Backend) {
    let before = last_seq(s);
    let mut h = household();
    h.id = 0;
    s.import(&mut vec![Ok(Record::Household(h))].into_iter())
        .unwrap();
    let new = s.changes_since(before, 100).unwrap();
    assert_eq!(new.len(), 1, "{new:?}");
    assert_eq!(
        (new[0].op, new[0].layer, new[0].id, new[0].seq),
        (ChangeOp::Import, Layer::Households, None, before + 1)
    );
    // Every household's ETag is now that import's seq.
    assert_eq!(s.etag_seq(Layer::Households, 42).unwrap(), before + 1);
    assert!(s.etag_seq(Layer::People, 5).unwrap() <= before);
}

fn a_write_lands_with_its_change_and_audit_line(s: &dyn Backend) {
    let seq0 = last_seq(s);
    let audits0 = s.audit_log(None, None, usize::MAX).unwrap().len();
    let n0 = s.load().unwrap().households.len();

    let created = s
        .write_household(&HouseholdWrite::Create(household()), &audit("office1"))
        .unwrap();
    let id = created.id.unwrap();
    assert!(id > 42, "a new id, never the one given");
    assert_eq!((created.seq, created.op), (seq0 + 1, ChangeOp::Create));
    assert_eq!(s.etag_seq(Layer::Households, id).unwrap(), created.seq);
    let d = s.load().unwrap();
    assert_eq!(d.households.len(), n0 + 1);
    let stored = d.households.iter().find(|h| h.id == id).unwrap();
    assert_eq!(
        stored.address,
        household().address,
        "sealed and opened again"
    );

    let mut h = stored.clone();
    h.size = 5;
    let updated = s
        .write_household(
            &HouseholdWrite::Update {
                household: h.clone(),
                expect: created.seq,
            },
            &audit("office1"),
        )
        .unwrap();
    assert_eq!(updated.seq, created.seq + 1);

    // A second writer with the old ETag: refused, nothing written.
    h.size = 9;
    let e = s
        .write_household(
            &HouseholdWrite::Update {
                household: h.clone(),
                expect: created.seq,
            },
            &audit("office2"),
        )
        .unwrap_err();
    assert!(
        matches!(e, StoreError::Precondition { current } if current == updated.seq),
        "{e}"
    );
    let after = s.load().unwrap();
    let now = after.households.iter().find(|x| x.id == id).unwrap();
    assert_eq!(now.size, 5);
    assert_eq!(
        last_seq(s),
        updated.seq,
        "no change row for a refused write"
    );

    // A missing record: not found, nothing written.
    let e = s
        .write_household(
            &HouseholdWrite::Delete {
                id: 999_999,
                region: None,
                expect: 0,
            },
            &audit("office1"),
        )
        .unwrap_err();
    assert!(matches!(e, StoreError::NotFound { .. }), "{e}");

    let deleted = s
        .write_household(
            &HouseholdWrite::Delete {
                id,
                region: h.region,
                expect: updated.seq,
            },
            &audit("office1"),
        )
        .unwrap();
    assert_eq!(deleted.seq, updated.seq + 1);
    assert_eq!(s.load().unwrap().households.len(), n0);

    logged_in_order(s, seq0, id, h.region, audits0, deleted.seq);
}

/// The three writes of [`a_write_lands_with_its_change_and_audit_line`]
/// are logged in order, without a gap, each with its audit line.
fn logged_in_order(
    s: &dyn Backend,
    seq0: i64,
    id: i64,
    region: Option<crate::domain::RegionCode>,
    audits0: usize,
    last: i64,
) {
    let log = s.changes_since(seq0, 100).unwrap();
    let ops: Vec<_> = log.iter().map(|c| (c.seq, c.op, c.id)).collect();
    assert_eq!(
        ops,
        vec![
            (seq0 + 1, ChangeOp::Create, Some(id)),
            (seq0 + 2, ChangeOp::Update, Some(id)),
            (seq0 + 3, ChangeOp::Delete, Some(id)),
        ]
    );
    assert!(log
        .iter()
        .all(|c| c.actor == "office1" && c.region == region));
    assert_eq!(s.changes_since(seq0, 2).unwrap().len(), 2, "limit");

    let audits = s.audit_log(None, None, usize::MAX).unwrap();
    assert_eq!(
        audits.len(),
        audits0 + 3,
        "one audit line per acknowledged write"
    );
    let newest = &audits[audits.len() - 1];
    assert!(
        newest.detail.contains(&format!("change {last}")),
        "{}",
        newest.detail
    );
    // The record's own lines (its history), newest first; a limit holds.
    let of = s.audit_of(&format!("households {id}"), 10).unwrap();
    let heads: Vec<&str> = of
        .iter()
        .map(|a| a.detail.split(' ').next().unwrap_or(""))
        .collect();
    assert_eq!(heads, ["delete", "update", "create"]);
    assert_eq!(s.audit_of(&format!("households {id}"), 1).unwrap().len(), 1);
    assert!(s.audit_of("households 999999", 10).unwrap().is_empty());
}
