//! GCJ-02 and BD-09 against the libraries people use: npm's `gcoord` and
//! PyPI's `prcoords` (installed by scripts/test from tests/package.json and
//! tests/requirements.txt). 10,000 pseudo-random points across China; the
//! forward conversions must agree to 1e-9°, every inverse must round-trip
//! to 1e-7°, and points outside China must come back unchanged.

use std::io::Write;
use std::process::{Command, Stdio};

use geo_types::Coord;
use serde_json::Value;
use wangge::spatial::crs::{
    bd09_to_gcj02, bd09_to_gcj02_published, bd09_to_wgs84, gcj02_to_bd09, gcj02_to_wgs84,
    wgs84_to_bd09, wgs84_to_gcj02, Crs,
};

use crate::common::repo_root;

/// Deterministic points: a 64-bit LCG, no seed crate.
fn points(n: usize, lon: (f64, f64), lat: (f64, f64), seed: u64) -> Vec<Coord<f64>> {
    let mut s = seed;
    let mut next = || {
        s = s
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (s >> 11) as f64 / (1u64 << 53) as f64
    };
    (0..n)
        .map(|_| Coord {
            x: lon.0 + next() * (lon.1 - lon.0),
            y: lat.0 + next() * (lat.1 - lat.0),
        })
        .collect()
}

/// Runs a reference script with the points on stdin.
fn reference(cmd: &mut Command, what: &str, pts: &[Coord<f64>]) -> Value {
    let input = serde_json::to_string(&pts.iter().map(|c| [c.x, c.y]).collect::<Vec<_>>()).unwrap();
    let mut child = cmd
        .current_dir(repo_root().join("tests"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{what} cannot run ({e}): run scripts/test, which installs it"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{what} failed (install it with scripts/test): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn gcoord(pts: &[Coord<f64>]) -> Value {
    reference(
        Command::new("node").arg("reference/gcoord.mjs"),
        "node with npm gcoord (tests/package.json)",
        pts,
    )
}

fn prcoords(pts: &[Coord<f64>]) -> Value {
    let python = std::env::var("WANGGE_PYTHON").unwrap_or_else(|_| "python3".into());
    reference(
        Command::new(python).arg("reference/prcoords_ref.py"),
        "python with PyPI prcoords (tests/requirements.txt)",
        pts,
    )
}

/// The largest coordinate difference between ours and a library's answer.
fn worst(pts: &[Coord<f64>], theirs: &Value, ours: impl Fn(Coord<f64>) -> Coord<f64>) -> f64 {
    pts.iter()
        .zip(theirs.as_array().unwrap())
        .map(|(p, t)| {
            let o = ours(*p);
            (o.x - t[0].as_f64().unwrap())
                .abs()
                .max((o.y - t[1].as_f64().unwrap()).abs())
        })
        .fold(0.0, f64::max)
}

fn china() -> Vec<Coord<f64>> {
    points(10_000, (73.5, 134.8), (18.0, 53.5), 2026)
}

#[test]
fn forward_conversions_agree_with_gcoord_and_prcoords() {
    let pts = china();
    for (name, lib) in [("gcoord", gcoord(&pts)), ("prcoords", prcoords(&pts))] {
        let a = worst(&pts, &lib["wgs_to_gcj"], wgs84_to_gcj02);
        assert!(a <= 1e-9, "WGS-84 → GCJ-02 differs from {name} by {a:e}°");
        let b = worst(&pts, &lib["gcj_to_bd"], gcj02_to_bd09);
        assert!(b <= 1e-9, "GCJ-02 → BD-09 differs from {name} by {b:e}°");
        let c = worst(&pts, &lib["bd_to_gcj"], bd09_to_gcj02_published);
        assert!(
            c <= 1e-9,
            "BD-09 → GCJ-02 (published) differs from {name} by {c:e}°"
        );
        eprintln!(
            "{name}: worst differences on {} points: WGS→GCJ {a:e}°, GCJ→BD {b:e}°, BD→GCJ {c:e}°",
            pts.len()
        );
    }
}

#[test]
fn every_inverse_round_trips() {
    let pts = china();
    let round = |fwd: fn(Coord<f64>) -> Coord<f64>, inv: fn(Coord<f64>) -> Coord<f64>| {
        pts.iter()
            .map(|p| {
                let back = inv(fwd(*p));
                (back.x - p.x).abs().max((back.y - p.y).abs())
            })
            .fold(0.0, f64::max)
    };
    let w = round(wgs84_to_gcj02, gcj02_to_wgs84);
    assert!(w <= 1e-7, "GCJ-02 inverse: {w:e}°");
    let w = round(wgs84_to_bd09, bd09_to_wgs84);
    assert!(w <= 1e-7, "BD-09 → WGS-84 inverse: {w:e}°");
    let w = round(gcj02_to_bd09, bd09_to_gcj02);
    assert!(w <= 1e-7, "BD-09 → GCJ-02 inverse: {w:e}°");
    // And through the import path.
    for p in pts.iter().take(1000) {
        let back = Crs::Gcj02.to_wgs84(wgs84_to_gcj02(*p));
        assert!((back.x - p.x).abs() <= 1e-7 && (back.y - p.y).abs() <= 1e-7);
    }
}

#[test]
fn points_outside_china_come_back_unchanged() {
    let mut pts = points(70, (-10.0, 30.0), (35.0, 60.0), 1); // Europe
    pts.extend(points(70, (138.0, 150.0), (30.0, 45.0), 2)); // Japan, east of 137.8347
    pts.extend(points(60, (95.0, 120.0), (-10.0, 0.8), 3)); // south of 0.8293
    for p in &pts {
        for f in [wgs84_to_gcj02, gcj02_to_wgs84, wgs84_to_bd09, bd09_to_wgs84] {
            assert_eq!(f(*p), *p);
        }
        assert_eq!(Crs::Gcj02.to_wgs84(*p), *p);
        assert_eq!(Crs::Bd09.to_wgs84(*p), *p);
    }
    // The libraries agree for GCJ-02 (they apply Baidu's offset everywhere).
    for (name, lib) in [("gcoord", gcoord(&pts)), ("prcoords", prcoords(&pts))] {
        let w = worst(&pts, &lib["wgs_to_gcj"], |c| c);
        // gcoord routes through an intermediate CRS: float noise only.
        assert!(w <= 1e-12, "{name} shifted a point outside China by {w:e}°");
    }
}
