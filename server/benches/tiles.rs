//! In-process figures for vector tiles: cutting a cold tile (render,
//! encode, gzip, digest) per source and zoom 10-16 on a store given by
//! `WANGGE_BENCH_TILES_STORE` (the partitioned 349,028-household city that
//! `scripts/bench tiles` writes), without HTTP, and where the time goes.
//! Prints figures, asserts nothing.

use std::sync::Arc;

/// The allocator the server runs with (server/src/main.rs).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::time::Instant;

use wangge::access::projection::Detail;
use wangge::access::Scope;
use wangge::domain::Policy;
use wangge::snapshot::Snapshot;
use wangge::tiles::mvt::Frame;
use wangge::tiles::{Source, TileCache};

fn tile_of(z: u8, lon: f64, lat: f64) -> (u32, u32) {
    let n = f64::from(1u32 << z);
    let r = lat.to_radians();
    let y = (1.0 - (r.tan() + 1.0 / r.cos()).ln() / std::f64::consts::PI) / 2.0 * n;
    (((lon + 180.0) / 360.0 * n) as u32, y as u32)
}

fn pct(xs: &mut [f64], p: f64) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[((p / 100.0) * (xs.len() - 1) as f64).round() as usize]
}

fn main() -> anyhow::Result<()> {
    let Ok(path) = std::env::var("WANGGE_BENCH_TILES_STORE") else {
        println!(
            "WANGGE_BENCH_TILES_STORE is not set: no tile figures (scripts/bench tiles sets it)"
        );
        return Ok(());
    };
    let t = Instant::now();
    let store = wangge::store::open(&path)?;
    let s = Arc::new(Snapshot::build(store.load()?));
    println!(
        "snapshot: {} households in {:.0} ms",
        s.households.len(),
        t.elapsed().as_secs_f64() * 1000.0
    );
    let cache = TileCache::new(Arc::new(Policy::default()));
    let t = Instant::now();
    cache.warm_grids(&s);
    println!(
        "grids of every region evaluated in {:.0} ms",
        t.elapsed().as_secs_f64() * 1000.0
    );
    // Each tile is cut this many times (for steadier figures and profiles).
    let rounds: usize = std::env::var("WANGGE_BENCH_TILES_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    // Tiles where people live: a spread of households, as the HTTP bench.
    let hs = s.households.items();
    let step = (hs.len() / 400).max(1);
    let scope = Scope::all();
    for source in [Source::Grids, Source::Basemap] {
        for z in 10u8..=16 {
            let mut seen: Vec<(u32, u32)> = Vec::new();
            for h in hs.iter().step_by(step) {
                let t = tile_of(z, h.location.x(), h.location.y());
                if !seen.contains(&t) {
                    seen.push(t);
                }
                if seen.len() >= 40 {
                    break;
                }
            }
            let mut cut = Vec::new();
            let mut render = Vec::new();
            let mut bytes = 0usize;
            for &(x, y) in seen.iter().cycle().take(seen.len() * rounds) {
                let frame = Frame::new(z, x, y).expect("tile in range");
                cache.clear_tiles();
                let t = Instant::now();
                let (tile, _) = cache.get(&s, source, frame, &scope);
                cut.push(t.elapsed().as_secs_f64() * 1000.0);
                bytes += tile.gzip.len();
                let t = Instant::now();
                let layers = cache.layers(&s, source, &frame, &scope, Detail::Individuals);
                render.push(t.elapsed().as_secs_f64() * 1000.0);
                drop(layers);
            }
            let n = cut.len();
            println!(
                "{:8} z{z:<2} {:3} tiles  cut p50 {:6.2} ms p99 {:6.2} ms  (render alone p50 {:6.2} ms; gzip {:5.1} KiB)",
                source.as_str(),
                seen.len(),
                pct(&mut cut, 50.0),
                pct(&mut cut, 99.0),
                pct(&mut render, 50.0),
                bytes as f64 / n.max(1) as f64 / 1024.0
            );
        }
    }
    Ok(())
}
