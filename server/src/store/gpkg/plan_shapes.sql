-- The grids of every plan version with their shapes, and two views of
-- them QGIS and GDAL list as feature layers: each region's newest version
-- and its newest published version. Idempotent: applied at every open.
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
CREATE VIEW IF NOT EXISTS plan_grids_current AS
  SELECT s.fid AS fid, s.geom AS geom, s.version, s.region, s.number, s.level, s.code,
         s.parent, s.households, s.balance
  FROM plan_grid_shapes s
  WHERE s.number = (SELECT max(v.number) FROM plan_versions v WHERE v.region = s.region);
CREATE VIEW IF NOT EXISTS plan_grids_published AS
  SELECT s.fid AS fid, s.geom AS geom, s.version, s.region, s.number, s.level, s.code,
         s.parent, s.households, s.balance
  FROM plan_grid_shapes s
  WHERE s.number = (SELECT max(v.number) FROM plan_versions v
                    WHERE v.region = s.region AND v.published <> 0);
INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) VALUES
  ('plan_grid_shapes', 'features', 'plan_grid_shapes', 'grids of every plan version', 4326),
  ('plan_grids_current', 'features', 'plan_grids_current', 'grids of each region''s newest plan version', 4326),
  ('plan_grids_published', 'features', 'plan_grids_published', 'grids of each region''s newest published plan version', 4326);
INSERT OR IGNORE INTO gpkg_geometry_columns VALUES
  ('plan_grid_shapes', 'geom', 'MULTIPOLYGON', 4326, 0, 0),
  ('plan_grids_current', 'geom', 'MULTIPOLYGON', 4326, 0, 0),
  ('plan_grids_published', 'geom', 'MULTIPOLYGON', 4326, 0, 0);
