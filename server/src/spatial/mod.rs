//! Coordinates and indexes: CRS conversion, local metric projection,
//! R-trees and point-in-region placement.

/// Coordinate reference systems of imports, and conversion to WGS-84.
pub mod crs;

/// Point-in-region placement with a deterministic boundary rule.
pub mod placement;

/// Local metric projection centred on a region.
pub mod projection;
