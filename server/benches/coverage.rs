//! Coverage figures on the generated Ankang-sized city (349,028
//! households, its hand-drawn grids and staff): the whole analysis, the
//! reach pass by straight line and along roads, and one incremental update
//! after a staff change and after a grid edit. Run by
//! `scripts/bench coverage`; prints figures, asserts nothing.

use std::time::Instant;

use wangge::access::Scope;
use wangge::coverage::{Analysis, Inputs, Options};
use wangge::domain::{Policy, Role};
use wangge::emergency::EmergencyIndex;
use wangge::generate::{generate, Params};

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

#[allow(
    clippy::too_many_lines,
    reason = "a benchmark is one script of measured steps"
)]
fn main() {
    let households = std::env::var("WANGGE_BENCH_COVERAGE_HOUSEHOLDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(349_028);
    let t = Instant::now();
    let g = generate(
        Params {
            households,
            seed: 1,
        },
        &mut |_| {},
    );
    println!(
        "generated city: {} households, {} grids, {} people in {:.0} ms",
        g.households.len(),
        g.grids.len(),
        g.people.len(),
        ms(t)
    );
    let t = Instant::now();
    let e = EmergencyIndex::build(&g.people, &g.roads, None);
    println!("walking network and people index: {:.0} ms", ms(t));
    let input = Inputs {
        regions: &g.regions,
        grids: &g.grids,
        households: &g.households,
        people: &g.people,
        water: &g.water,
        buildings: &g.buildings,
        walking: e.walking_shared(),
    };
    let policy = Policy::default();
    let line = Options {
        by_road: false,
        ..Options::default()
    };
    let t = Instant::now();
    let mut a = Analysis::new(&input, &policy, line);
    let full_line = ms(t);
    let t = Instant::now();
    let r = a.report(None, &Scope::all());
    let report_ms = ms(t);
    println!(
        "full coverage (geometry, placement, staffing, straight-line reach): {full_line:.0} ms; report over the city {report_ms:.0} ms; {} findings, {} grids",
        r.findings.len(),
        r.grids.len()
    );
    let t = Instant::now();
    let n = a.reach_all();
    println!(
        "straight-line reach of {n} vulnerable households: {:.1} ms",
        ms(t)
    );

    let t = Instant::now();
    let mut road = Analysis::new(&input, &policy, Options::default());
    let full_road = ms(t);
    let t = Instant::now();
    let n = road.reach_all();
    println!(
        "network reach (line and road) of {n} vulnerable households: {:.0} ms; full coverage with it: {full_road:.0} ms",
        ms(t)
    );
    let r = road.report(None, &Scope::all());
    println!(
        "reached: {:.1}% by straight line, {:.1}% by road; land in grids {:.2}%; grids staffed {:.1}%",
        r.region.reached_pct,
        r.region.reached_by_road_pct.unwrap_or(0.0),
        r.region.land_covered_pct,
        r.region.grids_staffed_pct
    );

    // One staff change: a part-time worker moves to another grid.
    let mut p = g
        .people
        .iter()
        .find(|p| p.roles.contains(&Role::PartTimeWorker))
        .expect("a worker")
        .clone();
    p.grids = vec![g
        .grids
        .iter()
        .rev()
        .find(|x| x.level.get() == 3)
        .unwrap()
        .code
        .clone()];
    let mut times = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        let touched = road.update_person(&p);
        times.push((ms(t), touched.len()));
    }
    times.sort_by(|a, b| a.0.total_cmp(&b.0));
    println!(
        "incremental, one staff change (with road reach): median {:.3} ms, {} grids recomputed",
        times[10].0, times[10].1
    );
    // One grid edit: a level-3 grid redrawn 5 m larger.
    let mut edit = g.grids.iter().find(|x| x.level.get() == 3).unwrap().clone();
    edit.geometry = geo::MapCoords::map_coords(
        &edit.geometry,
        |c| geo_types::coord! { x: c.x + 0.00003, y: c.y },
    );
    let mut times = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        let touched = road.update_grid(edit.clone());
        times.push((ms(t), touched.len()));
    }
    times.sort_by(|a, b| a.0.total_cmp(&b.0));
    println!(
        "incremental, one grid edit (with road reach): median {:.2} ms, {} grids recomputed",
        times[10].0, times[10].1
    );
}
