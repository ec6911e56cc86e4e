//! Household estimation on real ground, where no household register is at
//! hand. Both methods are deterministic for a seed and flag every record
//! they make as estimated, so no screen can pass them off as counted.
//!
//! - [`buildings`]: from footprints with storeys (or height / 3 m), a
//!   residential share by building kind and an average dwelling area.
//! - [`census`]: a census population per region spread over population
//!   cells by floor area, divided by the average household size.

pub mod buildings;
pub mod census;

use geo::{BoundingRect, Contains};
use geo_types::{Coord, MultiPolygon, Point};
use rand::Rng;
use rand_pcg::Pcg64Mcg;

/// A point inside `area` (and inside `within`, when given), by rejection
/// sampling in the bounding box; falls back to `fallback` when the two
/// barely overlap.
fn point_in(
    area: &MultiPolygon<f64>,
    within: Option<&MultiPolygon<f64>>,
    fallback: Coord<f64>,
    rng: &mut Pcg64Mcg,
) -> Point<f64> {
    let Some(rect) = area.bounding_rect() else {
        return Point(fallback);
    };
    for _ in 0..64 {
        let p = Point::new(
            rect.min().x + rng.random::<f64>() * rect.width(),
            rect.min().y + rng.random::<f64>() * rect.height(),
        );
        if area.contains(&p) && within.is_none_or(|w| w.contains(&p)) {
            return p;
        }
    }
    Point(fallback)
}

/// Splits `total` into integer parts proportional to `weights`, summing to
/// exactly `total` (cumulative rounding, so no part drifts).
pub fn apportion(total: u64, weights: &[f64]) -> Vec<u64> {
    let sum: f64 = weights.iter().sum();
    if sum <= 0.0 {
        return vec![0; weights.len()];
    }
    let mut out = Vec::with_capacity(weights.len());
    let (mut acc, mut given) = (0.0, 0u64);
    for w in weights {
        acc += w;
        let upto = (acc / sum * total as f64).round() as u64;
        out.push(upto.saturating_sub(given));
        given = upto.max(given);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apportion_is_exact_and_proportional() {
        assert_eq!(apportion(10, &[1.0, 1.0, 2.0]), vec![3, 2, 5]);
        assert_eq!(apportion(7, &[0.0, 0.0]), vec![0, 0]);
        let parts = apportion(681_293, &[0.3, 0.2, 0.5, 1e-9]);
        assert_eq!(parts.iter().sum::<u64>(), 681_293);
    }
}
