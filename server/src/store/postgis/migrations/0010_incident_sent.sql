-- Who was sent to each household in an incident: the volunteer of the
-- last confirmed dispatch that named it.
CREATE TABLE IF NOT EXISTS incident_sent (
  incident bigint NOT NULL REFERENCES incidents(id),
  household bigint NOT NULL,
  volunteer bigint NOT NULL,
  actor text NOT NULL,
  at text NOT NULL,
  PRIMARY KEY (incident, household)
);
