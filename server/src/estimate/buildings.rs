//! Households from building footprints: storeys (or height / 3 m) ×
//! footprint area × the residential share of the building's use / the
//! average dwelling area. Fractions carry over from building to building so
//! the total is not lost to rounding. Buildings whose use houses nobody
//! (a college, a library, an office tower) are skipped and counted.

use geo::Area;
use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;

use crate::domain::{Building, BuildingUse, CareLevel, Household, SensitiveFlags};
use crate::spatial::projection::LocalProjection;

/// Parameters of the footprint method.
#[derive(Debug, Clone)]
pub struct Params {
    /// Average floor area per dwelling, m² (gross).
    pub dwelling_m2: f64,
    /// Storey height used when only a height is known.
    pub storey_m: f64,
    /// Storeys assumed when neither levels nor height are known.
    pub default_levels: u16,
    /// Persons per household, for the size field.
    pub household_size: u8,
    pub seed: u64,
    /// Residential shares by building kind (`yes`, `office`) or use
    /// (`unknown`, `mixed`, `education`) that override the defaults of
    /// [`BuildingUse::residential_share`]; a kind beats its use.
    pub shares: std::collections::HashMap<String, f64>,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            dwelling_m2: 90.0,
            storey_m: 3.0,
            default_levels: 1,
            household_size: 3,
            seed: 1,
            shares: std::collections::HashMap::new(),
        }
    }
}

/// Residential share of a building's floor area: the override for its
/// kind, else for its use, else its use's default.
pub fn residential_share(b: &Building, p: &Params) -> f64 {
    let used = b.building_use();
    p.shares
        .get(&b.kind)
        .or_else(|| p.shares.get(used.as_str()))
        .copied()
        .unwrap_or_else(|| used.residential_share())
}

/// What the estimate passed over: buildings that house nobody, by use.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Skipped {
    pub by_use: std::collections::BTreeMap<BuildingUse, usize>,
    /// Their floor area, m².
    pub floor_m2: f64,
}

impl Skipped {
    pub fn buildings(&self) -> usize {
        self.by_use.values().sum()
    }

    /// "12 buildings that house nobody: 5 office, 4 commercial, ..."
    pub fn describe(&self) -> String {
        let mut parts: Vec<(usize, BuildingUse)> =
            self.by_use.iter().map(|(u, n)| (*n, *u)).collect();
        parts.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let list: Vec<String> = parts
            .iter()
            .map(|(n, u)| format!("{n} {}", u.as_str()))
            .collect();
        format!(
            "{} building(s) skipped as housing nobody ({:.0} m² of floor): {}",
            self.buildings(),
            self.floor_m2,
            list.join(", ")
        )
    }
}

/// Storeys of a building: its levels, else height / storey height.
pub fn storeys(b: &Building, p: &Params) -> u16 {
    b.levels
        .filter(|l| *l > 0)
        .or_else(|| b.height_m.map(|h| (h / p.storey_m).round().max(1.0) as u16))
        .unwrap_or(p.default_levels)
}

/// Estimated households of `buildings`, ids from `first_id`, each inside
/// its building and flagged estimated; and the buildings skipped because
/// their use houses nobody.
pub fn estimate(buildings: &[Building], p: &Params, first_id: i64) -> (Vec<Household>, Skipped) {
    let mut rng = Pcg64Mcg::seed_from_u64(p.seed);
    let mut out = Vec::new();
    let mut skipped = Skipped::default();
    let mut carry = 0.0;
    for b in buildings {
        let Some(c) = geo::Centroid::centroid(&b.geometry) else {
            continue;
        };
        let proj = LocalProjection::new(c.0);
        let area = proj.project(&b.geometry).unsigned_area();
        let share = residential_share(b, p);
        if share <= 0.0 {
            *skipped.by_use.entry(b.building_use()).or_default() += 1;
            skipped.floor_m2 += area * f64::from(storeys(b, p));
            continue;
        }
        let exact = area * f64::from(storeys(b, p)) * share / p.dwelling_m2 + carry;
        let n = exact.floor();
        carry = exact - n;
        for _ in 0..n as u64 {
            out.push(Household {
                id: first_id + out.len() as i64,
                location: super::point_in(&b.geometry, None, c.0, &mut rng),
                size: p.household_size,
                care: CareLevel::REASSURED,
                flags: SensitiveFlags::default(),
                building: Some(b.id),
                address: String::new(),
                head_name: String::new(),
                phone: String::new(),
                region: None,
                estimated: true,
            });
        }
    }
    (out, skipped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::Contains;
    use geo_types::{Coord, MultiPolygon, Rect};

    /// A w × d metre rectangle near Shanghai.
    fn building(
        id: i64,
        w: f64,
        d: f64,
        levels: Option<u16>,
        height: Option<f64>,
        kind: &str,
    ) -> Building {
        let proj = LocalProjection::new(Coord { x: 121.5, y: 31.2 });
        let x0 = id as f64 * 100.0;
        let r = Rect::new(Coord { x: x0, y: 0.0 }, Coord { x: x0 + w, y: d }).to_polygon();
        Building {
            id,
            levels,
            height_m: height,
            kind: kind.into(),
            geometry: MultiPolygon(vec![proj.unproject(&r)]),
        }
    }

    #[test]
    fn floor_area_over_dwelling_area() {
        let p = Params::default();
        // 30 × 20 m, 6 storeys, all housing: 3,600 m² / 90 = 40.
        let (hs, _) = estimate(
            &[building(1, 30.0, 20.0, Some(6), None, "apartments")],
            &p,
            1,
        );
        assert_eq!(hs.len(), 40);
        assert!(hs.iter().all(|h| h.estimated && h.building == Some(1)));
        // Height 30 m = 10 storeys.
        assert_eq!(
            estimate(
                &[building(2, 30.0, 20.0, None, Some(30.0), "apartments")],
                &p,
                1
            )
            .0
            .len(),
            66
        );
        // A share given for a kind overrides the default.
        let mut q = Params::default();
        q.shares.insert("office".into(), 0.5);
        assert_eq!(
            estimate(&[building(5, 30.0, 20.0, Some(6), None, "office")], &q, 1)
                .0
                .len(),
            20
        );
        // ... and one given for a use, for all its kinds.
        let mut q = Params::default();
        q.shares.insert("unknown".into(), 0.5);
        assert_eq!(
            estimate(&[building(6, 30.0, 20.0, Some(6), None, "yes")], &q, 1)
                .0
                .len(),
            20
        );
        // Untyped buildings are mostly housing (0.7).
        assert_eq!(
            estimate(&[building(7, 30.0, 20.0, Some(6), None, "yes")], &p, 1)
                .0
                .len(),
            28
        );
    }

    #[test]
    fn buildings_that_house_nobody_are_skipped_and_counted() {
        let p = Params::default();
        let bs = [
            building(1, 30.0, 20.0, Some(6), None, "apartments"),
            building(2, 30.0, 20.0, Some(6), None, "office"),
            building(3, 30.0, 20.0, Some(6), None, "school"),
            building(4, 30.0, 20.0, Some(6), None, "library"),
            building(5, 30.0, 20.0, Some(6), None, "university"),
        ];
        let (hs, skipped) = estimate(&bs, &p, 1);
        assert_eq!(hs.len(), 40);
        assert!(hs.iter().all(|h| h.building == Some(1)));
        assert_eq!(skipped.buildings(), 4);
        assert_eq!(skipped.by_use[&BuildingUse::Education], 2);
        assert_eq!(skipped.by_use[&BuildingUse::Office], 1);
        assert_eq!(skipped.by_use[&BuildingUse::Civic], 1);
        assert!(
            (skipped.floor_m2 - 4.0 * 3600.0).abs() < 20.0,
            "{}",
            skipped.floor_m2
        );
        let text = skipped.describe();
        assert!(text.starts_with("4 building(s) skipped"), "{text}");
        assert!(text.contains("2 education"), "{text}");
    }

    #[test]
    fn fractions_carry_and_points_stay_inside() {
        let p = Params::default();
        // Ten 60 m² bungalows: 600 m² / 90 = 6.67 → 6, not 0.
        let bs: Vec<_> = (0..10)
            .map(|i| building(i, 10.0, 6.0, Some(1), None, "house"))
            .collect();
        let (hs, _) = estimate(&bs, &p, 100);
        assert_eq!(hs.len(), 6);
        assert_eq!(hs[0].id, 100);
        for h in &hs {
            let b = &bs[h.building.unwrap() as usize];
            assert!(b.geometry.contains(&h.location));
        }
        assert_eq!(estimate(&bs, &p, 100).0, hs, "deterministic");
    }
}
