//! Incidents in the GeoPackage (see [`crate::store::incidents`]): plain
//! tables beside the layers, written under the store's one connection.

use rusqlite::{params, Connection, OptionalExtension};

use super::{accounts, changes, sql, GeoPackage};
use crate::access::account::AuditEntry;
use crate::incident::{
    AreaVersion, ContactStatus, HouseholdStatus, Incident, IncidentKind, IncidentStatus,
    IncidentWrite, Sent, TimelineEntry,
};
use crate::store::incidents::{
    audited, change, closed, corrupt, detail, missing, IncidentRecord, IncidentStore,
};
use crate::store::{Change, PersonWrite, Result, StoreError};

const SCHEMA: &str = include_str!("incidents.sql");

/// Creates the tables when missing (every open).
pub(super) fn ensure(c: &Connection) -> Result<()> {
    c.execute_batch(SCHEMA)
        .map_err(sql("create the incident tables"))
}

type Row = (i64, String, String, String, String, String, Option<String>);

fn incident_rows(c: &Connection, id: Option<i64>) -> Result<Vec<Incident>> {
    let op = "read incidents";
    let rows: Vec<Row> = c
        .prepare_cached(
            "SELECT id, title, kind, status, opened_by, opened_at, closed_at FROM incidents
             WHERE ?1 IS NULL OR id = ?1 ORDER BY id DESC",
        )
        .and_then(|mut s| {
            s.query_map([id], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()
        })
        .map_err(sql(op))?;
    let mut out = Vec::with_capacity(rows.len());
    for (id, title, kind, status, opened_by, opened_at, closed_at) in rows {
        out.push(Incident {
            id,
            title,
            kind: IncidentKind::parse(&kind).ok_or_else(|| corrupt("kind", &kind))?,
            status: IncidentStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
            opened_by,
            opened_at,
            closed_at,
            areas: areas(c, id)?,
        });
    }
    Ok(out)
}

fn areas(c: &Connection, id: i64) -> Result<Vec<AreaVersion>> {
    let rows: Vec<(i64, String, String, String)> = c
        .prepare_cached(
            "SELECT version, at, actor, area FROM incident_areas WHERE incident = ?1 ORDER BY version",
        )
        .and_then(|mut s| {
            s.query_map([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()
        })
        .map_err(sql("read incident areas"))?;
    rows.into_iter()
        .map(|(version, at, by, area)| {
            Ok(AreaVersion {
                version,
                at,
                by,
                area: serde_json::from_str(&area).map_err(|e| StoreError::Corrupt {
                    what: "incident_areas.area".into(),
                    reason: e.to_string(),
                })?,
            })
        })
        .collect()
}

fn timeline_rows(c: &Connection, id: i64) -> Result<Vec<TimelineEntry>> {
    c.prepare_cached(
        "SELECT id, at, actor, what, detail FROM incident_timeline WHERE incident = ?1 ORDER BY id",
    )
    .and_then(|mut s| {
        s.query_map([id], |r| {
            Ok(TimelineEntry {
                id: r.get(0)?,
                at: r.get(1)?,
                actor: r.get(2)?,
                what: r.get(3)?,
                detail: r.get(4)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()
    })
    .map_err(sql("read an incident's timeline"))
}

/// The seq of the incident's last own write (0 when none or copied).
fn etag_in(c: &Connection, id: i64) -> Result<i64> {
    c.prepare_cached("SELECT coalesce(max(seq), 0) FROM incidents WHERE id = ?1")
        .and_then(|mut s| s.query_row([id], |r| r.get(0)))
        .map_err(sql("read an incident's etag"))
}

fn insert_area(
    c: &Connection,
    id: i64,
    version: i64,
    audit: &AuditEntry,
    area: &serde_json::Value,
) -> Result<()> {
    c.execute(
        "INSERT INTO incident_areas (incident, version, at, actor, area) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![id, version, audit.at, audit.user, area.to_string()],
    )
    .map(drop)
    .map_err(sql("write an incident area"))
}

fn insert_line(
    c: &Connection,
    id: i64,
    at: &str,
    actor: &str,
    what: &str,
    detail: &str,
) -> Result<()> {
    c.execute(
        "INSERT INTO incident_timeline (incident, at, actor, what, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![id, at, actor, what, detail],
    )
    .map(drop)
    .map_err(sql("write an incident's timeline"))
}

/// The incident must be there, open, at the ETag the writer read (when
/// given: a mark checks its status's version instead).
fn check(c: &Connection, id: i64, expect: Option<i64>) -> Result<()> {
    let status: Option<String> = c
        .query_row("SELECT status FROM incidents WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .optional()
        .map_err(sql("find an incident"))?;
    let Some(status) = status else {
        return Err(missing(id));
    };
    if let Some(expect) = expect {
        let current = etag_in(c, id)?;
        if current != expect {
            return Err(crate::store::changes::stale(id, current));
        }
    }
    if status == IncidentStatus::Closed.as_str() {
        return Err(closed(id));
    }
    Ok(())
}

fn status_rows(c: &Connection, id: i64) -> Result<Vec<HouseholdStatus>> {
    let rows: Vec<(i64, String, String, String, String, i64)> = c
        .prepare_cached(
            "SELECT household, status, note, actor, at, version FROM incident_households
             WHERE incident = ?1 ORDER BY household",
        )
        .and_then(|mut s| {
            s.query_map([id], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()
        })
        .map_err(sql("read household statuses"))?;
    rows.into_iter()
        .map(|(household, status, note, by, at, version)| {
            Ok(HouseholdStatus {
                household,
                status: ContactStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
                note,
                by,
                at,
                version,
            })
        })
        .collect()
}

fn sent_rows(c: &Connection, id: i64) -> Result<Vec<Sent>> {
    c.prepare_cached(
        "SELECT household, volunteer, actor, at FROM incident_sent WHERE incident = ?1 ORDER BY household",
    )
    .and_then(|mut s| {
        s.query_map([id], |r| {
            Ok(Sent {
                household: r.get(0)?,
                volunteer: r.get(1)?,
                by: r.get(2)?,
                at: r.get(3)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()
    })
    .map_err(sql("read who was sent"))
}

fn put_sent(c: &Connection, id: i64, s: &Sent) -> Result<()> {
    c.execute(
        "INSERT INTO incident_sent (incident, household, volunteer, actor, at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (incident, household) DO UPDATE SET volunteer = excluded.volunteer,
           actor = excluded.actor, at = excluded.at",
        params![id, s.household, s.volunteer, s.by, s.at],
    )
    .map(drop)
    .map_err(sql("record who was sent"))
}

fn put_status(c: &Connection, id: i64, h: &HouseholdStatus) -> Result<()> {
    c.execute(
        "INSERT INTO incident_households (incident, household, status, note, actor, at, version)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (incident, household) DO UPDATE SET status = excluded.status,
           note = excluded.note, actor = excluded.actor, at = excluded.at, version = excluded.version",
        params![id, h.household, h.status.as_str(), h.note, h.by, h.at, h.version],
    )
    .map(drop)
    .map_err(sql("mark a household"))
}

/// The write's own rows (not the change row nor the audit line).
fn apply(c: &Connection, w: &IncidentWrite, audit: &AuditEntry) -> Result<(i64, Option<i64>)> {
    match w {
        IncidentWrite::Open {
            title, kind, area, ..
        } => {
            c.execute(
                "INSERT INTO incidents (title, kind, status, opened_by, opened_at) VALUES (?1, ?2, 'open', ?3, ?4)",
                params![title, kind.as_str(), audit.user, audit.at],
            )
            .map_err(sql("open an incident"))?;
            let id = c.last_insert_rowid();
            insert_area(c, id, 1, audit, area)?;
            Ok((id, Some(1)))
        }
        IncidentWrite::Redraw {
            id, area, expect, ..
        } => {
            check(c, *id, Some(*expect))?;
            let v: i64 = c
                .query_row(
                    "SELECT coalesce(max(version), 0) + 1 FROM incident_areas WHERE incident = ?1",
                    [id],
                    |r| r.get(0),
                )
                .map_err(sql("number an incident area"))?;
            insert_area(c, *id, v, audit, area)?;
            Ok((*id, Some(v)))
        }
        IncidentWrite::Note { id, expect, .. } => {
            check(c, *id, Some(*expect))?;
            Ok((*id, None))
        }
        IncidentWrite::Mark {
            id,
            household,
            status,
            note,
            expect,
            ..
        } => {
            check(c, *id, None)?;
            let current: i64 = c
                .query_row(
                    "SELECT coalesce(max(version), 0) FROM incident_households
                     WHERE incident = ?1 AND household = ?2",
                    params![id, household],
                    |r| r.get(0),
                )
                .map_err(sql("read a household's status"))?;
            if current != *expect {
                return Err(crate::store::changes::stale(*household, current));
            }
            let row = HouseholdStatus {
                household: *household,
                status: *status,
                note: note.clone(),
                by: audit.user.clone(),
                at: audit.at.clone(),
                version: current + 1,
            };
            put_status(c, *id, &row)?;
            Ok((*id, None))
        }
        IncidentWrite::Dispatch { id, routes, .. } => {
            check(c, *id, None)?;
            for (volunteer, households) in routes {
                for &household in households {
                    let row = Sent {
                        household,
                        volunteer: *volunteer,
                        by: audit.user.clone(),
                        at: audit.at.clone(),
                    };
                    put_sent(c, *id, &row)?;
                }
            }
            Ok((*id, None))
        }
        IncidentWrite::Close { id, expect, .. } => {
            check(c, *id, Some(*expect))?;
            c.execute(
                "UPDATE incidents SET status = 'closed', closed_at = ?2 WHERE id = ?1",
                params![id, audit.at],
            )
            .map_err(sql("close an incident"))?;
            Ok((*id, None))
        }
    }
}

/// One incident write with its timeline line, change row and audit
/// line, inside the caller's transaction.
fn write_in(tx: &Connection, w: &IncidentWrite, audit: &AuditEntry) -> Result<Change> {
    let (id, version) = apply(tx, w, audit)?;
    insert_line(
        tx,
        id,
        &audit.at,
        &audit.user,
        w.what(),
        &detail(w, version),
    )?;
    let done = changes::append(tx, &change(w, id, audit))?;
    // Marks and dispatches are not the incident's own writes: its ETag
    // stays (an officer's redraw does not conflict with a mark).
    if !matches!(
        w,
        IncidentWrite::Mark { .. } | IncidentWrite::Dispatch { .. }
    ) {
        tx.execute(
            "UPDATE incidents SET seq = ?2 WHERE id = ?1",
            params![id, done.seq],
        )
        .map_err(sql("stamp an incident"))?;
    }
    accounts::insert_audit(tx, &audited(audit, &done))?;
    Ok(done)
}

impl IncidentStore for GeoPackage {
    fn incidents(&self) -> Result<Vec<Incident>> {
        incident_rows(&self.lock(), None)
    }

    fn incident(&self, id: i64) -> Result<Option<Incident>> {
        Ok(incident_rows(&self.lock(), Some(id))?.pop())
    }

    fn timeline(&self, id: i64) -> Result<Vec<TimelineEntry>> {
        timeline_rows(&self.lock(), id)
    }

    fn household_statuses(&self, id: i64) -> Result<Vec<HouseholdStatus>> {
        status_rows(&self.lock(), id)
    }

    fn sent(&self, id: i64) -> Result<Vec<Sent>> {
        sent_rows(&self.lock(), id)
    }

    fn write_incident(&self, w: &IncidentWrite, audit: &AuditEntry) -> Result<Change> {
        let mut c = self.lock();
        let tx = c.transaction().map_err(sql("begin an incident write"))?;
        let done = write_in(&tx, w, audit)?;
        tx.commit().map_err(sql("commit an incident write"))?;
        Ok(done)
    }

    fn dispatch_in(
        &self,
        w: &IncidentWrite,
        people: &[(PersonWrite, AuditEntry)],
        audit: &AuditEntry,
    ) -> Result<Vec<Change>> {
        let mut c = self.lock();
        let tx = c.transaction().map_err(sql("begin a dispatch"))?;
        // The incident first: closed or missing refuses before any write.
        check(&tx, w.id().unwrap_or_default(), None)?;
        let mut out = self.write_people_in(&tx, people)?;
        out.push(write_in(&tx, w, audit)?);
        tx.commit().map_err(sql("commit a dispatch"))?;
        Ok(out)
    }

    fn incident_etag(&self, id: i64) -> Result<i64> {
        etag_in(&self.lock(), id)
    }

    fn restore_incidents(&self, all: &[IncidentRecord]) -> Result<()> {
        let mut c = self.lock();
        let tx = c.transaction().map_err(sql("begin restoring incidents"))?;
        for (i, lines, statuses, sent) in all {
            tx.execute(
                "INSERT INTO incidents (id, title, kind, status, opened_by, opened_at, closed_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    i.id,
                    i.title,
                    i.kind.as_str(),
                    i.status.as_str(),
                    i.opened_by,
                    i.opened_at,
                    i.closed_at
                ],
            )
            .map_err(sql("restore an incident"))?;
            for a in &i.areas {
                tx.execute(
                    "INSERT INTO incident_areas (incident, version, at, actor, area) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![i.id, a.version, a.at, a.by, a.area.to_string()],
                )
                .map_err(sql("restore an incident area"))?;
            }
            for l in lines {
                tx.execute(
                    "INSERT INTO incident_timeline (id, incident, at, actor, what, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![l.id, i.id, l.at, l.actor, l.what, l.detail],
                )
                .map_err(sql("restore an incident's timeline"))?;
            }
            for h in statuses {
                put_status(&tx, i.id, h)?;
            }
            for x in sent {
                put_sent(&tx, i.id, x)?;
            }
        }
        tx.commit().map_err(sql("commit restoring incidents"))
    }
}
