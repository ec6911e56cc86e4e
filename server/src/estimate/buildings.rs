//! Households from building footprints: storeys (or height / 3 m) ×
//! footprint area × the residential share of the building's kind / the
//! average dwelling area. Fractions carry over from building to building so
//! the total is not lost to rounding.

use geo::Area;
use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;

use crate::domain::{Building, CareLevel, Household, SensitiveFlags};
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
    /// Residential shares by building kind that override the defaults of
    /// [`residential_share`].
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

/// Residential share of floor area by OSM-style kind.
pub fn residential_share(kind: &str) -> f64 {
    match kind {
        "apartments" | "residential" | "house" | "detached" | "semidetached_house" | "terrace"
        | "dormitory" => 1.0,
        // Untyped buildings in Chinese cities are mostly housing.
        "yes" | "building" => 0.7,
        "commercial" | "retail" | "office" | "hotel" | "mixed" => 0.05,
        _ => 0.0,
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
/// its building and flagged estimated.
pub fn estimate(buildings: &[Building], p: &Params, first_id: i64) -> Vec<Household> {
    let mut rng = Pcg64Mcg::seed_from_u64(p.seed);
    let mut out = Vec::new();
    let mut carry = 0.0;
    for b in buildings {
        let Some(c) = geo::Centroid::centroid(&b.geometry) else {
            continue;
        };
        let proj = LocalProjection::new(c.0);
        let area = proj.project(&b.geometry).unsigned_area();
        let exact = area
            * f64::from(storeys(b, p))
            * p.shares
                .get(&b.kind)
                .copied()
                .unwrap_or_else(|| residential_share(&b.kind))
            / p.dwelling_m2
            + carry;
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
    out
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
        let hs = estimate(
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
            .len(),
            66
        );
        // A share given for a kind overrides the default.
        let mut q = Params::default();
        q.shares.insert("office".into(), 0.5);
        assert_eq!(
            estimate(&[building(5, 30.0, 20.0, Some(6), None, "office")], &q, 1).len(),
            20
        );
        // Offices hold 5% housing; schools none.
        assert_eq!(
            estimate(&[building(3, 30.0, 20.0, Some(6), None, "office")], &p, 1).len(),
            2
        );
        assert!(estimate(&[building(4, 30.0, 20.0, Some(6), None, "school")], &p, 1).is_empty());
    }

    #[test]
    fn fractions_carry_and_points_stay_inside() {
        let p = Params::default();
        // Ten 60 m² bungalows: 600 m² / 90 = 6.67 → 6, not 0.
        let bs: Vec<_> = (0..10)
            .map(|i| building(i, 10.0, 6.0, Some(1), None, "house"))
            .collect();
        let hs = estimate(&bs, &p, 100);
        assert_eq!(hs.len(), 6);
        assert_eq!(hs[0].id, 100);
        for h in &hs {
            let b = &bs[h.building.unwrap() as usize];
            assert!(b.geometry.contains(&h.location));
        }
        assert_eq!(estimate(&bs, &p, 100), hs, "deterministic");
    }
}
