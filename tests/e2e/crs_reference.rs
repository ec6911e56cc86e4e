//! GCJ-02 and BD-09 against the libraries people use: npm's `gcoord` and
//! PyPI's `prcoords` (installed by scripts/test from tests/package.json and
//! tests/requirements.txt; the scripts are in tests/reference). 10,000
//! pseudo-random points across China: the forward conversions must agree
//! to 1e-9°, every inverse must round-trip to 1e-7°, and points outside
//! China must come back unchanged. A missing reference fails the test with
//! the command that installs it; nothing is skipped.

use std::io::Write;
use std::process::{Command, Stdio};

use geo_types::Coord;
use serde_json::Value;
use wangge::spatial::crs::{
    bd09_to_gcj02, bd09_to_gcj02_published, bd09_to_wgs84, gcj02_to_bd09, gcj02_to_wgs84,
    in_china_bbox, wgs84_to_bd09, wgs84_to_gcj02, Crs,
};

use crate::common::repo_root;

/// How to install the npm reference.
const NPM_INSTALL: &str = "`cd tests && npm ci --no-audit --no-fund` (or run scripts/test)";
/// How to install the PyPI reference.
const PIP_INSTALL: &str = "`python3 -m venv /tmp/refvenv && /tmp/refvenv/bin/pip install -r \
                           tests/requirements.txt`, then set WANGGE_PYTHON=/tmp/refvenv/bin/python \
                           (or run scripts/test)";

/// One of our conversions.
type Conv = fn(Coord<f64>) -> Coord<f64>;

/// Deterministic points: a 64-bit LCG (Knuth's MMIX constants), no rand crate.
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

/// Runs a reference script with the points on stdin and returns its JSON
/// (`wgs_to_gcj`, `gcj_to_bd`, `bd_to_gcj`, `wgs_to_bd`: arrays of [lon, lat]).
fn reference(cmd: &mut Command, what: &str, install: &str, pts: &[Coord<f64>]) -> Value {
    let input = serde_json::to_string(&pts.iter().map(|c| [c.x, c.y]).collect::<Vec<_>>()).unwrap();
    let mut child = cmd
        .current_dir(repo_root().join("tests"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{what} is not installed ({e}): install it with {install}"));
    // A script that dies on start-up (module not found) closes stdin early:
    // its exit status and stderr then say more than the broken pipe.
    let written = child.stdin.take().unwrap().write_all(input.as_bytes());
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{what} failed; if it is not installed, install it with {install}:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    written.unwrap_or_else(|e| panic!("{what} did not read its input: {e}"));
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{what} printed no JSON ({e})"));
    for key in ["wgs_to_gcj", "gcj_to_bd", "bd_to_gcj", "wgs_to_bd"] {
        assert_eq!(
            v[key].as_array().map(Vec::len),
            Some(pts.len()),
            "{what}: {key} has not one answer per point"
        );
    }
    v
}

fn gcoord(pts: &[Coord<f64>]) -> Value {
    assert!(
        repo_root().join("tests/node_modules/gcoord").is_dir(),
        "npm package gcoord is not installed in tests/node_modules: install it with {NPM_INSTALL}"
    );
    reference(
        Command::new("node").arg("reference/gcoord.mjs"),
        "node with npm gcoord (tests/package.json)",
        &format!("Node.js (apt-get install nodejs npm) and {NPM_INSTALL}"),
        pts,
    )
}

fn prcoords(pts: &[Coord<f64>]) -> Value {
    let python = std::env::var("WANGGE_PYTHON").unwrap_or_else(|_| "python3".into());
    reference(
        Command::new(&python).arg("reference/prcoords_ref.py"),
        &format!("{python} with PyPI prcoords (tests/requirements.txt)"),
        PIP_INSTALL,
        pts,
    )
}

/// The largest coordinate difference (degrees, either axis) between ours
/// and a library's answer, and the point where it occurs.
fn worst(
    pts: &[Coord<f64>],
    theirs: &Value,
    ours: impl Fn(Coord<f64>) -> Coord<f64>,
) -> (f64, Coord<f64>) {
    pts.iter()
        .zip(theirs.as_array().unwrap())
        .map(|(p, t)| {
            let o = ours(*p);
            let d = (o.x - t[0].as_f64().unwrap())
                .abs()
                .max((o.y - t[1].as_f64().unwrap()).abs());
            (d, *p)
        })
        .fold((0.0, Coord { x: 0.0, y: 0.0 }), larger)
}

/// The (difference, point) pair with the larger difference.
fn larger(a: (f64, Coord<f64>), b: (f64, Coord<f64>)) -> (f64, Coord<f64>) {
    if b.0 > a.0 {
        b
    } else {
        a
    }
}

/// 10,000 points over mainland China's extent (all inside the libraries'
/// bounding box, so every point is shifted).
fn china() -> Vec<Coord<f64>> {
    let pts = points(10_000, (73.5, 134.8), (18.0, 53.5), 2026);
    assert!(pts.iter().all(|p| in_china_bbox(*p)));
    pts
}

/// 200 points outside the libraries' bounding box.
fn outside_china() -> Vec<Coord<f64>> {
    let mut pts = points(70, (-10.0, 30.0), (35.0, 60.0), 1); // Europe
    pts.extend(points(70, (137.9, 150.0), (30.0, 45.0), 2)); // Japan, east of 137.8347
    pts.extend(points(60, (95.0, 120.0), (-10.0, 0.8), 3)); // south of 0.8293
    assert!(pts.iter().all(|p| !in_china_bbox(*p)));
    pts
}

#[test]
fn forward_conversions_agree_with_gcoord_and_prcoords() {
    let pts = china();
    for (name, lib) in [("gcoord", gcoord(&pts)), ("prcoords", prcoords(&pts))] {
        let checks: [(&str, Conv, &str); 4] = [
            ("wgs_to_gcj", wgs84_to_gcj02, "WGS-84 → GCJ-02"),
            ("gcj_to_bd", gcj02_to_bd09, "GCJ-02 → BD-09"),
            (
                "bd_to_gcj",
                bd09_to_gcj02_published,
                "BD-09 → GCJ-02 (published)",
            ),
            ("wgs_to_bd", wgs84_to_bd09, "WGS-84 → BD-09"),
        ];
        let mut report = Vec::new();
        for (key, ours, label) in checks {
            let (d, at) = worst(&pts, &lib[key], ours);
            assert!(
                d <= 1e-9,
                "{label} differs from {name} by {d:e}° (worst of {} points, at {at:?})",
                pts.len()
            );
            report.push(format!("{label} {d:e}°"));
        }
        eprintln!(
            "{name}: worst differences on {} points: {}",
            pts.len(),
            report.join(", ")
        );
    }
}

#[test]
fn every_inverse_round_trips() {
    let pts = china();
    let round = |fwd: Conv, inv: Conv| {
        pts.iter()
            .map(|p| {
                let back = inv(fwd(*p));
                ((back.x - p.x).abs().max((back.y - p.y).abs()), *p)
            })
            .fold((0.0, Coord { x: 0.0, y: 0.0 }), larger)
    };
    let (w, at) = round(wgs84_to_gcj02, gcj02_to_wgs84);
    assert!(w <= 1e-7, "GCJ-02 → WGS-84 inverse off by {w:e}° at {at:?}");
    let (b, at) = round(wgs84_to_bd09, bd09_to_wgs84);
    assert!(b <= 1e-7, "BD-09 → WGS-84 inverse off by {b:e}° at {at:?}");
    let (g, at) = round(gcj02_to_bd09, bd09_to_gcj02);
    assert!(g <= 1e-7, "BD-09 → GCJ-02 inverse off by {g:e}° at {at:?}");
    eprintln!(
        "worst round trips on {} points: GCJ-02 {w:e}°, BD-09 → WGS-84 {b:e}°, BD-09 → GCJ-02 {g:e}°",
        pts.len()
    );
    // And through the import and export paths.
    for p in &pts {
        for crs in [Crs::Gcj02, Crs::Bd09] {
            let back = crs.to_wgs84(crs.from_wgs84(*p));
            assert!(
                (back.x - p.x).abs() <= 1e-7 && (back.y - p.y).abs() <= 1e-7,
                "{crs} round trip of {p:?} gave {back:?}"
            );
        }
    }
}

#[test]
fn points_outside_china_come_back_unchanged() {
    let pts = outside_china();
    for p in &pts {
        for f in [wgs84_to_gcj02, gcj02_to_wgs84, wgs84_to_bd09, bd09_to_wgs84] {
            assert_eq!(f(*p), *p);
        }
        for crs in [Crs::Gcj02, Crs::Bd09] {
            assert_eq!(crs.to_wgs84(*p), *p);
            assert_eq!(crs.from_wgs84(*p), *p);
        }
    }
    for (name, lib) in [("gcoord", gcoord(&pts)), ("prcoords", prcoords(&pts))] {
        // Both libraries return WGS-84 → GCJ-02 unchanged outside their box;
        // the tolerance is only for serde_json's float parsing (1 ulp).
        let (w, at) = worst(&pts, &lib["wgs_to_gcj"], |c| c);
        assert!(
            w <= 1e-12,
            "{name} shifted {at:?}, outside China, by {w:e}°"
        );
        // Their WGS-84 → BD-09 has no such check: it applies Baidu's offset
        // (GCJ-02 → BD-09 of the unchanged point) everywhere, where ours
        // leaves the point alone. Pinned here so a change in either shows.
        let (b, at) = worst(&pts, &lib["wgs_to_bd"], gcj02_to_bd09);
        assert!(
            b <= 1e-9,
            "{name}'s WGS-84 → BD-09 outside China is no longer Baidu's offset alone: {b:e}° at {at:?}"
        );
        eprintln!(
            "{name} on {} points outside China: WGS-84 → GCJ-02 moved {w:e}°, \
             WGS-84 → BD-09 differs from Baidu's offset alone by {b:e}°",
            pts.len()
        );
    }
}
