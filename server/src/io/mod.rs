//! Import and export: GeoJSON, CSV/XLSX, OSM PBF.
