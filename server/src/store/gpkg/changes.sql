-- The change log (see store/changes.rs): one row per write, in the
-- write's transaction. AUTOINCREMENT: a seq is never reused, and a
-- rolled-back write leaves no gap (sqlite_sequence rolls back with it).
-- Idempotent: applied at every open.
CREATE TABLE IF NOT EXISTS changes (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  at TEXT NOT NULL,
  layer TEXT NOT NULL,
  id INTEGER,
  op TEXT NOT NULL,
  region TEXT,
  actor TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS changes_record ON changes(layer, id);
-- An ETag check reads the newest import of the record's layer: without
-- this index that read scans every change row of the layer, so each write
-- grew slower as the log grew.
CREATE INDEX IF NOT EXISTS changes_imports ON changes(layer, seq) WHERE op = 'import';
