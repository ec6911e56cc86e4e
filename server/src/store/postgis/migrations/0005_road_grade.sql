-- Where a road or railway runs: surface, tunnel or bridge. Roads stored
-- before were read as surface lines.
ALTER TABLE roads ADD COLUMN IF NOT EXISTS grade text NOT NULL DEFAULT 'surface';
