-- Incidents (see store/incidents.rs): the record, its hazard areas (every
-- version kept, as the officer gave it: GeoJSON polygon or circle) and its
-- timeline. Ids are max + 1 under the store's write lock, as change seqs.
CREATE TABLE IF NOT EXISTS incidents (
  id bigint PRIMARY KEY,
  title text NOT NULL,
  kind text NOT NULL,
  status text NOT NULL,
  opened_by text NOT NULL,
  opened_at text NOT NULL,
  closed_at text,
  -- The seq of the incident's last own write (not a household mark):
  -- its ETag.
  seq bigint NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS incident_areas (
  incident bigint NOT NULL REFERENCES incidents(id),
  version bigint NOT NULL,
  at text NOT NULL,
  actor text NOT NULL,
  area jsonb NOT NULL,
  PRIMARY KEY (incident, version)
);
CREATE TABLE IF NOT EXISTS incident_timeline (
  id bigint PRIMARY KEY,
  incident bigint NOT NULL REFERENCES incidents(id),
  at text NOT NULL,
  actor text NOT NULL,
  what text NOT NULL,
  detail text NOT NULL
);
CREATE INDEX IF NOT EXISTS incident_timeline_of ON incident_timeline (incident, id);
-- Each household's status in an incident as last marked; version counts
-- the marks (the status's ETag).
CREATE TABLE IF NOT EXISTS incident_households (
  incident bigint NOT NULL REFERENCES incidents(id),
  household bigint NOT NULL,
  status text NOT NULL,
  note text NOT NULL,
  actor text NOT NULL,
  at text NOT NULL,
  version bigint NOT NULL,
  PRIMARY KEY (incident, household)
);
