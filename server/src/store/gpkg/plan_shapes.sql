-- The grids of every plan version with their shapes, and two layers
-- copied from them: each region's newest version and its newest published
-- version. Tables, not views, so that each has its spatial index as the
-- GeoPackage standard allows only on tables; the store rewrites a region's
-- rows when the shapes of its newest version are written (fids are those
-- of plan_grid_shapes). Idempotent: applied at every open.
CREATE TABLE IF NOT EXISTS plan_grid_shapes (
  fid INTEGER PRIMARY KEY AUTOINCREMENT,
  geom MULTIPOLYGON NOT NULL,
  version INTEGER NOT NULL REFERENCES plan_versions(id),
  region TEXT NOT NULL,
  number INTEGER NOT NULL,
  level INTEGER NOT NULL,
  code TEXT NOT NULL,
  parent TEXT,
  households INTEGER NOT NULL,
  balance REAL NOT NULL,
  UNIQUE (version, level, code)
);
CREATE TABLE IF NOT EXISTS plan_grids_current (
  fid INTEGER PRIMARY KEY,
  geom MULTIPOLYGON NOT NULL,
  version INTEGER NOT NULL,
  region TEXT NOT NULL,
  number INTEGER NOT NULL,
  level INTEGER NOT NULL,
  code TEXT NOT NULL,
  parent TEXT,
  households INTEGER NOT NULL,
  balance REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS plan_grids_published (
  fid INTEGER PRIMARY KEY,
  geom MULTIPOLYGON NOT NULL,
  version INTEGER NOT NULL,
  region TEXT NOT NULL,
  number INTEGER NOT NULL,
  level INTEGER NOT NULL,
  code TEXT NOT NULL,
  parent TEXT,
  households INTEGER NOT NULL,
  balance REAL NOT NULL
);
-- A household write forgets its region's shapes (their figures changed):
-- without this index each write scanned every version's grids.
CREATE INDEX IF NOT EXISTS plan_grid_shapes_region ON plan_grid_shapes(region);
CREATE INDEX IF NOT EXISTS plan_grids_current_region ON plan_grids_current(region);
CREATE INDEX IF NOT EXISTS plan_grids_published_region ON plan_grids_published(region);
INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) VALUES
  ('plan_grid_shapes', 'features', 'plan_grid_shapes', 'grids of every plan version', 4326),
  ('plan_grids_current', 'features', 'plan_grids_current', 'grids of each region''s newest plan version', 4326),
  ('plan_grids_published', 'features', 'plan_grids_published', 'grids of each region''s newest published plan version', 4326);
INSERT OR IGNORE INTO gpkg_geometry_columns VALUES
  ('plan_grid_shapes', 'geom', 'MULTIPOLYGON', 4326, 0, 0),
  ('plan_grids_current', 'geom', 'MULTIPOLYGON', 4326, 0, 0),
  ('plan_grids_published', 'geom', 'MULTIPOLYGON', 4326, 0, 0);
