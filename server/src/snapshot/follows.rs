//! Proof that the snapshot a write patches equals the one a rebuild reads.
//!
//! A seeded random sequence of 1,000 household and person writes goes the
//! way the HTTP handlers send it (the ledger core decides the record, the
//! store writes it with its audit line, the snapshot cell puts it), and the
//! patched snapshot is compared field by field with one read afresh from
//! the store: layers, paging, extents, region counts, coverage reports and
//! their gaps, and the nearest volunteers.

use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;

use super::{Snapshot, SnapshotCell};
use crate::access::{Caller, Role, Scope};
use crate::domain::{Household, Layer, Person, RegionCode};
use crate::ledger::people::PersonFields;
use crate::ledger::HouseholdFields;
use crate::store::gpkg::GeoPackage;
use crate::store::{HouseholdWrite, PersonWrite, Store};

/// One write of the sequence; `false` when the core refused it (a point
/// in no region, say): refused writes store nothing and are not counted.
fn write(
    rng: &mut Pcg64Mcg,
    store: &GeoPackage,
    cell: &SnapshotCell,
    grids: &[String],
    tally: &mut [usize; 8],
) -> bool {
    let s = cell.load();
    let who = Caller::of_user("office", Role::Office, &[String::new()]);
    let policy = crate::domain::Policy::default();
    let audit = crate::api::auth::entry("office", "write", "test", "-", "");
    let hh: Vec<i64> = s.households.iter().map(|h| h.id).collect();
    let pp: Vec<i64> = s.people.iter().map(|p| p.id).collect();
    // A place inside the city: next to a household already there.
    let near = |rng: &mut Pcg64Mcg| {
        let h = s
            .households
            .get(hh[rng.random_range(0..hh.len())], &Scope::all());
        let p = h.map_or((0.0, 0.0), |h| (h.location.x(), h.location.y()));
        vec![
            p.0 + rng.random_range(-2e-4..2e-4),
            p.1 + rng.random_range(-2e-4..2e-4),
        ]
    };
    let kind = rng.random_range(0..8usize);
    let seq = |layer: Layer, id: i64| store.etag_seq(layer, id).unwrap();
    let put_h = |w: HouseholdWrite, after: Option<Household>| {
        let change = store.write_household(&w, &audit).unwrap();
        let id = change.id.unwrap();
        let stored = after.map(|mut h| {
            h.id = id;
            h
        });
        cell.put_household(id, stored.as_ref());
    };
    let put_p = |w: PersonWrite, after: Option<Person>| {
        let change = store.write_person(&w, &audit).unwrap();
        let id = change.id.unwrap();
        let stored = after.map(|mut p| {
            p.id = id;
            p
        });
        cell.put_person(id, stored.as_ref());
    };
    let pick = |rng: &mut Pcg64Mcg, ids: &[i64]| ids[rng.random_range(0..ids.len())];
    match kind {
        0 => {
            let f = HouseholdFields {
                location: Some(near(rng)),
                size: Some(rng.random_range(1..7)),
                care: Some(rng.random_range(0..3)),
                address: Some(format!("测试路{}号", rng.random_range(1..999))),
                ..HouseholdFields::default()
            };
            let Ok(h) = crate::ledger::create(&s, &policy, &who, &f) else {
                return false;
            };
            put_h(HouseholdWrite::Create(h.clone()), Some(h));
        }
        1 | 2 => {
            let before = s.households.get(pick(rng, &hh), &Scope::all()).unwrap();
            let f = if kind == 1 {
                HouseholdFields {
                    size: Some(rng.random_range(1..7)),
                    care: Some(rng.random_range(0..3)),
                    ..HouseholdFields::default()
                }
            } else {
                // A move, often to another community.
                HouseholdFields {
                    location: Some(near(rng)),
                    ..HouseholdFields::default()
                }
            };
            let Ok(after) = crate::ledger::update(&s, &policy, &who, before, &f) else {
                return false;
            };
            let expect = seq(Layer::Households, before.id);
            put_h(
                HouseholdWrite::Update {
                    household: after.clone(),
                    expect,
                },
                Some(after),
            );
        }
        3 => {
            let before = s.households.get(pick(rng, &hh), &Scope::all()).unwrap();
            let expect = seq(Layer::Households, before.id);
            put_h(
                HouseholdWrite::Delete {
                    id: before.id,
                    region: before.region,
                    expect,
                },
                None,
            );
        }
        4 => {
            let f = PersonFields {
                location: Some(near(rng)),
                roles: Some(vec!["full_time_worker".into()]),
                name: Some(format!("测试{}", rng.random_range(0..99))),
                ..PersonFields::default()
            };
            let Ok(p) = crate::ledger::people::create(&s, &who, &f) else {
                return false;
            };
            put_p(PersonWrite::Create(p.clone()), Some(p));
        }
        5 | 6 => {
            let before = s.people.get(pick(rng, &pp), &Scope::all()).unwrap();
            let after = if kind == 5 {
                let f = PersonFields {
                    location: Some(near(rng)),
                    available: Some(rng.random_bool(0.5)),
                    ..PersonFields::default()
                };
                crate::ledger::people::update(&s, &who, before, &f)
            } else {
                let n = rng.random_range(0..3);
                let codes: Vec<String> = (0..n)
                    .map(|_| grids[rng.random_range(0..grids.len())].clone())
                    .collect();
                crate::ledger::people::assign(&s, &who, before, &codes)
            };
            let Ok(after) = after else { return false };
            let expect = seq(Layer::People, before.id);
            put_p(
                PersonWrite::Update {
                    person: after.clone(),
                    expect,
                },
                Some(after),
            );
        }
        _ => {
            let before = s.people.get(pick(rng, &pp), &Scope::all()).unwrap();
            let expect = seq(Layer::People, before.id);
            put_p(
                PersonWrite::Delete {
                    id: before.id,
                    region: before.region,
                    expect,
                },
                None,
            );
        }
    }
    tally[kind] += 1;
    true
}

/// Every figure a reader may ask of `a` and `b` that must agree; the
/// first difference, named, when one does not.
fn differ(a: &Snapshot, b: &Snapshot) -> Option<String> {
    let all = Scope::all();
    let eq = |what: &str, x: String, y: String| (x != y).then(|| format!("{what}: {x} != {y}"));
    let hh = |s: &Snapshot| s.households.iter().cloned().collect::<Vec<_>>();
    if hh(a) != hh(b) {
        let (x, y) = (hh(a), hh(b));
        let first = x.iter().zip(&y).find(|(p, q)| p != q);
        return Some(format!(
            "households differ ({} vs {}), first: {first:?}",
            x.len(),
            y.len()
        ));
    }
    let pp = |s: &Snapshot| s.people.iter().cloned().collect::<Vec<_>>();
    if pp(a) != pp(b) {
        let (x, y) = (pp(a), pp(b));
        let first = x.iter().zip(&y).find(|(p, q)| p != q);
        return Some(format!("people differ, first: {first:?}"));
    }
    let ids = |p: super::Page<&Household>| {
        format!(
            "{} {:?}",
            p.matched,
            p.items.iter().map(|h| h.id).collect::<Vec<_>>()
        )
    };
    for r in a.regions.items() {
        let code = r.code;
        if let Some(d) = eq(
            &format!("counts of {code}"),
            format!("{:?}", a.region_counts(code)),
            format!("{:?}", b.region_counts(code)),
        ) {
            return Some(d);
        }
        let scope = Scope::prefixes([code.significant()]);
        let bbox = geo::BoundingRect::bounding_rect(&r.boundary);
        let checks = [
            (
                "page",
                ids(a.households.query(None, &scope, 3, 20)),
                ids(b.households.query(None, &scope, 3, 20)),
            ),
            (
                "bbox",
                ids(a.households.query(bbox, &all, 1, 50)),
                ids(b.households.query(bbox, &all, 1, 50)),
            ),
            (
                "extent",
                format!("{:?}", a.households.extent(&scope)),
                format!("{:?}", b.households.extent(&scope)),
            ),
            (
                "people extent",
                format!("{:?}", a.people.extent(&scope)),
                format!("{:?}", b.people.extent(&scope)),
            ),
        ];
        for (what, x, y) in checks {
            if let Some(d) = eq(&format!("{what} of {code}"), x, y) {
                return Some(d);
            }
        }
    }
    None
}

/// Coverage reports and gaps of every top region, as the API sends them.
fn coverage(s: &Snapshot, tops: &[RegionCode]) -> Vec<String> {
    let policy = crate::domain::Policy::default();
    tops.iter()
        .map(|&code| {
            let opts = crate::coverage::Options::default();
            let (r, _) = crate::coverage::region::analyse(s, &policy, code, &Scope::all(), opts, 0);
            let gaps = crate::coverage::export::geojson(&r).to_string();
            format!("{}\n{gaps}", serde_json::to_value(&r).unwrap())
        })
        .collect()
}

/// Where two reports part, with some context.
fn first_difference(x: &str, y: &str) -> String {
    let at = x.bytes().zip(y.bytes()).take_while(|(a, b)| a == b).count();
    let from = at.saturating_sub(200);
    let cut = |s: &str| {
        s.get(from..(at + 200).min(s.len()))
            .unwrap_or("")
            .to_string()
    };
    format!("kept:  …{}…\nfresh: …{}…", cut(x), cut(y))
}

/// The ids of the nearest volunteers from a few points.
fn nearest(s: &Snapshot) -> Vec<Vec<i64>> {
    let people = s.people.items();
    s.households
        .iter()
        .step_by(97)
        .take(20)
        .map(|h| {
            let f = crate::emergency::Filter::default();
            s.emergency
                .nearest(people, h.location.0, 5, None, &f, false, &Scope::all())
                .iter()
                .map(|x| people[x.person].id)
                .collect()
        })
        .collect()
}

#[test]
fn a_thousand_random_writes_leave_the_snapshot_a_rebuild_would_read() {
    let city = crate::generate::generate(
        crate::generate::Params {
            households: 3_000,
            seed: 20,
        },
        &mut |_| {},
    );
    let grids: Vec<String> = city.grids.iter().map(|g| g.code.to_string()).collect();
    let tops: Vec<RegionCode> = city
        .regions
        .iter()
        .filter(|r| r.parent.is_none())
        .map(|r| r.code)
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let store = GeoPackage::open(dir.path().join("city.gpkg")).unwrap();
    store.import(&mut city.into_records().map(Ok)).unwrap();
    let cell = SnapshotCell::new(Snapshot::from_store(&store).unwrap());
    let mut rng = Pcg64Mcg::seed_from_u64(2020);
    let mut tally = [0usize; 8];
    let mut done = 0;
    // Coverage is read from the start, so the analyses the snapshot keeps
    // follow every write; they must never be made afresh again.
    coverage(&cell.load(), &tops);
    let made = cell.load().analyses().made();
    assert_eq!(made, tops.len() as u64, "one kept analysis per region read");
    while done < 1_000 {
        if !write(&mut rng, &store, &cell, &grids, &mut tally) {
            continue;
        }
        done += 1;
        if done % 10 == 0 {
            coverage(&cell.load(), &tops);
        }
        // Checked along the way too: a drift is caught near its write.
        if done % 250 == 0 {
            let now = cell.load();
            let rebuilt = Snapshot::from_store(&store).unwrap();
            if let Some(d) = differ(&now, &rebuilt) {
                panic!("after {done} writes ({tally:?}): {d}");
            }
            let (x, y) = (coverage(&now, &tops), coverage(&rebuilt, &tops));
            for (i, (x, y)) in x.iter().zip(&y).enumerate() {
                assert!(
                    x == y,
                    "after {done} writes, coverage of {} differs:\n{}",
                    tops[i],
                    first_difference(x, y)
                );
            }
        }
    }
    assert_eq!(
        cell.load().analyses().made(),
        made,
        "writes followed, never analysed afresh"
    );
    assert!(
        tally.iter().all(|&n| n > 50),
        "every kind of write ran: {tally:?}"
    );
    let now = cell.load();
    let rebuilt = Snapshot::from_store(&store).unwrap();
    assert!(
        differ(&now, &rebuilt).is_none(),
        "{:?}",
        differ(&now, &rebuilt)
    );
    assert_eq!(nearest(&now), nearest(&rebuilt), "nearest volunteers");
    let (x, y) = (coverage(&now, &tops), coverage(&rebuilt, &tops));
    for (i, (x, y)) in x.iter().zip(&y).enumerate() {
        assert!(x == y, "coverage of {} differs", tops[i]);
    }
}
