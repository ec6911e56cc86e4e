//! The store conformance suite: every `Store` implementation runs it on a
//! fresh, empty store (`gpkg` and `postgis` each have a test calling it).

use geo_types::{line_string, point, polygon, Geometry, MultiPolygon};

use super::{Abort, Backend, Store, StoreError};
use crate::access::account::{AuditEntry, Session, Token, User};
use crate::domain::{
    Atom, AtomKind, Building, CareLevel, GridCode, GridLabel, Household, ImportedGrid, Level,
    Person, Plan, PlanVersion, Region, Road, RoadClass, Role, SensitiveFlags, Water, WaterKind,
};
use crate::domain::{Layer, Record};

fn square_with_hole() -> MultiPolygon<f64> {
    MultiPolygon(vec![
        polygon!(
            exterior: [(x: 109.0, y: 32.6), (x: 109.1, y: 32.6), (x: 109.1, y: 32.7), (x: 109.0, y: 32.7), (x: 109.0, y: 32.6)],
            interiors: [[(x: 109.04, y: 32.64), (x: 109.06, y: 32.64), (x: 109.06, y: 32.66), (x: 109.04, y: 32.64)]],
        ),
        polygon![(x: 109.2, y: 32.6), (x: 109.3, y: 32.6), (x: 109.3, y: 32.7), (x: 109.2, y: 32.6)],
    ])
}

/// One record of every layer, with every field set and Chinese text.
pub fn sample() -> Vec<Record> {
    let code = "610902001001".parse().unwrap();
    vec![
        Record::Region(Region {
            code,
            name: "新城街道育才社区".into(),
            parent: Some("610902001".parse().unwrap()),
            boundary: square_with_hole(),
        }),
        Record::Atom(Atom {
            id: 7,
            region: code,
            kind: AtomKind::Block,
            geometry: square_with_hole(),
        }),
        Record::Household(Household {
            id: 42,
            location: point!(x: 109.01, y: 32.61),
            size: 4,
            care: CareLevel::CONNECTED,
            flags: SensitiveFlags(SensitiveFlags::ELDERLY_ALONE | SensitiveFlags::DISABILITY),
            building: Some(3),
            address: "兴安路12号3栋501".into(),
            head_name: "张三".into(),
            phone: "13812345678".into(),
            region: Some(code),
            estimated: true,
        }),
        Record::Person(Person {
            id: 5,
            name: "李四".into(),
            phone: "13900001111".into(),
            roles: vec![Role::FullTimeWorker, Role::Volunteer],
            team: Some("应急一队".into()),
            skills: vec!["医疗".into(), "驾驶".into()],
            status: crate::domain::Availability::OnDuty,
            checkin: Some(point!(x: 109.02, y: 32.62)),
            reserve: true,
            home: point!(x: 109.02, y: 32.62),
            grids: vec![GridCode("61090200100100102".into())],
            region: Some(code),
        }),
        Record::Road(Road {
            id: 9,
            class: RoadClass::Primary,
            name: "兴安路".into(),
            grade: crate::domain::Grade::Bridge,
            geometry: line_string![(x: 109.0, y: 32.6), (x: 109.1, y: 32.7)],
        }),
        Record::Building(Building {
            id: 3,
            levels: Some(18),
            height_m: Some(54.5),
            kind: "apartments".into(),
            geometry: square_with_hole(),
        }),
        Record::Water(Water {
            id: 1,
            kind: WaterKind::River,
            name: "汉江".into(),
            geometry: Geometry::LineString(
                line_string![(x: 109.0, y: 32.65), (x: 109.3, y: 32.66)],
            ),
        }),
        Record::Grid(ImportedGrid {
            id: 11,
            region: code,
            level: Level::TWO,
            code: GridCode("61090200100100102".into()),
            name: "二网格".into(),
            parent: Some(GridCode("610902001001001".into())),
            geometry: square_with_hole(),
        }),
    ]
}

pub(super) fn plan(region: &str, parent: Option<i64>) -> Plan {
    Plan {
        version: PlanVersion {
            id: 0,
            region: region.parse().unwrap(),
            number: 0,
            parent,
            author: "planner".into(),
            created_at: "2026-11-25T00:00:00Z".into(),
            message: "初稿".into(),
            published: false,
        },
        atoms: vec![7, 8],
        labels: vec![GridLabel([0, 0, 0]), GridLabel([0, 1, 2])],
        codes: [
            vec![GridCode("a".into())],
            vec![GridCode("b".into()), GridCode("c".into())],
            vec![
                GridCode("d".into()),
                GridCode("e".into()),
                GridCode("f".into()),
            ],
        ],
    }
}

/// Runs every check on `store`, which must start empty.
pub fn run_all(store: &dyn Backend) {
    every_layer_round_trips(store);
    abort_rolls_everything_back(store);
    same_id_replaces_and_zero_id_is_assigned(store);
    households_are_found_by_phone_through_the_blind_index(store);
    a_key_rotation_reseals_everything_and_keeps_the_phone_lookup(store);
    plans_are_numbered_per_region(store);
    users_tokens_sessions_and_the_audit_log(store);
    super::changes_suite::run(store);
    // Shapes last: an import of households drops the shapes saved before.
    saves_write_their_grid_shapes_atomically(store);
    an_import_of_households_forgets_the_shapes_measured_on_them(store);
    super::incidents_suite::run(store);
}

/// `from` ran [`run_all`]; `to` is empty (maybe of the other kind). A
/// restore of `from`'s dump makes `to` hold exactly the same, ids and plan
/// numbers kept, and new writes continue after the copied ids.
pub fn restore_copies_everything(from: &dyn Backend, to: &dyn Backend) {
    let dump = super::dump(from).unwrap();
    assert!(dump.data.plans.len() >= 4, "every plan version is dumped");
    assert!(!dump.users.is_empty() && !dump.tokens.is_empty() && !dump.audit.is_empty());
    assert!(dump.shapes.len() >= 3, "grid shapes are dumped");
    let mut seen = 0;
    to.restore(&dump, &mut |n| seen = n).unwrap();
    assert_eq!(seen, dump.len());
    assert_eq!(super::dump(to).unwrap(), dump);
    super::changes_suite::a_copy_logs_one_import_row_per_layer(&dump, to);
    super::incidents_suite::restored(from, to);
    let e = to.restore(&dump, &mut |_| {}).unwrap_err();
    assert!(matches!(e, StoreError::Conflict(_)), "{e}");
    let newest = dump.data.plans.iter().map(|p| p.version.id).max().unwrap();
    let last = dump
        .data
        .plans
        .iter()
        .filter(|p| p.version.region.to_string() == "610902001001")
        .map(|p| p.version.number)
        .max()
        .unwrap();
    let v = to
        .save_plan(&plan("610902001001", Some(newest)), &[])
        .unwrap();
    assert!(v.id > newest && v.number == last + 1, "{v:?}");
    let uid = to
        .put_user(&user(&format!("zhao{}", dump.users.len())))
        .unwrap();
    assert!(dump.users.iter().all(|u| u.id < uid));
    let before = to.audit_log(None, None, usize::MAX).unwrap().len();
    to.audit(&audit_entry("zhao", "2026-11-26T00:00:00Z"))
        .unwrap();
    let log = to.audit_log(None, None, usize::MAX).unwrap();
    assert_eq!(log.len(), before + 1);
    assert!(log[before].id > log[before - 1].id);
}

fn user(name: &str) -> User {
    User {
        id: 0,
        name: name.into(),
        role: crate::access::Role::Office,
        scope: vec!["610902001".into()],
        password_hash: "x".into(),
        disabled: false,
        created_at: "2026-11-25T00:00:00Z".into(),
    }
}

fn audit_entry(user: &str, at: &str) -> AuditEntry {
    AuditEntry {
        id: 0,
        at: at.into(),
        user: user.into(),
        action: "login".into(),
        target: "-".into(),
        from: "127.0.0.1".into(),
        detail: "详情".into(),
    }
}

fn users_tokens_sessions_and_the_audit_log(s: &dyn Backend) {
    let id = s.put_user(&user("li")).unwrap();
    assert!(matches!(
        s.put_user(&user("li")),
        Err(StoreError::Conflict(_))
    ));
    let mut u = s.user_by_name("li").unwrap().unwrap();
    assert_eq!((u.id, u.scope.clone()), (id, vec!["610902001".to_string()]));
    u.scope = vec![String::new()];
    u.disabled = true;
    s.put_user(&u).unwrap();
    let u = s.user(id).unwrap().unwrap();
    assert!(u.disabled && u.scope == vec![String::new()]);
    s.put_user(&user("an")).unwrap();
    let names: Vec<String> = s.users().unwrap().into_iter().map(|u| u.name).collect();
    assert_eq!(names, ["an", "li"]);

    let t = Token {
        id: 0,
        user_id: id,
        label: "cron".into(),
        digest: "d1".into(),
        created_at: "2026".into(),
        expires_at: None,
        revoked: false,
    };
    let tid = s.put_token(&t).unwrap();
    s.put_token(&Token {
        id: tid,
        revoked: true,
        ..t.clone()
    })
    .unwrap();
    assert!(s.token_by_digest("d1").unwrap().unwrap().revoked);
    assert_eq!(s.tokens(id).unwrap().len(), 1);

    let session = Session {
        digest: "s1".into(),
        user_id: id,
        csrf: "c".into(),
        expires_at: "2099".into(),
    };
    s.put_session(&session).unwrap();
    s.put_session(&session).unwrap();
    assert_eq!(s.session("s1").unwrap(), Some(session));
    s.delete_session("s1").unwrap();
    assert!(s.session("s1").unwrap().is_none());

    s.audit(&audit_entry("li", "2026-11-25T01:00:00Z")).unwrap();
    s.audit_many(&[
        audit_entry("wang", "2026-11-25T02:00:00Z"),
        audit_entry("wang", "2026-11-25T03:00:00Z"),
    ])
    .unwrap();
    assert_eq!(s.audit_log(Some("li"), None, 10).unwrap().len(), 1);
    assert_eq!(
        s.audit_log(None, Some("2026-11-25T01:30:00Z"), 10)
            .unwrap()
            .len(),
        2
    );
    let all = s.audit_log(None, None, usize::MAX).unwrap();
    assert_eq!(all.len(), 4);
    assert_eq!(all[3].detail, "详情");
    // The partition saved earlier wrote its line in its own transaction,
    // once (the refused save wrote none).
    let saved = s.audit_log(Some("planner"), None, 10).unwrap();
    assert_eq!(saved.len(), 1, "{saved:?}");
    assert!(saved[0].detail.contains("saved as plan"), "{saved:?}");
    assert_eq!(s.audit_log(None, None, 1).unwrap().len(), 1);
}

fn every_layer_round_trips(store: &dyn Store) {
    let recs = sample();
    let counts = store.import(&mut recs.clone().into_iter().map(Ok)).unwrap();
    assert!(
        Layer::ALL.iter().all(|l| counts.get(l) == Some(&1)),
        "{counts:?}"
    );
    // Layer by layer, as the records were written.
    let back: Vec<Record> = store.load().unwrap().records();
    assert_eq!(back, recs);
    assert_eq!(store.regions().unwrap().len(), 1);
    assert!(store.counts().unwrap().iter().all(|(_, n)| *n == 1));
}

fn abort_rolls_everything_back(store: &dyn Store) {
    let before = store.counts().unwrap();
    let mut more: Vec<Result<Record, Abort>> = sample()
        .into_iter()
        .map(|mut r| {
            if let Record::Household(h) = &mut r {
                h.id = 0;
            }
            Ok(r)
        })
        .collect();
    more.push(Err(Abort));
    let e = store.import(&mut more.into_iter()).unwrap_err();
    assert!(matches!(e, StoreError::Aborted), "{e}");
    assert_eq!(store.counts().unwrap(), before);
}

fn same_id_replaces_and_zero_id_is_assigned(store: &dyn Store) {
    let Record::Household(mut h) = sample()[2].clone() else {
        unreachable!()
    };
    h.size = 1;
    let mut fresh = h.clone();
    fresh.id = 0;
    store
        .import(&mut vec![Ok(Record::Household(h)), Ok(Record::Household(fresh))].into_iter())
        .unwrap();
    let d = store.load().unwrap();
    assert_eq!(d.households.len(), 2);
    assert_eq!(d.households[0].id, 42);
    assert_eq!(d.households[0].size, 1, "replaced in place");
    assert!(d.households[1].id > 42, "a new id was assigned");
}

fn plans_are_numbered_per_region(store: &dyn Store) {
    let a1 = store.save_plan(&plan("610902001001", None), &[]).unwrap();
    let a2 = store
        .save_plan(&plan("610902001001", Some(a1.id)), &[])
        .unwrap();
    let b1 = store.save_plan(&plan("610902001002", None), &[]).unwrap();
    assert_eq!((a1.number, a2.number, b1.number), (1, 2, 1));
    let versions = store
        .plan_versions("610902001001".parse().unwrap())
        .unwrap();
    assert_eq!(
        versions.iter().map(|v| v.number).collect::<Vec<_>>(),
        vec![1, 2]
    );
    let back = store.plan(a2.id).unwrap().unwrap();
    let mut want = plan("610902001001", Some(a1.id));
    want.version.id = a2.id;
    want.version.number = 2;
    assert_eq!(back, want);
    assert!(store.plan(9999).unwrap().is_none());
    let newest: Vec<i64> = store
        .load()
        .unwrap()
        .plans
        .iter()
        .map(|p| p.version.id)
        .collect();
    assert_eq!(newest, vec![a2.id, b1.id]);
    partition_saves_atoms_and_plan_together(store);
}

/// Atoms and the plan over them are one write: a plan that cannot be
/// saved leaves the old atoms in place.
fn partition_saves_atoms_and_plan_together(store: &dyn Store) {
    let region: crate::domain::RegionCode = "610902001003".parse().unwrap();
    let atom = |id: u32| Atom {
        id,
        region,
        kind: AtomKind::Block,
        geometry: square_with_hole(),
    };
    let mut p = plan("610902001003", None);
    p.atoms = vec![0, 1];
    p.labels = vec![GridLabel([0, 0, 0]), GridLabel([0, 0, 1])];
    let v = store
        .save_partition(
            region,
            &[atom(0), atom(1)],
            &p,
            &audit_entry("planner", "2026-11-24T00:00:00Z"),
            &shapes(1),
        )
        .unwrap();
    assert_eq!(v.number, 1);
    assert_eq!(
        store.plan_grid_shapes(Some(&[v.id])).unwrap().get(&v.id),
        Some(&shapes(1)),
        "the partition's grid shapes are saved with it"
    );
    let atoms_of = |s: &dyn Store| {
        s.load()
            .unwrap()
            .atoms
            .iter()
            .filter(|a| a.region == region)
            .count()
    };
    assert_eq!(atoms_of(store), 2);
    // Labels that do not match the atoms: refused, nothing changed.
    let mut bad = p.clone();
    bad.labels.pop();
    assert!(store
        .save_partition(
            region,
            &[atom(0)],
            &bad,
            &audit_entry("planner", "2026-11-24T00:00:00Z"),
            &shapes(5),
        )
        .is_err());
    let all = store.plan_grid_shapes(None).unwrap();
    assert!(
        all.values().all(|s| *s != shapes(5)),
        "a refused save keeps none of its shapes"
    );
    assert_eq!(atoms_of(store), 2);
    assert_eq!(store.plan_versions(region).unwrap().len(), 1);
}

/// Grid shapes of `n` grids, distinct per `n`.
fn shapes(n: u8) -> Vec<super::PlanGridShape> {
    (1..=n)
        .map(|i| super::PlanGridShape {
            level: i.min(3),
            code: format!("6109020010040010{i}"),
            parent: (i > 1).then(|| "610902001004001".to_string()),
            households: u32::from(i) * 40,
            balance: f64::from(i) / 8.0 - 0.5,
            geometry: square_with_hole(),
        })
        .collect()
}

/// A save and its grid shapes are one write, in every save path: a stale
/// or refused save keeps no shapes, a save that could not evaluate its
/// plan (no shapes) is listed as lacking them.
fn saves_write_their_grid_shapes_atomically(store: &dyn Backend) {
    let shapes_of = |id: i64| {
        store
            .plan_grid_shapes(Some(&[id]))
            .unwrap()
            .remove(&id)
            .unwrap_or_default()
    };
    let a = store
        .save_plan(&plan("610902001004", None), &shapes(3))
        .unwrap();
    assert_eq!(shapes_of(a.id), shapes(3));
    assert!(!store.versions_without_shapes().unwrap().contains(&a.id));
    let line = audit_entry("planner", "2026-11-24T00:00:00Z");
    let audits = store.audit_log(None, None, usize::MAX).unwrap().len();
    let stale = store.save_plan_on(
        &plan("610902001004", Some(a.id)),
        &[],
        a.id - 1,
        &line,
        &shapes(2),
    );
    assert!(matches!(stale, Err(StoreError::Stale { .. })), "{stale:?}");
    let mut published = plan("610902001004", Some(a.id));
    published.version.published = true;
    let b = store
        .save_plan_on(&published, &[], a.id, &line, &shapes(2))
        .unwrap();
    assert_eq!(
        store
            .plan_versions("610902001004".parse().unwrap())
            .unwrap()
            .len(),
        2,
        "the stale save wrote nothing"
    );
    assert_eq!(shapes_of(b.id), shapes(2));
    assert_eq!(
        store.audit_log(None, None, usize::MAX).unwrap().len(),
        audits + 1
    );
    let kept = store.plan_grid_shapes(None).unwrap();
    let mut bad = plan("610902001004", Some(b.id));
    bad.labels.pop();
    assert!(store
        .save_plan_on(&bad, &[], b.id, &line, &shapes(4))
        .is_err());
    assert_eq!(
        store.plan_grid_shapes(None).unwrap(),
        kept,
        "a refused save keeps no shapes"
    );
    let c = store
        .save_plan(&plan("610902001004", Some(b.id)), &[])
        .unwrap();
    assert!(shapes_of(c.id).is_empty());
    assert!(store.versions_without_shapes().unwrap().contains(&c.id));
    store.put_plan_grid_shapes(c.id, &shapes(1)).unwrap();
    assert_eq!(shapes_of(c.id), shapes(1));
    assert!(!store.versions_without_shapes().unwrap().contains(&c.id));
}

/// Shapes count households: an import of households (or regions, atoms)
/// drops them in its own transaction, and a server start measures the
/// plans in force again; an import of other layers keeps them.
fn an_import_of_households_forgets_the_shapes_measured_on_them(store: &dyn Backend) {
    let before = store.plan_grid_shapes(None).unwrap();
    let kept: Vec<i64> = before
        .iter()
        .filter(|(_, s)| !s.is_empty())
        .map(|(v, _)| *v)
        .collect();
    assert!(!kept.is_empty(), "the checks before left shapes");
    let only = |layer: Layer| -> Vec<Record> {
        let rs: Vec<Record> = sample()
            .into_iter()
            .filter(|r| r.layer() == layer)
            .collect();
        assert!(!rs.is_empty());
        rs
    };
    store
        .import(&mut only(Layer::Roads).into_iter().map(Ok))
        .unwrap();
    assert_eq!(
        store.plan_grid_shapes(None).unwrap(),
        before,
        "roads keep them"
    );
    store
        .import(&mut only(Layer::Households).into_iter().map(Ok))
        .unwrap();
    let without = store.versions_without_shapes().unwrap();
    assert!(kept.iter().all(|v| without.contains(v)), "{without:?}");
    assert!(store
        .plan_grid_shapes(None)
        .unwrap()
        .values()
        .all(Vec::is_empty));
    // Measured again (as a server start does), they are kept again.
    for (v, list) in &before {
        store.put_plan_grid_shapes(*v, list).unwrap();
    }
    assert_eq!(store.plan_grid_shapes(None).unwrap(), before);
    // One household written over HTTP drops its region's shapes only.
    let Record::Household(h) = sample()[2].clone() else {
        unreachable!()
    };
    let region = h.region.expect("the sample household is placed");
    let mut p = plan("610902001004", None);
    p.version.region = region;
    let v = store.save_plan(&p, &shapes(2)).unwrap();
    assert!(!store.versions_without_shapes().unwrap().contains(&v.id));
    let line = audit_entry("office", "2026-12-03T00:00:00Z");
    store
        .write_household(&super::changes::HouseholdWrite::Create(h), &line)
        .unwrap();
    let now = store.plan_grid_shapes(None).unwrap();
    assert!(
        now.get(&v.id).is_none_or(Vec::is_empty),
        "{region}'s shapes go"
    );
    for (other, list) in &before {
        assert_eq!(now.get(other), Some(list), "other regions keep theirs");
    }
    // A building written forgets none; a road the regions it names.
    store.put_plan_grid_shapes(v.id, &shapes(2)).unwrap();
    let write = |r: Record, forget: Vec<crate::domain::RegionCode>| super::RecordWrite {
        op: super::RecordOp::Create(r),
        region: Some(region),
        forget,
        forget_stored: false,
    };
    store
        .write_record(&write(sample()[5].clone(), vec![]), &line)
        .unwrap();
    assert_eq!(
        store
            .plan_grid_shapes(Some(&[v.id]))
            .unwrap()
            .get(&v.id)
            .map(Vec::len),
        Some(shapes(2).len())
    );
    store
        .write_record(&write(sample()[4].clone(), vec![region]), &line)
        .unwrap();
    let now = store.plan_grid_shapes(None).unwrap();
    assert!(
        now.get(&v.id).is_none_or(Vec::is_empty),
        "a road's regions' shapes go"
    );
}

fn households_are_found_by_phone_through_the_blind_index(store: &dyn Store) {
    let Record::Household(mut h) = sample()[2].clone() else {
        unreachable!()
    };
    h.id = 0;
    h.phone = "+86 137-0000-1234".into();
    h.head_name = "王五".into();
    store
        .import(&mut std::iter::once(Ok(Record::Household(h))))
        .unwrap();
    let found = store.households_by_phone("13700001234").unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        (found[0].head_name.as_str(), found[0].phone.as_str()),
        ("王五", "+86 137-0000-1234"),
        "found and opened"
    );
    let all = store.load().unwrap().households;
    assert!(all.iter().any(|x| x.id == found[0].id && *x == found[0]));
    // Every household sharing the sample's phone, none other.
    let same = store.households_by_phone("138 1234 5678").unwrap();
    let want: Vec<i64> = all
        .iter()
        .filter(|x| x.phone == "13812345678")
        .map(|x| x.id)
        .collect();
    assert!(!want.is_empty());
    assert_eq!(same.iter().map(|x| x.id).collect::<Vec<_>>(), want);
    assert!(store.households_by_phone("13900000000").unwrap().is_empty());
    assert!(store.households_by_phone("").unwrap().is_empty());
}

fn a_key_rotation_reseals_everything_and_keeps_the_phone_lookup(store: &dyn Store) {
    use crate::sealing::{Key, Sealer};
    let before = store.load().unwrap();
    let old = store.key_id();
    let new = std::sync::Arc::new(Sealer::new(&Key::generate().unwrap()));
    let n = store.rotate_key(new.clone()).unwrap();
    assert_eq!(n as usize, before.households.len() + before.people.len());
    assert_eq!(&store.key_id(), new.key_id());
    assert_ne!(store.key_id(), old);
    assert_eq!(
        store.load().unwrap(),
        before,
        "the same data under the new key"
    );
    assert_eq!(store.households_by_phone("13700001234").unwrap().len(), 1);
}
