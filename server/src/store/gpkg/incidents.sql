-- Incidents (see store/incidents.rs): the record, its hazard areas (every
-- version kept, as the officer gave it: GeoJSON polygon or circle, JSON
-- text) and its timeline. Idempotent: applied at every open.
CREATE TABLE IF NOT EXISTS incidents (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  title TEXT NOT NULL,
  kind TEXT NOT NULL,
  status TEXT NOT NULL,
  opened_by TEXT NOT NULL,
  opened_at TEXT NOT NULL,
  closed_at TEXT,
  -- The seq of the incident's last own write (not a household mark):
  -- its ETag.
  seq INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS incident_areas (
  incident INTEGER NOT NULL REFERENCES incidents(id),
  version INTEGER NOT NULL,
  at TEXT NOT NULL,
  actor TEXT NOT NULL,
  area TEXT NOT NULL,
  PRIMARY KEY (incident, version)
);
CREATE TABLE IF NOT EXISTS incident_timeline (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  incident INTEGER NOT NULL REFERENCES incidents(id),
  at TEXT NOT NULL,
  actor TEXT NOT NULL,
  what TEXT NOT NULL,
  detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS incident_timeline_of ON incident_timeline(incident, id);
-- Each household's status in an incident as last marked; version counts
-- the marks (the status's ETag).
CREATE TABLE IF NOT EXISTS incident_households (
  incident INTEGER NOT NULL REFERENCES incidents(id),
  household INTEGER NOT NULL,
  status TEXT NOT NULL,
  note TEXT NOT NULL,
  actor TEXT NOT NULL,
  at TEXT NOT NULL,
  version INTEGER NOT NULL,
  PRIMARY KEY (incident, household)
);
-- Who was sent to each household in an incident: the volunteer of the
-- last confirmed dispatch that named it.
CREATE TABLE IF NOT EXISTS incident_sent (
  incident INTEGER NOT NULL REFERENCES incidents(id),
  household INTEGER NOT NULL,
  volunteer INTEGER NOT NULL,
  actor TEXT NOT NULL,
  at TEXT NOT NULL,
  PRIMARY KEY (incident, household)
);
