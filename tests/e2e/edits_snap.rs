//! Grids drawn elsewhere (a GeoJSON of a community's grids, as another
//! tool draws them) brought onto the plan over real HTTP: snapped onto the
//! atoms, and what changed grid reported.

use serde_json::Value;
use wangge::domain::Plan;
use wangge::store::gpkg::GeoPackage;
use wangge::store::Store;

use crate::common::{partitioned_city, wangge, Server};
use crate::edits::{get_plan, l3_code, post};

/// Shifts every coordinate of a GeoJSON document east by `dx` degrees.
fn shift(v: &mut Value, dx: f64) {
    match v {
        Value::Array(a) if a.len() >= 2 && a[0].is_number() && a[1].is_number() => {
            a[0] = serde_json::json!(a[0].as_f64().unwrap() + dx);
        }
        Value::Array(a) => a.iter_mut().for_each(|x| shift(x, dx)),
        Value::Object(o) => {
            if let Some(c) = o.get_mut("coordinates") {
                shift(c, dx);
            }
            if let Some(Value::Object(g)) = o.get_mut("geometry") {
                if let Some(c) = g.get_mut("coordinates") {
                    shift(c, dx);
                }
            }
            if let Some(Value::Array(fs)) = o.get_mut("features") {
                fs.iter_mut().for_each(|f| shift(f, dx));
            }
        }
        _ => {}
    }
}

#[test]
fn grids_drawn_elsewhere_snap_onto_atoms_and_report_what_changed_grid() {
    let (dir, store) = partitioned_city(4000, 6);
    let st = store.to_str().unwrap();
    let d = GeoPackage::open(&store).unwrap().load().unwrap();
    let mut plans = d.plans.clone();
    plans.sort_by_key(|p| std::cmp::Reverse(p.atoms.len()));
    let (exact, moved) = (plans[0].clone(), plans[1].clone());
    // The generated city comes with drawn grids (gaps and overlaps
    // planted): the first two communities' and the last one's go.
    {
        let c = rusqlite::Connection::open(&store).unwrap();
        for p in [&exact, &moved, &plans[3]] {
            c.execute(
                "DELETE FROM grids WHERE region = ?1",
                [p.version.region.to_string()],
            )
            .unwrap();
        }
    }
    // The first community's grids drawn exactly as planned; the second's
    // drawn 40 m too far east.
    for (p, dx) in [(&exact, 0.0), (&moved, 0.0004)] {
        let out = dir.path().join(format!("drawn-{}.geojson", p.version.id));
        let o = out.to_str().unwrap();
        let (ok, a, b) = wangge(&[
            "plan",
            "export",
            &p.version.id.to_string(),
            "--store",
            st,
            "--format",
            "geojson",
            "--out",
            o,
        ]);
        assert!(ok, "{a}{b}");
        let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
        shift(&mut v, dx);
        std::fs::write(&out, v.to_string()).unwrap();
        let (ok, a, b) = wangge(&["import", "grids", o, "--store", st, "--crs", "wgs84"]);
        assert!(ok, "{a}{b}");
    }
    let s = Server::start(&store, &[]);

    // Drawn as planned: nothing changes grid, the labels are the plan's.
    let path = format!("/api/regions/{}/plans/from-grids", exact.version.region);
    let (status, _, v) = post(
        &s,
        &path,
        &[],
        r#"{"message":"from the district's drawing"}"#,
    );
    assert_eq!(status, 201, "{v}");
    assert_eq!(
        v["households_changed"],
        0,
        "{}",
        &v.to_string()[..600.min(v.to_string().len())]
    );
    assert!(
        v["area_changed_m2"].as_f64().unwrap() < 1.0,
        "{}",
        v["area_changed_m2"]
    );
    let snapped = get_plan(&store, v["version"]["id"].as_i64().unwrap());
    assert_eq!(snapped.atoms, exact.atoms);
    let codes_of = |p: &Plan, a: usize| -> Vec<String> {
        (0..3)
            .map(|l| p.codes[l][p.labels[a].0[l] as usize].0.clone())
            .collect()
    };
    for a in 0..exact.atoms.len() {
        assert_eq!(codes_of(&snapped, a), codes_of(&exact, a), "atom {a}");
    }
    assert_eq!(snapped.version.message, "from the district's drawing");

    // Drawn 40 m off: every atom still in one grid, most where they were,
    // and each household reported is in its snapped grid now.
    let path = format!("/api/regions/{}/plans/from-grids", moved.version.region);
    let (status, _, v) = post(&s, &path, &[], "{}");
    assert_eq!(status, 201, "{v}");
    let changed = v["households_changed"].as_u64().unwrap();
    assert!(changed > 0, "{}", v["warnings"]);
    assert!(
        v["area_changed_m2"].as_f64().unwrap() > 1000.0,
        "{}",
        v["area_changed_m2"]
    );
    let id = v["version"]["id"].as_i64().unwrap();
    let snapped = get_plan(&store, id);
    assert_eq!(snapped.atoms, moved.atoms);
    let same = (0..moved.atoms.len())
        .filter(|&i| l3_code(&moved, i) == l3_code(&snapped, i))
        .count();
    assert!(
        same * 10 >= moved.atoms.len() * 7,
        "{same} of {}",
        moved.atoms.len()
    );
    let (_, detail, _) = s.get_json(&format!("/api/plans/{id}"));
    for l in detail["levels"].as_array().unwrap() {
        assert_eq!(
            (l["split"].as_u64(), l["nest"].as_u64()),
            (Some(0), Some(0)),
            "{l}"
        );
    }
    let in_region = d
        .households
        .iter()
        .filter(|h| h.region == Some(moved.version.region))
        .count();
    assert_eq!(detail["households"].as_u64().unwrap() as usize, in_region);
    drop(s);
    let csv = dir.path().join("h.csv");
    let (ok, a, b) = wangge(&[
        "plan",
        "export",
        &id.to_string(),
        "--store",
        st,
        "--format",
        "csv",
        "--out",
        csv.to_str().unwrap(),
    ]);
    assert!(ok, "{a}{b}");
    let csv = std::fs::read_to_string(csv).unwrap();
    let grid_of: std::collections::HashMap<&str, &str> = csv
        .lines()
        .skip(1)
        .map(|r| {
            let f: Vec<&str> = r.split(',').collect();
            (f[0], f[4])
        })
        .collect();
    for h in v["households"].as_array().unwrap() {
        let id = h["household"].to_string();
        assert_eq!(
            Some(&h["snapped"].as_str().unwrap()),
            grid_of.get(id.as_str()),
            "{h}"
        );
        assert_ne!(h["drawn"], h["snapped"]);
    }
    // The generator's own drawing of the third community, gaps and
    // overlaps planted: snapped into a sound plan all the same, every
    // household in one level-3 grid, what was wrong reported.
    let s = Server::start(&store, &[]);
    let third = &plans[2];
    let (status, _, v) = post(
        &s,
        &format!("/api/regions/{}/plans/from-grids", third.version.region),
        &[],
        "{}",
    );
    assert_eq!(
        status,
        201,
        "{}",
        &v.to_string()[..500.min(v.to_string().len())]
    );
    let id = v["version"]["id"].as_i64().unwrap();
    let (_, detail, _) = s.get_json(&format!("/api/plans/{id}"));
    let l3 = &detail["levels"][2];
    assert_eq!(
        (l3["split"].as_u64(), l3["nest"].as_u64()),
        (Some(0), Some(0)),
        "{l3}"
    );
    for l in detail["levels"].as_array().unwrap() {
        assert_eq!(l["nest"].as_u64(), Some(0), "{l}");
    }
    let in_third = d
        .households
        .iter()
        .filter(|h| h.region == Some(third.version.region))
        .count();
    assert_eq!(detail["households"].as_u64().unwrap() as usize, in_third);
    // No plan to snap onto, and no grid drawn: clear refusals.
    let other = d
        .regions
        .iter()
        .find(|r| d.plans.iter().all(|p| p.version.region != r.code))
        .unwrap();
    let (status, _, v) = post(
        &s,
        &format!("/api/regions/{}/plans/from-grids", other.code),
        &[],
        "{}",
    );
    assert_eq!(status, 400, "{v}");
    let (status, _, v) = post(
        &s,
        &format!("/api/regions/{}/plans/from-grids", plans[3].version.region),
        &[],
        "{}",
    );
    assert_eq!(status, 400, "{v}");
    assert!(
        v["detail"].as_str().unwrap().contains("no level-3 grid"),
        "{v}"
    );
}
