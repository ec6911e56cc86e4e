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
  closed_at TEXT
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
