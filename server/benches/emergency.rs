//! In-process figures for emergency answers: k = 10 nearest available
//! reserve volunteers with a skill filter over 1,000,000 people, and an
//! exact dispatch plan for 500 households × 2,000 volunteers and for
//! 2,000 × 5,000 (a flood night's re-plan). Run by
//! `scripts/bench emergency`; prints figures, asserts nothing.

use std::time::Instant;

use geo_types::{coord, Coord, Point, Rect};
use wangge::access::Scope;
use wangge::domain::{Person, Role};
use wangge::emergency::dispatch::{assign, Demand};
use wangge::emergency::{EmergencyIndex, Filter};
use wangge::generate::SKILLS;

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

fn main() {
    let n = 1_000_000;
    let mut rnd = Lcg(7);
    // A city of about 20 × 20 km near Ankang.
    let (x0, y0, span) = (108.90, 32.60, 0.2);
    let people: Vec<Person> = (0..n)
        .map(|i| {
            let k = 1 + (rnd.next() * 3.0) as usize;
            let skills = (0..k)
                .map(|_| SKILLS[(rnd.next() * 7.0) as usize].to_string())
                .collect();
            Person {
                id: i as i64 + 1,
                name: String::new(),
                phone: String::new(),
                roles: vec![Role::Volunteer],
                team: None,
                skills,
                status: wangge::domain::Availability::from_available(rnd.next() < 0.85),
                checkin: None,
                reserve: rnd.next() < 0.7,
                home: Point::new(x0 + rnd.next() * span, y0 + rnd.next() * span),
                grids: Vec::new(),
                region: None,
            }
        })
        .collect();
    let t = Instant::now();
    let extent = Rect::new(
        coord! { x: x0, y: y0 },
        coord! { x: x0 + span, y: y0 + span },
    );
    let index = EmergencyIndex::build(&people, &[], Some(extent));
    println!(
        "emergency index over {n} people: {:.2} s",
        t.elapsed().as_secs_f64()
    );

    let filter = Filter {
        skills: vec!["医护".into()],
        team: None,
        reserve: Some(true),
    };
    let scope = Scope::all();
    let mut times = Vec::with_capacity(10_000);
    let mut found = 0;
    for _ in 0..10_000 {
        let at = Coord {
            x: x0 + rnd.next() * span,
            y: y0 + rnd.next() * span,
        };
        let t = Instant::now();
        let r = index.nearest(&people, at, 10, None, &filter, false, &scope);
        times.push(t.elapsed().as_secs_f64() * 1e6);
        found += r.len();
    }
    times.sort_by(f64::total_cmp);
    println!(
        "nearest k=10, skill 医护, reserve, available, over {n} people: p50 {:.1} µs, p99 {:.1} µs ({} found per query)",
        times[times.len() / 2],
        times[times.len() * 99 / 100],
        found / 10_000
    );

    // 500 households × 2,000 volunteers (issue 8), and 2,000 × 5,000, the
    // size of a re-plan over a flood night's unserved households (issue
    // 22); capacity 3, straight-line metres, travel to every volunteer
    // included in the time.
    for (households, volunteers, side) in [(500, 2000, 3000.0), (2000, 5000, 6000.0)] {
        dispatch_plan(&mut rnd, households, volunteers, side);
    }
}

/// One exact dispatch plan over random points in a `side`-metre square:
/// the travel table and the assignment, timed apart and together.
fn dispatch_plan(rnd: &mut Lcg, households: usize, volunteers: usize, side: f64) {
    let vols: Vec<(f64, f64)> = (0..volunteers)
        .map(|_| (rnd.next() * side, rnd.next() * side))
        .collect();
    let points: Vec<(f64, f64)> = (0..households)
        .map(|_| (rnd.next() * side, rnd.next() * side))
        .collect();
    let t = Instant::now();
    let demands: Vec<Demand> = points
        .iter()
        .enumerate()
        .map(|(i, &(x, y))| Demand {
            priority: if i % 3 == 0 { 2 } else { 1 },
            travel: vols
                .iter()
                .enumerate()
                .map(|(j, v)| (j, (v.0 - x).hypot(v.1 - y)))
                .collect(),
        })
        .collect();
    let table = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let got =
        assign(&demands, vols.len(), 3, &wangge::cancel::Cancel::never()).expect("never cancelled");
    let flow = t.elapsed().as_secs_f64();
    println!(
        "dispatch plan, exact min-cost flow, {households} households × {volunteers} volunteers (capacity 3): {flow:.3} s, {} served (with the travel table: {:.3} s)",
        got.iter().filter(|g| g.is_some()).count(),
        table + flow
    );
}
