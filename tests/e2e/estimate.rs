//! Household estimation on real ground: Macau's census spread over real
//! floor area, and Shanghai's real building footprints.

use std::collections::HashMap;

use geo::Contains;
use wangge::store::gpkg::GeoPackage;
use wangge::store::Store;

use crate::common::{real_data, wangge};

#[test]
fn real_macau_estimate_matches_the_census() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("macau.gpkg");
    let data = real_data("macau_census_2021_population.json")
        .parent()
        .unwrap()
        .to_path_buf();
    let (ok, stdout, err) = wangge(&[
        "estimate",
        "macau",
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{stdout}{err}");
    let census: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(data.join("macau_census_2021_population.json")).unwrap(),
    )
    .unwrap();
    let store = GeoPackage::open(&out).unwrap();
    let d = store.load().unwrap();
    assert_eq!(d.regions.len(), 8);
    assert!(
        d.households.iter().all(|h| h.estimated),
        "every estimate is flagged"
    );
    let names: HashMap<_, _> = d.regions.iter().map(|r| (r.code, r.name.clone())).collect();
    let mut people: HashMap<String, u64> = HashMap::new();
    for h in &d.households {
        *people.entry(names[&h.region.unwrap()].clone()).or_default() += u64::from(h.size);
    }
    let total: u64 = people.values().sum();
    let want_total = census["total_population"].as_u64().unwrap();
    assert!(
        (total as f64 / want_total as f64 - 1.0).abs() <= 0.01,
        "{total} vs {want_total}"
    );
    for p in census["freguesias"].as_array().unwrap() {
        let (name, want) = (
            p["name"].as_str().unwrap(),
            p["population"].as_u64().unwrap(),
        );
        let got = people.get(name).copied().unwrap_or(0);
        if want == 0 {
            assert_eq!(got, 0, "{name} has no residents");
        } else {
            assert!(
                (got as f64 / want as f64 - 1.0).abs() <= 0.02,
                "{name}: {got} vs {want}"
            );
        }
    }
    // Each household lies in its parish.
    let bounds: HashMap<_, _> = d.regions.iter().map(|r| (r.code, &r.boundary)).collect();
    let outside = d
        .households
        .iter()
        .filter(|h| !bounds[&h.region.unwrap()].contains(&h.location))
        .count();
    assert!(
        outside * 1000 <= d.households.len(),
        "{outside} households outside their parish"
    );
    // Deterministic.
    let again = dir.path().join("again.gpkg");
    assert!(
        wangge(&[
            "estimate",
            "macau",
            "--data",
            data.to_str().unwrap(),
            "--out",
            again.to_str().unwrap()
        ])
        .0
    );
    assert_eq!(
        GeoPackage::open(&again).unwrap().load().unwrap().households,
        d.households
    );
}

#[test]
fn macau_data_absent_is_said_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.gpkg");
    let (ok, _, err) = wangge(&[
        "estimate",
        "macau",
        "--data",
        dir.path().to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!ok && err.contains("the Macau data is absent"), "{err}");
    assert!(!out.exists());
}

#[test]
fn real_shanghai_buildings_give_estimated_households_inside_them() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s.gpkg");
    let s = store.to_str().unwrap();
    let file = real_data("shanghai_bund_osm.geojson");
    assert!(
        wangge(&[
            "import",
            "all",
            file.to_str().unwrap(),
            "--store",
            s,
            "--crs",
            "wgs84"
        ])
        .0
    );
    let (ok, out, err) = wangge(&["estimate", "buildings", "--store", s]);
    assert!(ok, "{out}{err}");
    let d = GeoPackage::open(&store).unwrap().load().unwrap();
    assert!(
        d.households.len() > 10_000,
        "{} households in central Shanghai",
        d.households.len()
    );
    let buildings: HashMap<_, _> = d.buildings.iter().map(|b| (b.id, b)).collect();
    for h in &d.households {
        assert!(h.estimated);
        assert!(
            buildings[&h.building.unwrap()]
                .geometry
                .contains(&h.location),
            "household {} outside its building",
            h.id
        );
    }
}
