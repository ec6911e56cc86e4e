//! The change log and one-record writes, checked on every store (called
//! from [`super::suite::run_all`]).

use super::{
    Backend, ChangeLayer, ChangeOp, Dump, HouseholdWrite, PersonWrite, RecordOp, RecordWrite,
    StoreError,
};
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

/// The newest seq, read both ways: the whole log's last row and
/// [`super::Store::last_seq`] agree.
fn last_seq(s: &dyn Backend) -> i64 {
    let read = s
        .changes_since(0, usize::MAX)
        .unwrap()
        .last()
        .map_or(0, |c| c.seq);
    assert_eq!(
        s.last_seq().unwrap(),
        read,
        "last_seq is the log's last row"
    );
    read
}

/// Runs every check; the store may hold anything, and is left holding
/// one more household.
pub fn run(s: &dyn Backend) {
    imports_log_one_row_per_layer(s);
    a_write_lands_with_its_change_and_audit_line(s);
    a_person_write_lands_with_its_change_and_audit_line(s);
    a_dispatch_writes_all_its_volunteers_or_none(s);
    plan_saves_log_their_version(s);
    buildings_and_roads_land_with_their_change_and_audit_line(s);
}

/// Every kind of plan save appends a `plans` row naming the version and
/// its region (`create`, or `publish` for a version saved published), in
/// the save's transaction: a refused save logs nothing.
fn plan_saves_log_their_version(s: &dyn Backend) {
    let seq0 = last_seq(s);
    let code = "610902001009";
    let region: crate::domain::RegionCode = code.parse().unwrap();
    let a = s.save_plan(&super::suite::plan(code, None), &[]).unwrap();
    let mut p = super::suite::plan(code, Some(a.id));
    p.version.published = true;
    let b = s
        .save_plan_on(&p, &[], a.id, &audit("planner1"), &[])
        .unwrap();
    let stale = s.save_plan_on(&p, &[], a.id, &audit("planner1"), &[]);
    assert!(matches!(stale, Err(StoreError::Stale { .. })), "{stale:?}");
    let mut bad = super::suite::plan(code, Some(b.id));
    bad.labels.pop();
    assert!(s
        .save_partition(region, &[], &bad, &audit("planner1"), &[])
        .is_err());
    assert_eq!(last_seq(s), seq0 + 2, "refused saves log nothing");
    let c = s
        .save_partition(
            region,
            &[],
            &super::suite::plan(code, Some(b.id)),
            &audit("planner1"),
            &[],
        )
        .unwrap();
    let log: Vec<_> = s
        .changes_since(seq0, 100)
        .unwrap()
        .into_iter()
        .map(|c| (c.seq, c.layer, c.id, c.op, c.region, c.actor))
        .collect();
    let row = |n: i64, id: i64, op| {
        let author = "planner".to_string();
        (
            seq0 + n,
            ChangeLayer::Plans,
            Some(id),
            op,
            Some(region),
            author,
        )
    };
    assert_eq!(
        log,
        vec![
            row(1, a.id, ChangeOp::Create),
            row(2, b.id, ChangeOp::Publish),
            row(3, c.id, ChangeOp::Create),
        ]
    );
    let json = serde_json::to_value(s.changes_since(seq0, 1).unwrap()).unwrap();
    assert_eq!(json[0]["layer"], "plans");
    assert_eq!(json[0]["op"], "create");
}

/// A copy (`wangge copy`) starts the new store's log with one `import`
/// row per layer it wrote, and one for the plan versions.
pub fn a_copy_logs_one_import_row_per_layer(dump: &Dump, to: &dyn Backend) {
    let log = to.changes_since(0, 100).unwrap();
    let mut want: Vec<ChangeLayer> = super::copied(dump)
        .keys()
        .map(|l| ChangeLayer::Data(*l))
        .collect();
    want.push(ChangeLayer::Plans);
    assert_eq!(log.iter().map(|c| c.layer).collect::<Vec<_>>(), want);
    assert!(log
        .iter()
        .all(|c| c.op == ChangeOp::Import && c.id.is_none() && c.actor == "copy"));
    assert_eq!(
        log.iter().map(|c| c.seq).collect::<Vec<_>>(),
        (1..=want.len() as i64).collect::<Vec<_>>()
    );
    assert_eq!(to.last_seq().unwrap(), want.len() as i64);
}

/// A building and a road each created, updated (a stale ETag refused,
/// nothing logged), deleted through [`RecordWrite`]: their change rows
/// name their layer and the region given, one audit line each, and the
/// geometry reads back as written.
fn buildings_and_roads_land_with_their_change_and_audit_line(s: &dyn Backend) {
    let sample = super::suite::sample();
    let region = household().region;
    for (i, layer) in [(5usize, Layer::Buildings), (4, Layer::Roads)] {
        let seq0 = last_seq(s);
        let audits0 = s.audit_log(None, None, usize::MAX).unwrap().len();
        let count = |d: &crate::domain::Dataset| match layer {
            Layer::Buildings => d.buildings.len(),
            _ => d.roads.len(),
        };
        let n0 = count(&s.load().unwrap());
        let w = |op| RecordWrite {
            op,
            region,
            forget: region.into_iter().collect(),
            forget_stored: false,
        };
        let created = s
            .write_record(&w(RecordOp::Create(sample[i].clone())), &audit("planner1"))
            .unwrap();
        let id = created.id.unwrap();
        assert_eq!((created.seq, created.layer), (seq0 + 1, layer.into()));
        assert_eq!(s.etag_seq(layer, id).unwrap(), created.seq);
        let mut changed = sample[i].clone();
        match &mut changed {
            Record::Building(b) => {
                b.id = id;
                b.levels = Some(3);
            }
            Record::Road(r) => {
                r.id = id;
                r.name = "新路".into();
            }
            _ => unreachable!(),
        }
        let update = |expect| {
            w(RecordOp::Update {
                record: changed.clone(),
                expect,
            })
        };
        let e = s.write_record(&update(created.seq - 1), &audit("planner1"));
        assert!(matches!(e, Err(StoreError::Precondition { .. })), "{e:?}");
        assert_eq!(last_seq(s), created.seq, "a stale write logs nothing");
        let updated = s
            .write_record(&update(created.seq), &audit("planner1"))
            .unwrap();
        let d = s.load().unwrap();
        assert_eq!(count(&d), n0 + 1);
        let back = match layer {
            Layer::Buildings => d
                .buildings
                .iter()
                .find(|b| b.id == id)
                .cloned()
                .map(Record::Building),
            _ => d
                .roads
                .iter()
                .find(|r| r.id == id)
                .cloned()
                .map(Record::Road),
        };
        assert_eq!(back.as_ref(), Some(&changed));
        let del = w(RecordOp::Delete {
            layer,
            id,
            expect: updated.seq,
        });
        s.write_record(&del, &audit("planner1")).unwrap();
        assert_eq!(count(&s.load().unwrap()), n0);
        let log: Vec<_> = s
            .changes_since(seq0, 100)
            .unwrap()
            .iter()
            .map(|c| (c.layer, c.op, c.id, c.region))
            .collect();
        assert_eq!(
            log,
            [ChangeOp::Create, ChangeOp::Update, ChangeOp::Delete]
                .map(|op| (layer.into(), op, Some(id), region))
                .to_vec()
        );
        let audits = s.audit_log(None, None, usize::MAX).unwrap();
        assert_eq!(audits.len(), audits0 + 3);
    }
}

fn person() -> Person {
    Person {
        id: 0,
        name: "网格员乙".into(),
        phone: "13900000001".into(),
        roles: vec![Role::FullTimeWorker],
        team: None,
        skills: vec![],
        status: crate::domain::Availability::OnDuty,
        checkin: None,
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
        (seq0 + 1, Layer::People.into(), ChangeOp::Create)
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
        matches!(stale, Err(StoreError::Precondition { id: named, current }) if current == created.seq && named == id),
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
        .map(|c| (c.seq, c.layer.as_str(), c.op, c.id))
        .collect();
    assert_eq!(
        log,
        vec![
            (seq0 + 1, "people", ChangeOp::Create, Some(id)),
            (seq0 + 2, "people", ChangeOp::Update, Some(id)),
            (seq0 + 3, "people", ChangeOp::Delete, Some(id)),
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
        (ChangeOp::Import, Layer::Households.into(), None, before + 1)
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
        matches!(e, StoreError::Precondition { current, .. } if current == updated.seq),
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

/// Two volunteers dispatched in one transaction: with one stale ETag
/// nothing is stored (no change row, no audit line, both still on duty);
/// with both current, both are dispatched with consecutive change rows
/// and an audit line each; status and check-in read back as written.
fn a_dispatch_writes_all_its_volunteers_or_none(s: &dyn Backend) {
    use crate::domain::Availability;
    let mut v = person();
    v.roles = vec![Role::Volunteer];
    v.reserve = true;
    let a = s
        .write_person(&PersonWrite::Create(v.clone()), &audit("em1"))
        .unwrap();
    let b = s
        .write_person(&PersonWrite::Create(v.clone()), &audit("em1"))
        .unwrap();
    let seq0 = last_seq(s);
    let audits0 = s.audit_log(None, None, usize::MAX).unwrap().len();
    let sent = |id: i64| {
        let mut p = v.clone();
        p.id = id;
        p.status = Availability::Dispatched;
        p.checkin = Some(geo_types::point!(x: 109.02, y: 32.62));
        p
    };
    let (ida, idb) = (a.id.unwrap(), b.id.unwrap());
    let write = |expect_b: i64| {
        s.write_people(&[
            (
                PersonWrite::Update {
                    person: sent(ida),
                    expect: a.seq,
                },
                audit("em1"),
            ),
            (
                PersonWrite::Update {
                    person: sent(idb),
                    expect: expect_b,
                },
                audit("em1"),
            ),
        ])
    };
    let stale = write(b.seq - 1);
    assert!(
        matches!(stale, Err(StoreError::Precondition { .. })),
        "{stale:?}"
    );
    assert_eq!(last_seq(s), seq0, "nothing logged");
    let d = s.load().unwrap();
    let status = |d: &crate::domain::Dataset, id| {
        d.people
            .iter()
            .find(|p| p.id == id)
            .map(|p| (p.status, p.checkin))
    };
    assert_eq!(status(&d, ida), Some((Availability::OnDuty, None)));
    assert_eq!(
        s.audit_log(None, None, usize::MAX).unwrap().len(),
        audits0,
        "no audit line"
    );
    let done = write(b.seq).unwrap();
    assert_eq!(
        done.iter().map(|c| (c.seq, c.id)).collect::<Vec<_>>(),
        vec![(seq0 + 1, Some(ida)), (seq0 + 2, Some(idb))]
    );
    let d = s.load().unwrap();
    for id in [ida, idb] {
        assert_eq!(
            status(&d, id),
            Some((
                Availability::Dispatched,
                Some(geo_types::point!(x: 109.02, y: 32.62))
            ))
        );
    }
    assert_eq!(
        s.audit_log(None, None, usize::MAX).unwrap().len(),
        audits0 + 2
    );
    for (id, seq) in [(ida, done[0].seq), (idb, done[1].seq)] {
        s.write_person(
            &PersonWrite::Delete {
                id,
                region: v.region,
                expect: seq,
            },
            &audit("em1"),
        )
        .unwrap();
    }
}
