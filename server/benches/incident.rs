//! In-process figure for an incident's live tally (issue 22: ≤ 50 ms over
//! 50,000 households): a 3 × 3 km flooded area holding 50,000 households
//! in 100 communities and 3 levels of grids (4 + 36 + 324), 20,000 of them
//! marked, two area versions; once with the usual share of vulnerable
//! households (15 %) and once with every household vulnerable (the worst
//! case). Run by `scripts/bench incident`; prints figures, asserts nothing.

use std::time::Instant;

use geo_types::{polygon, MultiPolygon, Point};
use serde_json::json;
use wangge::access::Caller;
use wangge::cancel::Cancel;
use wangge::domain::{
    Availability, CareLevel, Dataset, GridCode, Household, ImportedGrid, Level, Person, Region,
    Role, SensitiveFlags,
};
use wangge::incident::tally::tally;
use wangge::incident::{
    AreaVersion, ContactStatus, HouseholdStatus, Incident, IncidentKind, IncidentStatus,
};
use wangge::snapshot::Snapshot;

struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

const X0: f64 = 109.0;
const Y0: f64 = 32.7;
/// About 3 km in both directions at this latitude.
const SPAN: f64 = 0.03;

fn square(x: f64, y: f64, w: f64) -> MultiPolygon<f64> {
    MultiPolygon(vec![polygon![
        (x: x, y: y), (x: x + w, y: y), (x: x + w, y: y + w), (x: x, y: y + w), (x: x, y: y),
    ]])
}

/// `n` × `n` squares over the area, as grids of `level`.
fn grids(level: u8, n: usize, first: i64) -> Vec<ImportedGrid> {
    let w = SPAN / n as f64;
    (0..n * n)
        .map(|k| {
            let (i, j) = (k % n, k / n);
            ImportedGrid {
                id: first + k as i64,
                region: "610902001001".parse().unwrap(),
                level: Level::new(level).unwrap(),
                code: GridCode(format!("L{level}-{k:04}")),
                name: format!("{level}级网格{k}"),
                parent: None,
                geometry: square(X0 + i as f64 * w, Y0 + j as f64 * w, w),
            }
        })
        .collect()
}

/// Community `k` (0 to 99): street 1 to 10, community 1 to 10.
fn community(k: usize) -> wangge::domain::RegionCode {
    format!("610902{:03}{:03}", 1 + k / 10, 1 + k % 10)
        .parse()
        .unwrap()
}

fn city(households: usize, vulnerable: f64) -> Snapshot {
    let mut rnd = Lcg(22);
    let mut d = Dataset::default();
    let w = SPAN / 10.0;
    for k in 0..100 {
        d.regions.push(Region {
            code: community(k),
            name: format!("社区{k}"),
            parent: None,
            boundary: square(X0 + (k % 10) as f64 * w, Y0 + (k / 10) as f64 * w, w),
        });
    }
    d.grids.extend(grids(1, 2, 1));
    d.grids.extend(grids(2, 6, 100));
    d.grids.extend(grids(3, 18, 1000));
    for id in 0..households {
        let (x, y) = (rnd.next() * SPAN, rnd.next() * SPAN);
        let c = (x / w) as usize % 10 + 10 * ((y / w) as usize % 10);
        let care = if rnd.next() < vulnerable {
            1 + u8::from(rnd.next() < 0.3)
        } else {
            0
        };
        d.households.push(Household {
            id: id as i64 + 1,
            location: Point::new(X0 + x, Y0 + y),
            size: 2,
            care: CareLevel(care),
            flags: SensitiveFlags::default(),
            building: None,
            address: format!("地址{id}"),
            head_name: format!("户主{id}"),
            phone: String::new(),
            region: Some(community(c)),
            estimated: false,
        });
    }
    for id in 0..5_000 {
        d.people.push(Person {
            id: id + 1,
            name: String::new(),
            phone: String::new(),
            roles: vec![Role::Volunteer],
            team: None,
            skills: vec![],
            status: Availability::OnDuty,
            checkin: None,
            reserve: true,
            home: Point::new(X0 - 0.01 + rnd.next() * 0.05, Y0 - 0.01 + rnd.next() * 0.05),
            grids: vec![],
            region: Some("610902001001".parse().unwrap()),
        });
    }
    Snapshot::build(d)
}

fn incident() -> Incident {
    let area = |w: f64| {
        let g = geojson::Geometry::from(&square(X0 - 0.001, Y0 - 0.001, w).0[0]);
        json!({ "polygon": g })
    };
    Incident {
        id: 1,
        title: "暴雨".into(),
        kind: IncidentKind::Flood,
        status: IncidentStatus::Open,
        opened_by: "em".into(),
        opened_at: "2026-07-01T17:00:00Z".into(),
        closed_at: None,
        areas: vec![
            AreaVersion {
                version: 1,
                at: "2026-07-01T17:00:00Z".into(),
                by: "em".into(),
                area: area(SPAN / 2.0),
            },
            AreaVersion {
                version: 2,
                at: "2026-07-01T18:00:00Z".into(),
                by: "em".into(),
                area: area(SPAN + 0.002),
            },
        ],
    }
}

fn main() {
    let names: Vec<String> = ["一般户", "关心户", "连心户"].map(String::from).to_vec();
    let caller = Caller::cli();
    let i = incident();
    let now = time::OffsetDateTime::now_utc();
    for (label, share) in [("15 % vulnerable", 0.15), ("all vulnerable", 1.0)] {
        let s = city(50_000, share);
        let statuses: Vec<HouseholdStatus> = (0..20_000)
            .map(|k| HouseholdStatus {
                household: k * 2 + 1,
                status: ContactStatus::ALL[(k % 6) as usize],
                note: String::new(),
                by: "em".into(),
                at: "2026-07-01T18:30:00Z".into(),
                version: 1,
            })
            .collect();
        let run = || {
            let t0 = Instant::now();
            let t = tally(
                &s,
                &i,
                &statuses,
                &caller,
                &names,
                now,
                200,
                &Cancel::never(),
            )
            .unwrap();
            (t0.elapsed().as_secs_f64() * 1000.0, t)
        };
        let (_, t) = run();
        let mut ms: Vec<f64> = (0..9).map(|_| run().0).collect();
        ms.sort_by(f64::total_cmp);
        println!(
            "incident tally, 50,000 households in the area ({label}: {} tallied, {} waiting, {} grids, {} communities): median {:.1} ms (min {:.1}, max {:.1}, 9 runs)",
            t.vulnerable.total,
            t.waiting_total,
            t.by_grid.len(),
            t.by_community.len(),
            ms[4],
            ms[0],
            ms[8]
        );
    }
}
