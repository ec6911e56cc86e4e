//! Coordinates and indexes: CRS conversion, local metric projection,
//! R-trees and point-in-region placement.

/// Coordinate reference systems of imports, and conversion to WGS-84.
pub mod crs;

/// Point-in-region placement with a deterministic boundary rule.
pub mod placement;

/// Local metric projection centred on a region.
pub mod projection;

/// The walking network along roads (coverage reach, emergency walks).
pub mod network;

/// The smallest rectangle covering both (bounding boxes of many things,
/// folded with `reduce`).
pub fn cover(a: geo_types::Rect<f64>, b: geo_types::Rect<f64>) -> geo_types::Rect<f64> {
    geo_types::Rect::new(
        geo_types::Coord {
            x: a.min().x.min(b.min().x),
            y: a.min().y.min(b.min().y),
        },
        geo_types::Coord {
            x: a.max().x.max(b.max().x),
            y: a.max().y.max(b.max().y),
        },
    )
}
