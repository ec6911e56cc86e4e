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

/// The named non-residential buildings of the Bund (a bank, a hotel, a
/// museum, a convention centre, a police bureau, office towers) get no
/// households; named homes do; the estimate says how many it skipped.
#[test]
fn real_shanghai_named_non_residential_buildings_get_no_households() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s.gpkg");
    let s = store.to_str().unwrap();
    let file = real_data("shanghai_bund_osm.geojson");
    let (ok, out, err) = wangge(&[
        "import",
        "all",
        file.to_str().unwrap(),
        "--store",
        s,
        "--crs",
        "wgs84",
    ]);
    assert!(ok, "{out}{err}");
    let (ok, out, err) = wangge(&["estimate", "buildings", "--store", s]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("skipped as housing nobody"), "{out}");
    let d = GeoPackage::open(&store).unwrap().load().unwrap();
    // The footprints by name, from the file itself.
    let text = std::fs::read_to_string(&file).unwrap();
    let fc: geojson::FeatureCollection = text.parse().unwrap();
    let footprint = |name: &str| -> geo_types::MultiPolygon<f64> {
        let polys: Vec<geo_types::Polygon<f64>> = fc
            .features
            .iter()
            .filter(|f| {
                f.property("name").and_then(|v| v.as_str()) == Some(name)
                    && f.property("layer").and_then(|v| v.as_str()) == Some("buildings")
            })
            .filter_map(|f| {
                let g: geo_types::Geometry<f64> = f.geometry.clone()?.try_into().ok()?;
                match g {
                    geo_types::Geometry::Polygon(p) => Some(vec![p]),
                    geo_types::Geometry::MultiPolygon(m) => Some(m.0),
                    _ => None,
                }
            })
            .flatten()
            .collect();
        assert!(!polys.is_empty(), "{name} is not in the file");
        geo_types::MultiPolygon(polys)
    };
    let inside = |name: &str| {
        let f = footprint(name);
        d.households
            .iter()
            .filter(|h| f.contains(&h.location))
            .count()
    };
    for name in [
        "汇丰银行大楼",
        "华尔道夫酒店",
        "外滩美术馆",
        "上海国际会议中心",
        "上海市公安局",
        "东亚大楼",
        "中国农业银行",
        "上海自然博物馆旧馆",
        "国家开发银行大厦",
    ] {
        assert_eq!(inside(name), 0, "households estimated in {name}");
    }
    for name in ["瑞苑公寓", "浦西公寓", "繁荣昌盛小区"] {
        assert!(inside(name) > 0, "no households in {name}");
    }
}
