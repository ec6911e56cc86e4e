//! `wangge bench-partition` on the shared benchmark's format: a small
//! instance solved end to end, and bad instances refused with a clear error.

use crate::common::wangge;

/// A 6 × 6 lattice, 5 households an atom, a road between columns 2|3.
fn instance(edges_beyond: bool) -> serde_json::Value {
    let n = 36;
    let mut edges = Vec::new();
    let mut road = Vec::new();
    for y in 0..6 {
        for x in 0..6 {
            let i = y * 6 + x;
            if x < 5 {
                edges.push([i, i + 1]);
                road.push(u8::from(x == 2));
            }
            if y < 5 {
                edges.push([i, i + 6]);
                road.push(0);
            }
        }
    }
    if edges_beyond {
        edges.push([0, 99]);
        road.push(0);
    }
    serde_json::json!({
        "name": "tiny", "n": n,
        "households": vec![5; n], "x": (0..n).map(|i| (i % 6) as f64).collect::<Vec<_>>(),
        "y": (0..n).map(|i| (i / 6) as f64).collect::<Vec<_>>(), "area": vec![1.0; n],
        "outer": vec![0.0; n], "length": vec![1.0; edges.len()], "road": road, "edges": edges,
        "levels": [{"name": "L1", "target": 90, "min": 80, "max": 100}]
    })
}

/// Runs `wangge bench-partition` on `inst`, writing `out`.
fn bench(inst: &std::path::Path, out: &std::path::Path) -> (bool, String, String) {
    wangge(&[
        "bench-partition",
        "--instance",
        inst.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ])
}

#[test]
fn bench_partition_solves_a_small_instance_and_refuses_bad_ones() {
    let dir = tempfile::tempdir().unwrap();
    let (inst, out) = (dir.path().join("i.json"), dir.path().join("o.json"));
    std::fs::write(&inst, instance(false).to_string()).unwrap();
    let (ok, _, err) = bench(&inst, &out);
    assert!(ok, "{err}");
    let labels: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let l1: Vec<u64> = labels["levels"][0]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    let mut count = std::collections::BTreeMap::new();
    for l in &l1 {
        *count.entry(*l).or_insert(0) += 5;
    }
    assert_eq!(
        count.len(),
        2,
        "180 households, 80-100 a grid: two grids ({count:?})"
    );
    assert!(count.values().all(|&v| v == 90), "{count:?}");

    std::fs::write(&inst, instance(true).to_string()).unwrap();
    let (ok, _, err) = bench(&inst, &out);
    assert!(!ok && err.contains("beyond n = 36"), "{err}");
    std::fs::write(&inst, r#"{"n": 2, "households": [1]}"#).unwrap();
    let (ok, _, err) = bench(&inst, &out);
    assert!(!ok && err.contains("instance"), "{err}");
}

#[test]
fn coverage_mclp_answers_a_small_instance_and_refuses_bad_ones() {
    let dir = tempfile::tempdir().unwrap();
    let inst = dir.path().join("m.json");
    // Two clusters 1 km apart; one site can reach only one of them.
    std::fs::write(
        &inst,
        r#"{"radius_m": 100, "sites": 1, "demand": [[0,0,1],[10,0,1],[1000,0,5]], "candidates": [[5,0],[1000,10]]}"#,
    )
    .unwrap();
    let path = inst.to_str().unwrap();
    let (ok, out, err) = wangge(&["coverage", "mclp", "--instance", path]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["sites"], serde_json::json!([1]));
    assert_eq!(v["covered_weight"], 5.0);
    std::fs::write(&inst, r#"{"radius_m": 100, "sites": 1, "demand": [[0,0]]}"#).unwrap();
    let (ok, _, err) = wangge(&["coverage", "mclp", "--instance", path]);
    assert!(!ok && err.contains("m.json"), "{err}");
    let (ok, _, err) = wangge(&["coverage", "mclp", "--instance", "/nonexistent/x.json"]);
    assert!(!ok && err.contains("reading /nonexistent/x.json"), "{err}");
}

/// Each command has its own help: `partition` plans a store's regions,
/// `bench-partition` solves a benchmark instance.
#[test]
fn partition_and_bench_partition_each_have_their_own_help() {
    let (ok, plan, err) = wangge(&["partition", "--help"]);
    assert!(ok, "{err}");
    assert!(plan.contains("Plan the grids"), "{plan}");
    assert!(!plan.contains("benchmark"), "{plan}");
    let (ok, bench, err) = wangge(&["bench-partition", "--help"]);
    assert!(ok, "{err}");
    assert!(bench.contains("benchmark"), "{bench}");
    let (ok, all, err) = wangge(&["--help"]);
    assert!(ok, "{err}");
    let line = |cmd: &str| {
        all.lines()
            .find(|l| l.trim_start().starts_with(&format!("{cmd} ")))
            .unwrap_or_default()
            .to_string()
    };
    assert!(line("partition").contains("Plan the grids"), "{all}");
    assert!(line("bench-partition").contains("benchmark"), "{all}");
}
