//! In-process figures for the foundation: building the snapshot's indexes
//! over 1,000,000 households, placing points in 400 regions, and bbox
//! queries. Run by `scripts/bench foundation` (or `cargo bench --bench
//! foundation`); prints figures, asserts nothing.

use std::time::Instant;

use geo_types::{coord, Point, Rect};
use wangge::access::Scope;
use wangge::domain::Dataset;
use wangge::domain::{CareLevel, Household, Region, RegionCode, SensitiveFlags};
use wangge::snapshot::Snapshot;
use wangge::spatial::placement::RegionIndex;

const N: usize = 1_000_000;
const SIDE: usize = 20;
const CELL: f64 = 0.01;
const LON0: f64 = 109.0;
const LAT0: f64 = 32.65;

/// A deterministic LCG in [0, 1): figures must not depend on a seed crate.
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

fn regions() -> Vec<Region> {
    let mut out = Vec::new();
    for r in 0..SIDE {
        for c in 0..SIDE {
            let (x0, y0) = (LON0 + c as f64 * CELL, LAT0 + r as f64 * CELL);
            let rect = Rect::new(
                coord! { x: x0, y: y0 },
                coord! { x: x0 + CELL, y: y0 + CELL },
            );
            out.push(Region {
                code: format!("610902{:03}{:03}", r + 1, c + 1).parse().unwrap(),
                name: format!("社区{r}-{c}"),
                parent: None,
                boundary: rect.to_polygon().into(),
            });
        }
    }
    out
}

fn main() {
    let regions = regions();
    let mut rnd = Lcg(1);
    let span = SIDE as f64 * CELL;
    let points: Vec<Point<f64>> = (0..N)
        .map(|_| Point::new(LON0 + rnd.next() * span, LAT0 + rnd.next() * span))
        .collect();

    let t = Instant::now();
    let index = RegionIndex::new(
        &regions
            .iter()
            .map(|r| (r.code, r.boundary.clone()))
            .collect::<Vec<_>>(),
    );
    let placed: Vec<Option<RegionCode>> = points.iter().map(|p| index.locate(*p)).collect();
    let secs = t.elapsed().as_secs_f64();
    println!(
        "point-in-region placement: {N} points in {} regions in {secs:.2} s = {:.0} points/s ({} placed)",
        regions.len(),
        N as f64 / secs,
        placed.iter().filter(|p| p.is_some()).count()
    );

    let households: Vec<Household> = points
        .iter()
        .zip(&placed)
        .enumerate()
        .map(|(i, (p, r))| Household {
            id: i as i64 + 1,
            location: *p,
            size: 3,
            care: CareLevel(0),
            flags: SensitiveFlags::default(),
            building: None,
            address: String::new(),
            head_name: String::new(),
            phone: String::new(),
            region: *r,
            estimated: false,
        })
        .collect();
    let data = Dataset {
        regions,
        households,
        ..Dataset::default()
    };
    let t = Instant::now();
    let snapshot = Snapshot::build(data);
    println!(
        "snapshot index build: {N} households in {:.2} s",
        t.elapsed().as_secs_f64()
    );

    let scope = Scope::all();
    let t = Instant::now();
    let mut found = 0usize;
    let queries = 10_000;
    for q in 0..queries {
        let x = LON0 + (q % 100) as f64 * span / 100.0;
        let y = LAT0 + (q / 100) as f64 * span / 100.0;
        let r = Rect::new(coord! { x: x, y: y }, coord! { x: x + 0.002, y: y + 0.002 });
        found += snapshot
            .households
            .query(Some(r), &scope, 0, 100)
            .items
            .len();
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "bbox query (200 m square, first 100 of ~{} matches): {:.1} µs per query",
        found / queries,
        secs * 1e6 / queries as f64
    );
}
