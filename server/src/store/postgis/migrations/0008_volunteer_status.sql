-- A volunteer's status (on_duty, off_duty, dispatched) and where they
-- checked in. Rows stored before have neither: a NULL status is read from
-- available, a NULL check-in means "sent from home".
ALTER TABLE people ADD COLUMN IF NOT EXISTS status text;
ALTER TABLE people ADD COLUMN IF NOT EXISTS checkin geometry(Point, 4326);
CREATE INDEX IF NOT EXISTS people_checkin_gist ON people USING gist (checkin);
