-- The GeoPackage 1.3 core tables, then one feature table per layer and the
-- plan tables. Applied once to a new file, inside one transaction.
CREATE TABLE gpkg_spatial_ref_sys (
  srs_name TEXT NOT NULL,
  srs_id INTEGER PRIMARY KEY,
  organization TEXT NOT NULL,
  organization_coordsys_id INTEGER NOT NULL,
  definition TEXT NOT NULL,
  description TEXT
);
INSERT INTO gpkg_spatial_ref_sys VALUES
  ('Undefined cartesian SRS', -1, 'NONE', -1, 'undefined', 'undefined cartesian coordinate reference system'),
  ('Undefined geographic SRS', 0, 'NONE', 0, 'undefined', 'undefined geographic coordinate reference system'),
  ('WGS 84 geodetic', 4326, 'EPSG', 4326,
   'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AXIS["Latitude",NORTH],AXIS["Longitude",EAST],AUTHORITY["EPSG","4326"]]',
   'longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid');
CREATE TABLE gpkg_contents (
  table_name TEXT NOT NULL PRIMARY KEY,
  data_type TEXT NOT NULL,
  identifier TEXT UNIQUE,
  description TEXT DEFAULT '',
  last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE,
  srs_id INTEGER,
  CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id)
);
CREATE TABLE gpkg_geometry_columns (
  table_name TEXT NOT NULL,
  column_name TEXT NOT NULL,
  geometry_type_name TEXT NOT NULL,
  srs_id INTEGER NOT NULL,
  z TINYINT NOT NULL,
  m TINYINT NOT NULL,
  CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
  CONSTRAINT uk_gc_table_name UNIQUE (table_name),
  CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
  CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id)
);
CREATE TABLE gpkg_extensions (
  table_name TEXT,
  column_name TEXT,
  extension_name TEXT NOT NULL,
  definition TEXT NOT NULL,
  scope TEXT NOT NULL,
  CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name)
);

CREATE TABLE regions (
  fid INTEGER PRIMARY KEY AUTOINCREMENT,
  geom MULTIPOLYGON NOT NULL,
  code TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  parent TEXT
);
CREATE TABLE atoms (
  fid INTEGER PRIMARY KEY AUTOINCREMENT,
  geom MULTIPOLYGON NOT NULL,
  region TEXT NOT NULL,
  atom_id INTEGER NOT NULL,
  kind TEXT NOT NULL,
  UNIQUE (region, atom_id)
);
CREATE TABLE households (
  fid INTEGER PRIMARY KEY AUTOINCREMENT,
  geom POINT NOT NULL,
  region TEXT,
  size INTEGER NOT NULL,
  care INTEGER NOT NULL,
  flags INTEGER NOT NULL,
  building INTEGER,
  address TEXT NOT NULL,
  head_name TEXT NOT NULL,
  phone TEXT NOT NULL,
  estimated INTEGER NOT NULL
);
CREATE TABLE people (
  fid INTEGER PRIMARY KEY AUTOINCREMENT,
  geom POINT NOT NULL,
  region TEXT,
  name TEXT NOT NULL,
  phone TEXT NOT NULL,
  roles TEXT NOT NULL,
  team TEXT,
  skills TEXT NOT NULL,
  available INTEGER NOT NULL,
  reserve INTEGER NOT NULL,
  grids TEXT NOT NULL,
  -- on_duty, off_duty or dispatched; NULL (older rows): from available
  status TEXT,
  -- where a volunteer checked in (WGS-84 degrees), or NULL: numbers, since
  -- a GeoPackage table holds one geometry column
  checkin_lon REAL,
  checkin_lat REAL
);
CREATE TABLE roads (
  fid INTEGER PRIMARY KEY AUTOINCREMENT,
  geom LINESTRING NOT NULL,
  class TEXT NOT NULL,
  name TEXT NOT NULL,
  -- surface, tunnel or bridge
  grade TEXT NOT NULL DEFAULT 'surface'
);
CREATE TABLE buildings (
  fid INTEGER PRIMARY KEY AUTOINCREMENT,
  geom MULTIPOLYGON NOT NULL,
  levels INTEGER,
  height_m REAL,
  kind TEXT NOT NULL
);
CREATE TABLE water (
  fid INTEGER PRIMARY KEY AUTOINCREMENT,
  geom GEOMETRY NOT NULL,
  kind TEXT NOT NULL,
  name TEXT NOT NULL
);
CREATE TABLE grids (
  fid INTEGER PRIMARY KEY AUTOINCREMENT,
  geom MULTIPOLYGON NOT NULL,
  region TEXT NOT NULL,
  level INTEGER NOT NULL,
  code TEXT NOT NULL,
  name TEXT NOT NULL,
  parent TEXT
);
CREATE INDEX households_region ON households(region);
CREATE INDEX people_region ON people(region);
CREATE INDEX grids_region ON grids(region);

CREATE TABLE plan_versions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  region TEXT NOT NULL,
  number INTEGER NOT NULL,
  parent INTEGER REFERENCES plan_versions(id),
  author TEXT NOT NULL,
  created_at TEXT NOT NULL,
  message TEXT NOT NULL,
  published INTEGER NOT NULL,
  UNIQUE (region, number)
);
CREATE TABLE plan_labels (
  fid INTEGER PRIMARY KEY AUTOINCREMENT,
  version INTEGER NOT NULL REFERENCES plan_versions(id),
  region TEXT NOT NULL,
  atom INTEGER NOT NULL,
  l1 INTEGER NOT NULL,
  l2 INTEGER NOT NULL,
  l3 INTEGER NOT NULL,
  UNIQUE (version, atom)
);
CREATE TABLE plan_grids (
  fid INTEGER PRIMARY KEY AUTOINCREMENT,
  version INTEGER NOT NULL REFERENCES plan_versions(id),
  region TEXT NOT NULL,
  level INTEGER NOT NULL,
  grid INTEGER NOT NULL,
  code TEXT NOT NULL,
  UNIQUE (version, level, grid)
);
CREATE TABLE wangge_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO wangge_meta VALUES ('schema_version', '1');

INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) VALUES
  ('regions', 'features', 'regions', 'areas being gridded (streets, communities)', 4326),
  ('atoms', 'features', 'atoms', 'smallest pieces grids are built from', 4326),
  ('households', 'features', 'households', 'households at their entrance point', 4326),
  ('people', 'features', 'people', 'grid staff and volunteers at home', 4326),
  ('roads', 'features', 'roads', 'road and railway centre lines', 4326),
  ('buildings', 'features', 'buildings', 'building footprints', 4326),
  ('water', 'features', 'water', 'rivers and water areas', 4326),
  ('grids', 'features', 'grids', 'grids imported from elsewhere', 4326),
  ('plan_versions', 'attributes', 'plan_versions', 'immutable plan versions', NULL),
  ('plan_labels', 'attributes', 'plan_labels', 'grid ids of each atom per plan version', NULL),
  ('plan_grids', 'attributes', 'plan_grids', 'grid codes per plan version', NULL);
INSERT INTO gpkg_geometry_columns VALUES
  ('regions', 'geom', 'MULTIPOLYGON', 4326, 0, 0),
  ('atoms', 'geom', 'MULTIPOLYGON', 4326, 0, 0),
  ('households', 'geom', 'POINT', 4326, 0, 0),
  ('people', 'geom', 'POINT', 4326, 0, 0),
  ('roads', 'geom', 'LINESTRING', 4326, 0, 0),
  ('buildings', 'geom', 'MULTIPOLYGON', 4326, 0, 0),
  ('water', 'geom', 'GEOMETRY', 4326, 0, 0),
  ('grids', 'geom', 'MULTIPOLYGON', 4326, 0, 0);
