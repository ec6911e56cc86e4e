use std::collections::{HashMap, HashSet};

use geo::Contains;
use geo_types::Point;

use super::*;

fn city(n: u64, seed: u64) -> Generated {
    generate(
        Params {
            households: n,
            seed,
        },
        &mut |_| {},
    )
}

fn digest(g: &Generated) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for x in &g.households {
        h.update(format!("{x:?}"));
    }
    for x in &g.people {
        h.update(format!("{x:?}"));
    }
    for x in &g.roads {
        h.update(format!("{x:?}"));
    }
    for x in &g.buildings {
        h.update(format!("{x:?}"));
    }
    format!("{:x}", h.finalize())
}

#[test]
fn deterministic_for_a_seed() {
    let (a, b, c) = (city(3000, 7), city(3000, 7), city(3000, 8));
    assert_eq!(digest(&a), digest(&b));
    assert_ne!(digest(&a), digest(&c));
}

#[test]
fn sizes_from_a_thousand_households() {
    let g = city(1000, 1);
    assert_eq!(g.households.len(), 1000);
    assert!(g.regions.len() >= 3, "a district, a street, a community");
    assert!(!g.people.is_empty());
}

#[test]
fn proportions_and_ratios_within_one_percent_at_100k() {
    let g = city(100_000, 42);
    let n = g.households.len() as f64;
    assert_eq!(g.households.len(), 100_000);
    for (level, share) in CARE_SHARES.iter().enumerate() {
        let got = g
            .households
            .iter()
            .filter(|h| usize::from(h.care.0) == level)
            .count() as f64
            / n;
        assert!(
            (got / share - 1.0).abs() <= 0.01,
            "care level {level}: {got} vs {share}"
        );
    }
    for (role, per) in ANKANG_STAFF {
        let got = g.people.iter().filter(|p| p.roles.contains(&role)).count() as f64;
        let want = n * per / ANKANG_HOUSEHOLDS;
        assert!(
            (got / want - 1.0).abs() <= 0.01,
            "{role:?}: {got} vs {want}"
        );
    }
    let mut teams: HashMap<(String, bool), usize> = HashMap::new();
    let volunteers: Vec<_> = g
        .people
        .iter()
        .filter(|p| p.roles.contains(&Role::Volunteer))
        .collect();
    assert!(volunteers
        .iter()
        .all(|v| !v.skills.is_empty() && v.team.is_some()));
    let reserve = volunteers.iter().filter(|v| v.reserve).count() as f64 / volunteers.len() as f64;
    assert!(
        (reserve / RESERVE_SHARE - 1.0).abs() <= 0.01,
        "reserve share {reserve}"
    );
    for v in &volunteers {
        *teams
            .entry((v.team.clone().unwrap(), v.reserve))
            .or_default() += 1;
    }
    let available =
        volunteers.iter().filter(|v| v.available()).count() as f64 / volunteers.len() as f64;
    assert!((0.8..0.9).contains(&available), "{available}");
    // Gaps: communities with households but no carers.
    let carers: HashSet<_> = g
        .people
        .iter()
        .filter(|p| p.roles.iter().any(|r| r.is_carer()))
        .filter_map(|p| p.region)
        .collect();
    for gap in &g.gap_communities {
        assert!(!carers.contains(gap), "{gap} should have no carers");
    }
    assert!(!g.gap_communities.is_empty());
}

#[test]
fn every_household_in_a_building_in_a_block_in_its_region() {
    let g = city(20_000, 3);
    let regions: HashMap<_, _> = g.regions.iter().map(|r| (r.code, r)).collect();
    let buildings: HashMap<_, _> = g.buildings.iter().map(|b| (b.id, b)).collect();
    for (h, &block) in g.households.iter().zip(&g.household_block) {
        let b = buildings[&h.building.unwrap()];
        assert!(
            b.geometry.contains(&h.location),
            "household {} outside its building",
            h.id
        );
        let house = &g.city.houses[(b.id - 1) as usize];
        assert_eq!(house.block, block);
        let block_poly = &g.city.blocks[block].polygon;
        for c in house.footprint.exterior().coords() {
            assert!(
                block_poly.contains(&Point(*c)),
                "building {} leaves block {block}",
                b.id
            );
        }
        let region = regions[&h.region.unwrap()];
        let block_ll = g.projection.unproject(block_poly);
        assert!(
            region.boundary.contains(
                &block_ll
                    .exterior()
                    .0
                    .iter()
                    .map(|c| Point(*c))
                    .collect::<geo_types::MultiPoint<f64>>()
            ) || block_ll
                .exterior()
                .coords()
                .all(|c| geo::Intersects::intersects(&region.boundary, &Point(*c))),
            "block {block} outside region {}",
            region.code
        );
    }
    // Communities tile their street, streets the district.
    let area = |code: &RegionCode| {
        geo::Area::unsigned_area(&g.projection.project(&regions[code].boundary))
    };
    let district = g.regions.iter().find(|r| r.parent.is_none()).unwrap();
    let streets: f64 = g
        .regions
        .iter()
        .filter(|r| r.parent == Some(district.code))
        .map(|r| area(&r.code))
        .sum();
    assert!((streets / area(&district.code) - 1.0).abs() < 1e-9);
}

/// Union-find over road end points (rounded to a centimetre).
fn components(roads: &[&city::Street]) -> usize {
    let mut ids: HashMap<(i64, i64), usize> = HashMap::new();
    let mut parent: Vec<usize> = Vec::new();
    fn find(p: &mut Vec<usize>, x: usize) -> usize {
        let mut r = x;
        while p[r] != r {
            r = p[r];
        }
        p[x] = r;
        r
    }
    let mut id = |c: &geo_types::Coord<f64>, parent: &mut Vec<usize>| {
        let key = ((c.x * 100.0).round() as i64, (c.y * 100.0).round() as i64);
        *ids.entry(key).or_insert_with(|| {
            parent.push(parent.len());
            parent.len() - 1
        })
    };
    for s in roads {
        let a = id(&s.line.0[0], &mut parent);
        for c in &s.line.0[1..] {
            let b = id(c, &mut parent);
            let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
            parent[ra] = rb;
        }
    }
    (0..parent.len())
        .filter(|&x| find(&mut parent, x) == x)
        .count()
}

#[test]
fn street_network_is_connected_only_across_its_bridges() {
    let g = city(50_000, 5);
    let streets: Vec<&city::Street> = g
        .city
        .streets
        .iter()
        .filter(|s| s.class != crate::domain::RoadClass::Railway)
        .collect();
    assert_eq!(components(&streets), 1, "the street network is one piece");
    let bridges = streets.iter().filter(|s| s.bridge).count();
    assert!(
        (1..=g.city.width / 4).contains(&bridges),
        "{bridges} bridges for {} columns",
        g.city.width
    );
    let no_bridges: Vec<&city::Street> = streets.iter().copied().filter(|s| !s.bridge).collect();
    assert_eq!(
        components(&no_bridges),
        2,
        "without its bridges the river splits the city"
    );
    // Local streets stop short of the railway: only arterials cross it.
    let rail_x = g.city.node(g.city.rail_col, 0).x;
    let crossing = streets
        .iter()
        .filter(|s| s.line.0.iter().any(|c| (c.x - rail_x).abs() < 1e-6))
        .count();
    assert!(
        crossing > 0 && crossing <= 2 * (g.city.height / 4 + 1) + 2,
        "{crossing} streets touch the railway"
    );
    assert!(
        g.city
            .streets
            .iter()
            .any(|s| s.class == crate::domain::RoadClass::Service),
        "cul-de-sacs"
    );
}
