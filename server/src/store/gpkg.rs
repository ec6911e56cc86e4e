//! The embedded store: an OGC GeoPackage 1.3 file (SQLite), so QGIS and GDAL
//! open it directly.
