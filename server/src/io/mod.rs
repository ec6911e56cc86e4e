//! Import and export: GeoJSON, CSV/XLSX, OSM PBF.

/// Records as GeoJSON features, for the API and exports.
pub mod feature;
