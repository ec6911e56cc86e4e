//! Tiles cut from a small snapshot: what they hold, what they never hold,
//! scope, and which tiles a change makes stale.

use std::sync::Arc;

use geo_types::{point, polygon, MultiPolygon};
use prost::Message;

use super::mvt::{Frame, Tile as Mvt};
use super::{address, Fetch, Source, TileCache};
use crate::access::Scope;
use crate::domain::Dataset;
use crate::domain::{
    CareLevel, GridCode, Household, ImportedGrid, Level, Person, Policy, Region, SensitiveFlags,
};
use crate::snapshot::Snapshot;

/// Two streets side by side, 0.01° wide, near Ankang.
fn square(x0: f64) -> MultiPolygon<f64> {
    let y0 = 32.68;
    MultiPolygon(vec![polygon![
        (x: x0, y: y0), (x: x0 + 0.01, y: y0), (x: x0 + 0.01, y: y0 + 0.01), (x: x0, y: y0 + 0.01)
    ]])
}

fn household(id: i64, x: f64, y: f64, region: &str) -> Household {
    Household {
        id,
        location: point!(x: x, y: y),
        size: 3,
        care: CareLevel(2),
        flags: SensitiveFlags::default(),
        building: None,
        address: "幸福路1号".into(),
        head_name: "张三".into(),
        phone: "13800000000".into(),
        region: Some(region.parse().unwrap()),
        estimated: false,
    }
}

fn data() -> Dataset {
    let a = "610902001";
    let b = "610902002";
    Dataset {
        regions: vec![
            Region {
                code: a.parse().unwrap(),
                name: "甲街道".into(),
                parent: None,
                boundary: square(109.00),
            },
            Region {
                code: b.parse().unwrap(),
                name: "乙街道".into(),
                parent: None,
                boundary: square(109.01),
            },
        ],
        households: (1..=20)
            .map(|i| household(i, 109.0005 + 0.0004 * i as f64, 32.685, a))
            .chain((21..=30).map(|i| household(i, 109.0150, 32.6805 + 0.0008 * (i - 20) as f64, b)))
            .collect(),
        people: vec![Person {
            id: 7,
            name: "李四".into(),
            phone: "13900000000".into(),
            roles: vec![crate::domain::Role::FullTimeWorker],
            team: None,
            skills: vec![],
            status: crate::domain::Availability::OnDuty,
            checkin: None,
            reserve: false,
            home: point!(x: 109.003, y: 32.683),
            grids: vec![],
            region: Some(a.parse().unwrap()),
        }],
        grids: vec![ImportedGrid {
            id: 1,
            region: a.parse().unwrap(),
            level: Level::ONE,
            code: GridCode(format!("{a}001")),
            name: "一网格".into(),
            parent: None,
            geometry: square(109.00),
        }],
        ..Dataset::default()
    }
}

/// The tile holding a point at zoom `z`.
fn tile_at(z: u8, lon: f64, lat: f64) -> Frame {
    let n = f64::from(1u32 << z);
    let x = ((lon + 180.0) / 360.0 * n) as u32;
    let r = lat.to_radians();
    let y = ((1.0 - (r.tan() + 1.0 / r.cos()).ln() / std::f64::consts::PI) / 2.0 * n) as u32;
    Frame::new(z, x, y).unwrap()
}

fn decode(t: &super::Tile) -> Mvt {
    let mut raw = Vec::new();
    if !t.is_empty() {
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&t.gzip[..]), &mut raw)
            .unwrap();
    }
    Mvt::decode(raw.as_slice()).unwrap()
}

fn cache() -> TileCache {
    TileCache::new(Arc::new(Policy::preset("ankang").unwrap()))
}

#[test]
fn tiles_hold_features_in_scope_and_nothing_personal() {
    let s = Arc::new(Snapshot::build(data()));
    let c = cache();
    let all = Scope::all();
    let f16 = tile_at(16, 109.004, 32.685);
    let t = decode(&c.get(&s, Source::Households, f16, &all).0);
    let l = &t.layers[0];
    assert_eq!(l.name, "households");
    assert!(
        l.features.len() >= 5,
        "{} household points",
        l.features.len()
    );
    assert_eq!(l.keys, vec!["id"], "household points carry an id only");

    let f12 = tile_at(12, 109.01, 32.685);
    let t = decode(&c.get(&s, Source::Households, f12, &all).0);
    let cells = &t.layers[0];
    assert_eq!(cells.name, "household_cells");
    let total: u64 = cells
        .features
        .iter()
        .map(|f| cells.values[f.tags[1] as usize].uint_value.unwrap())
        .sum();
    assert_eq!(total, 30, "every household counted once");

    let people = decode(
        &c.get(&s, Source::People, tile_at(14, 109.003, 32.683), &all)
            .0,
    );
    let keys = &people.layers[0].keys;
    assert!(keys.contains(&"role".to_string()));
    for personal in [
        "name",
        "phone",
        "address",
        "head_name",
        "care",
        "flags",
        "skills",
    ] {
        assert!(
            !keys.iter().any(|k| k == personal),
            "{personal} in a people tile"
        );
    }

    // A caller of street 乙 sees neither 甲's households nor its region.
    let b = Scope::prefixes(["610902002"]);
    assert!(c.get(&s, Source::Households, f16, &b).0.is_empty());
    let regions = decode(&c.get(&s, Source::Regions, f12, &b).0);
    let codes: Vec<_> = regions.layers[0]
        .values
        .iter()
        .filter_map(|v| v.string_value.clone())
        .collect();
    let code = |c: &str| c.parse::<crate::domain::RegionCode>().unwrap().to_string();
    assert!(
        codes.contains(&code("610902002")) && !codes.contains(&code("610902001")),
        "{codes:?}"
    );

    // Imported grids where a region has no plan, from zoom 8 on.
    let grids = decode(
        &c.get(&s, Source::Grids, tile_at(14, 109.005, 32.685), &all)
            .0,
    );
    assert_eq!(grids.layers[0].name, "grid1");
    let grid_code = format!("{}001", "610902001");
    assert!(
        grids.layers[0]
            .values
            .iter()
            .any(|v| v.string_value.as_deref() == Some(grid_code.as_str())),
        "{:?}",
        grids.layers[0].values
    );
}

#[test]
fn a_change_cuts_again_only_the_tiles_it_touches() {
    let mut d = data();
    let cell = Arc::new(crate::snapshot::SnapshotCell::new(Snapshot::build(
        d.clone(),
    )));
    let c = cache();
    let all = Scope::all();
    let over_a = tile_at(16, 109.004, 32.685);
    let over_b = tile_at(16, 109.015, 32.6825);
    let grid_a = tile_at(14, 109.005, 32.685);
    let s0 = cell.load();
    let (a0, _) = c.get(&s0, Source::Households, over_a, &all);
    let (b0, _) = c.get(&s0, Source::Households, over_b, &all);
    let (g0, _) = c.get(&s0, Source::Grids, grid_a, &all);
    assert_eq!(c.get(&s0, Source::Households, over_a, &all).1, Fetch::Hit);

    // One more household in street 甲.
    d.households
        .push(household(99, 109.0041, 32.6851, "610902001"));
    cell.swap(Snapshot::build(d.clone()));
    let s1 = cell.load();
    let (a1, how) = c.get(&s1, Source::Households, over_a, &all);
    assert_eq!(how, Fetch::Cut);
    assert_ne!(a0.etag, a1.etag, "the tile with the new household changed");
    let (b1, how) = c.get(&s1, Source::Households, over_b, &all);
    assert_eq!(
        (how, &b1.etag),
        (Fetch::Hit, &b0.etag),
        "a tile far away is kept"
    );
    // The grid over it was cut again (its region changed) yet reads the
    // same: imported grids carry no household counts, so the ETag holds.
    let (g1, how) = c.get(&s1, Source::Grids, grid_a, &all);
    assert_eq!((how, &g1.etag), (Fetch::Cut, &g0.etag));

    // The imported grid redrawn: grid tiles over it change.
    d.grids[0].geometry = MultiPolygon(vec![polygon![
        (x: 109.0, y: 32.68), (x: 109.006, y: 32.68), (x: 109.006, y: 32.69), (x: 109.0, y: 32.69)
    ]]);
    cell.swap(Snapshot::build(d));
    let (g2, _) = c.get(&cell.load(), Source::Grids, grid_a, &all);
    assert_ne!(g2.etag, g1.etag);
}

#[test]
fn addresses_are_checked() {
    assert!(address("grids", "14", "13000", "6500.mvt").is_ok());
    assert!(address("grids", "14", "13000", "6500.pbf").is_ok());
    assert!(matches!(
        address("nope", "1", "0", "0.mvt"),
        Err(super::TileError::UnknownSource(_))
    ));
    for (z, x, y) in [
        ("3", "8", "0.mvt"),
        ("19", "0", "0.mvt"),
        ("a", "0", "0.mvt"),
        ("2", "0", "0"),
        ("2", "-1", "0.mvt"),
    ] {
        assert!(
            matches!(
                address("grids", z, x, y),
                Err(super::TileError::BadAddress(_))
            ),
            "{z}/{x}/{y}"
        );
    }
}

#[test]
fn tilejson_lists_every_layer() {
    let tj = super::tilejson(
        Source::Grids,
        crate::access::projection::Detail::Individuals,
        "http://127.0.0.1:8080",
        None,
    );
    assert_eq!(
        tj["tiles"][0],
        "http://127.0.0.1:8080/tiles/grids/{z}/{x}/{y}.mvt"
    );
    let ids: Vec<_> = tj["vector_layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, ["grid1", "grid2", "grid3", "grid_labels"]);
}

#[test]
fn gap_tiles_show_land_in_no_grid_and_never_a_household() {
    let s = Arc::new(Snapshot::build(data()));
    let c = cache();
    let all = Scope::all();
    // Street 乙 has no grid at all: its land is a gap at every level.
    let t = decode(
        &c.get(&s, Source::Gaps, tile_at(14, 109.015, 32.685), &all)
            .0,
    );
    let l = &t.layers[0];
    assert_eq!(l.name, "gaps");
    let kinds: Vec<_> = l
        .values
        .iter()
        .filter_map(|v| v.string_value.clone())
        .collect();
    assert!(kinds.contains(&"gap".to_string()), "{kinds:?}");
    assert!(
        !kinds.contains(&"no_grid".to_string()) && !kinds.contains(&"unreached".to_string()),
        "{kinds:?}"
    );
    for f in &l.features {
        assert_eq!(f.r#type, Some(super::mvt::GeomType::Polygon as i32));
    }
    // A caller of street 甲 sees none of 乙's findings.
    let a = Scope::prefixes(["610902001"]);
    let t = decode(&c.get(&s, Source::Gaps, tile_at(14, 109.015, 32.685), &a).0);
    let region_b = "610902002"
        .parse::<crate::domain::RegionCode>()
        .unwrap()
        .to_string();
    assert!(t.layers.iter().all(|l| !l
        .values
        .iter()
        .any(|v| v.string_value.as_deref() == Some(region_b.as_str()))));
}

#[test]
fn region_tiles_carry_each_regions_depth() {
    // A district above street 甲, and a community inside 甲.
    let mut dataset = data();
    dataset.regions[0].parent = Some("610902".parse().unwrap());
    dataset.regions.push(Region {
        code: "610902".parse().unwrap(),
        name: "区".into(),
        parent: None,
        boundary: MultiPolygon(vec![polygon![
            (x: 108.99, y: 32.67), (x: 109.03, y: 32.67), (x: 109.03, y: 32.70), (x: 108.99, y: 32.70)
        ]]),
    });
    dataset.regions.push(Region {
        code: "610902001001".parse().unwrap(),
        name: "甲社区".into(),
        parent: Some("610902001".parse().unwrap()),
        boundary: MultiPolygon(vec![polygon![
            (x: 109.002, y: 32.682), (x: 109.006, y: 32.682), (x: 109.006, y: 32.686), (x: 109.002, y: 32.686)
        ]]),
    });
    let snapshot = Arc::new(Snapshot::build(dataset));
    let tiles = cache();
    let frame = tile_at(12, 109.004, 32.684);
    // A caller who sees only the community still gets its depth from the
    // snapshot's regions, not from the regions in its tile.
    for (scope, want) in [
        (
            Scope::all(),
            &[("区", 0), ("甲街道", 1), ("乙街道", 0), ("甲社区", 2)][..],
        ),
        (Scope::prefixes(["610902001001"]), &[("甲社区", 2)][..]),
    ] {
        let t = decode(&tiles.get(&snapshot, Source::Regions, frame, &scope).0);
        for layer in ["regions", "region_labels"] {
            let l = t.layers.iter().find(|l| l.name == layer).unwrap();
            let value = |f: &super::mvt::Feature, key: &str| {
                f.tags.chunks(2).find_map(|kv| {
                    (l.keys[kv[0] as usize] == key).then(|| l.values[kv[1] as usize].clone())
                })
            };
            let depths: std::collections::BTreeMap<String, u64> = l
                .features
                .iter()
                .map(|f| {
                    let name = value(f, "name").and_then(|v| v.string_value).unwrap();
                    let depth = value(f, "depth")
                        .and_then(|v| v.uint_value)
                        .unwrap_or_else(|| panic!("{layer}: {name} has no depth"));
                    (name, depth)
                })
                .collect();
            let want: std::collections::BTreeMap<String, u64> =
                want.iter().map(|(n, d)| ((*n).to_owned(), *d)).collect();
            assert_eq!(depths, want, "{layer}");
        }
    }
}

/// (name, count) of every feature of a `household_cells` layer.
fn cell_counts(t: &Mvt) -> Vec<u64> {
    t.layers
        .iter()
        .flat_map(|l| {
            assert_eq!(
                l.name, "household_cells",
                "counts-only tiles hold cells only"
            );
            let at = l.keys.iter().position(|k| k == "count").unwrap();
            l.features.iter().map(move |f| {
                let pair = f.tags.chunks(2).find(|p| p[0] as usize == at).unwrap();
                l.values[pair[1] as usize].uint_value.unwrap()
            })
        })
        .collect()
}

#[test]
fn counts_only_callers_get_cells_of_at_least_k_at_every_zoom_and_no_people() {
    use crate::access::projection::Detail;
    let snap = Arc::new(Snapshot::build(data()));
    let tiles = cache();
    let all = Scope::all();
    // 20 households along a street of 甲 (every 0.0004°, ≈ 37 m), 10 in 乙.
    for z in 10..=18 {
        let frame = tile_at(z, 109.004, 32.685);
        let t = decode(
            &tiles
                .get_for(&snap, Source::Households, frame, &all, Detail::Counts)
                .0,
        );
        let counts = cell_counts(&t);
        assert!(
            counts.iter().all(|&n| n >= 5),
            "z{z}: a count below k: {counts:?}"
        );
        if z <= 15 {
            assert!(!counts.is_empty(), "z{z}: counts shown");
        }
        // Whoever sees individuals still gets points from z16.
        if z >= 16 {
            let t = decode(&tiles.get(&snap, Source::Households, frame, &all).0);
            assert_eq!(t.layers[0].name, "households");
        }
    }
    // Below z15 every zoom sums the same published cells: equal totals.
    let total = |z: u8| -> u64 {
        let (a, b) = (tile_at(z, 109.0, 32.69), tile_at(z, 109.02, 32.68));
        let mut n = 0;
        for x in a.x..=b.x {
            for y in a.y..=b.y {
                let frame = Frame::new(z, x, y).unwrap();
                let t = tiles
                    .get_for(&snap, Source::Households, frame, &all, Detail::Counts)
                    .0;
                n += cell_counts(&decode(&t)).iter().sum::<u64>();
            }
        }
        n
    };
    let t10 = total(10);
    assert!(t10 > 0 && t10 <= 30, "{t10}");
    for z in 11..=18 {
        assert_eq!(total(z), t10, "z{z} and z10 show the same households");
    }
    // People: nothing at all.
    let people = tiles.get_for(
        &snap,
        Source::People,
        tile_at(14, 109.003, 32.683),
        &all,
        Detail::Counts,
    );
    assert!(people.0.is_empty());
    let tj = super::tilejson(Source::Households, Detail::Counts, "", None);
    let ids: Vec<_> = tj["vector_layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].clone())
        .collect();
    assert_eq!(ids, [serde_json::json!("household_cells")]);
    assert_eq!(tj["vector_layers"][0]["maxzoom"], 18);
}

/// The basemap's roads carry their grade, so the viewer draws tunnels
/// dashed; its buildings carry their use.
#[test]
fn basemap_roads_carry_their_grade_and_buildings_their_use() {
    use crate::domain::{Building, Grade, Road, RoadClass};
    let mut dataset = data();
    let line = |y: f64| geo_types::LineString::from(vec![(109.001, y), (109.009, y)]);
    dataset.roads = vec![
        Road {
            id: 1,
            class: RoadClass::Primary,
            name: "延安东路".into(),
            grade: Grade::Surface,
            geometry: line(32.684),
        },
        Road {
            id: 2,
            class: RoadClass::Primary,
            name: "延安东路隧道".into(),
            grade: Grade::Tunnel,
            geometry: line(32.6841),
        },
        Road {
            id: 3,
            class: RoadClass::Secondary,
            name: "外白渡桥".into(),
            grade: Grade::Bridge,
            geometry: line(32.6842),
        },
    ];
    dataset.buildings = vec![Building {
        id: 1,
        levels: Some(5),
        height_m: None,
        kind: "library".into(),
        geometry: MultiPolygon(vec![polygon![
            (x: 109.003, y: 32.683), (x: 109.004, y: 32.683), (x: 109.004, y: 32.6835), (x: 109.003, y: 32.6835)
        ]]),
    }];
    let snapshot = Arc::new(Snapshot::build(dataset));
    let t = decode(
        &cache()
            .get(
                &snapshot,
                Source::Basemap,
                tile_at(15, 109.0035, 32.684),
                &Scope::all(),
            )
            .0,
    );
    let values = |layer: &str, key: &str| -> Vec<String> {
        let l = t.layers.iter().find(|l| l.name == layer).unwrap();
        let mut out: Vec<String> = l
            .features
            .iter()
            .filter_map(|f| {
                f.tags.chunks(2).find_map(|kv| {
                    (l.keys[kv[0] as usize] == key)
                        .then(|| l.values[kv[1] as usize].string_value.clone())
                        .flatten()
                })
            })
            .collect();
        out.sort();
        out
    };
    assert_eq!(values("roads", "grade"), ["bridge", "surface", "tunnel"]);
    assert_eq!(values("buildings", "use"), ["civic"]);
}
