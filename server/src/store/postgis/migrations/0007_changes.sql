-- The change log (see store/changes.rs): one row per write, in the
-- write's transaction. seq is max + 1 taken under the store's write lock,
-- not a SEQUENCE: a rolled-back write would leave a gap in a sequence.
CREATE TABLE IF NOT EXISTS changes (
  seq bigint PRIMARY KEY,
  at text NOT NULL,
  layer text NOT NULL,
  id bigint,
  op text NOT NULL,
  region text,
  actor text NOT NULL
);
CREATE INDEX IF NOT EXISTS changes_record ON changes (layer, id);
CREATE INDEX IF NOT EXISTS changes_imports ON changes (layer) WHERE op = 'import';
