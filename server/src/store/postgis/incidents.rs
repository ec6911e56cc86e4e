//! Incidents in PostGIS (see [`crate::store::incidents`]): written under
//! the store's write lock, so ids taken as `max + 1` cannot race.

use deadpool_postgres::ClientWrapper;

use super::{accounts, changes, pg, PostGis};
use crate::access::account::AuditEntry;
use crate::incident::{
    AreaVersion, ContactStatus, HouseholdStatus, Incident, IncidentKind, IncidentStatus,
    IncidentWrite, Sent, TimelineEntry,
};
use crate::store::incidents::{
    audited, change, closed, corrupt, detail, missing, IncidentRecord, IncidentStore,
};
use crate::store::{Change, PersonWrite, Result, StoreError};

async fn incident_rows(c: &ClientWrapper, id: Option<i64>) -> Result<Vec<Incident>> {
    let op = "read incidents";
    let rows = c
        .query(
            "SELECT id, title, kind, status, opened_by, opened_at, closed_at FROM incidents
             WHERE $1::bigint IS NULL OR id = $1 ORDER BY id DESC",
            &[&id],
        )
        .await
        .map_err(pg(op))?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let (id, kind, status): (i64, String, String) = (r.get(0), r.get(2), r.get(3));
        out.push(Incident {
            id,
            title: r.get(1),
            kind: IncidentKind::parse(&kind).ok_or_else(|| corrupt("kind", &kind))?,
            status: IncidentStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
            opened_by: r.get(4),
            opened_at: r.get(5),
            closed_at: r.get(6),
            areas: areas(c, id).await?,
        });
    }
    Ok(out)
}

async fn areas(c: &ClientWrapper, id: i64) -> Result<Vec<AreaVersion>> {
    let rows = c
        .query(
            "SELECT version, at, actor, area::text FROM incident_areas WHERE incident = $1 ORDER BY version",
            &[&id],
        )
        .await
        .map_err(pg("read incident areas"))?;
    rows.iter()
        .map(|r| {
            let area: String = r.get(3);
            Ok(AreaVersion {
                version: r.get(0),
                at: r.get(1),
                by: r.get(2),
                area: serde_json::from_str(&area).map_err(|e| StoreError::Corrupt {
                    what: "incident_areas.area".into(),
                    reason: e.to_string(),
                })?,
            })
        })
        .collect()
}

/// The seq of the incident's last own write (0 when none or copied).
async fn etag_in(c: &ClientWrapper, id: i64) -> Result<i64> {
    c.query_one(
        "SELECT coalesce(max(seq), 0)::bigint FROM incidents WHERE id = $1",
        &[&id],
    )
    .await
    .map_err(pg("read an incident's etag"))
    .map(|r| r.get(0))
}

async fn insert_area(
    c: &ClientWrapper,
    id: i64,
    version: i64,
    at: &str,
    by: &str,
    area: &serde_json::Value,
) -> Result<()> {
    c.execute(
        "INSERT INTO incident_areas (incident, version, at, actor, area) VALUES ($1, $2, $3, $4, $5::text::jsonb)",
        &[&id, &version, &at, &by, &area.to_string()],
    )
    .await
    .map(drop)
    .map_err(pg("write an incident area"))
}

async fn insert_line(c: &ClientWrapper, id: i64, line: &TimelineEntry) -> Result<()> {
    c.execute(
        "INSERT INTO incident_timeline (id, incident, at, actor, what, detail)
         SELECT CASE WHEN $1::bigint > 0 THEN $1 ELSE coalesce(max(id), 0) + 1 END, $2, $3, $4, $5, $6
         FROM incident_timeline",
        &[&line.id, &id, &line.at, &line.actor, &line.what, &line.detail],
    )
    .await
    .map(drop)
    .map_err(pg("write an incident's timeline"))
}

/// The incident must be there, open, at the ETag the writer read (when
/// given: a mark checks its status's version instead).
async fn check(c: &ClientWrapper, id: i64, expect: Option<i64>) -> Result<()> {
    let row = c
        .query_opt("SELECT status FROM incidents WHERE id = $1", &[&id])
        .await
        .map_err(pg("find an incident"))?;
    let Some(row) = row else {
        return Err(missing(id));
    };
    if let Some(expect) = expect {
        let current = etag_in(c, id).await?;
        if current != expect {
            return Err(crate::store::changes::stale(id, current));
        }
    }
    if row.get::<_, String>(0) == IncidentStatus::Closed.as_str() {
        return Err(closed(id));
    }
    Ok(())
}

async fn status_rows(c: &ClientWrapper, id: i64) -> Result<Vec<HouseholdStatus>> {
    let rows = c
        .query(
            "SELECT household, status, note, actor, at, version FROM incident_households
             WHERE incident = $1 ORDER BY household",
            &[&id],
        )
        .await
        .map_err(pg("read household statuses"))?;
    rows.iter()
        .map(|r| {
            let status: String = r.get(1);
            Ok(HouseholdStatus {
                household: r.get(0),
                status: ContactStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
                note: r.get(2),
                by: r.get(3),
                at: r.get(4),
                version: r.get(5),
            })
        })
        .collect()
}

async fn put_status(c: &ClientWrapper, id: i64, h: &HouseholdStatus) -> Result<()> {
    c.execute(
        "INSERT INTO incident_households (incident, household, status, note, actor, at, version)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (incident, household) DO UPDATE SET status = excluded.status,
           note = excluded.note, actor = excluded.actor, at = excluded.at, version = excluded.version",
        &[&id, &h.household, &h.status.as_str(), &h.note, &h.by, &h.at, &h.version],
    )
    .await
    .map(drop)
    .map_err(pg("mark a household"))
}

async fn sent_rows(c: &ClientWrapper, id: i64) -> Result<Vec<Sent>> {
    let rows = c
        .query(
            "SELECT household, volunteer, actor, at FROM incident_sent WHERE incident = $1 ORDER BY household",
            &[&id],
        )
        .await
        .map_err(pg("read who was sent"))?;
    Ok(rows
        .iter()
        .map(|r| Sent {
            household: r.get(0),
            volunteer: r.get(1),
            by: r.get(2),
            at: r.get(3),
        })
        .collect())
}

async fn put_sent(c: &ClientWrapper, id: i64, s: &Sent) -> Result<()> {
    c.execute(
        "INSERT INTO incident_sent (incident, household, volunteer, actor, at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (incident, household) DO UPDATE SET volunteer = excluded.volunteer,
           actor = excluded.actor, at = excluded.at",
        &[&id, &s.household, &s.volunteer, &s.by, &s.at],
    )
    .await
    .map(drop)
    .map_err(pg("record who was sent"))
}

/// One incident write with its timeline line, change row and audit line,
/// inside the caller's transaction.
async fn write_in(c: &ClientWrapper, w: &IncidentWrite, audit: &AuditEntry) -> Result<Change> {
    let (id, version) = apply(c, w, audit).await?;
    let line = TimelineEntry {
        id: 0,
        at: audit.at.clone(),
        actor: audit.user.clone(),
        what: w.what().into(),
        detail: detail(w, version),
    };
    insert_line(c, id, &line).await?;
    let done = changes::append(c, &change(w, id, audit)).await?;
    // Marks and dispatches are not the incident's own writes: its ETag
    // stays (an officer's redraw does not conflict with a mark).
    if !matches!(
        w,
        IncidentWrite::Mark { .. } | IncidentWrite::Dispatch { .. }
    ) {
        c.execute(
            "UPDATE incidents SET seq = $2 WHERE id = $1",
            &[&id, &done.seq],
        )
        .await
        .map_err(pg("stamp an incident"))?;
    }
    accounts::insert_audit(c, &audited(audit, &done), None).await?;
    Ok(done)
}

/// The write's own rows (not the timeline, change row nor audit line).
async fn apply(
    c: &ClientWrapper,
    w: &IncidentWrite,
    audit: &AuditEntry,
) -> Result<(i64, Option<i64>)> {
    match w {
        IncidentWrite::Open {
            title, kind, area, ..
        } => {
            let id: i64 = c
                .query_one(
                    "INSERT INTO incidents (id, title, kind, status, opened_by, opened_at)
                     SELECT coalesce(max(id), 0) + 1, $1, $2, 'open', $3, $4 FROM incidents
                     RETURNING id",
                    &[title, &kind.as_str(), &audit.user, &audit.at],
                )
                .await
                .map_err(pg("open an incident"))?
                .get(0);
            insert_area(c, id, 1, &audit.at, &audit.user, area).await?;
            Ok((id, Some(1)))
        }
        IncidentWrite::Redraw {
            id, area, expect, ..
        } => {
            check(c, *id, Some(*expect)).await?;
            let v: i64 = c
                .query_one(
                    "SELECT coalesce(max(version), 0) + 1 FROM incident_areas WHERE incident = $1",
                    &[id],
                )
                .await
                .map_err(pg("number an incident area"))?
                .get(0);
            insert_area(c, *id, v, &audit.at, &audit.user, area).await?;
            Ok((*id, Some(v)))
        }
        IncidentWrite::Note { id, expect, .. } => {
            check(c, *id, Some(*expect)).await?;
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
            check(c, *id, None).await?;
            let current: i64 = c
                .query_one(
                    "SELECT coalesce(max(version), 0)::bigint FROM incident_households
                     WHERE incident = $1 AND household = $2",
                    &[id, household],
                )
                .await
                .map_err(pg("read a household's status"))?
                .get(0);
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
            put_status(c, *id, &row).await?;
            Ok((*id, None))
        }
        IncidentWrite::Dispatch { id, routes, .. } => {
            check(c, *id, None).await?;
            for (volunteer, households) in routes {
                for &household in households {
                    let row = Sent {
                        household,
                        volunteer: *volunteer,
                        by: audit.user.clone(),
                        at: audit.at.clone(),
                    };
                    put_sent(c, *id, &row).await?;
                }
            }
            Ok((*id, None))
        }
        IncidentWrite::Close { id, expect, .. } => {
            check(c, *id, Some(*expect)).await?;
            c.execute(
                "UPDATE incidents SET status = 'closed', closed_at = $2 WHERE id = $1",
                &[id, &audit.at],
            )
            .await
            .map_err(pg("close an incident"))?;
            Ok((*id, None))
        }
    }
}

impl IncidentStore for PostGis {
    fn incidents(&self) -> Result<Vec<Incident>> {
        let conn = self.read_conn("read incidents")?;
        self.block_on(incident_rows(&conn, None))
    }

    fn incident(&self, id: i64) -> Result<Option<Incident>> {
        let conn = self.read_conn("read an incident")?;
        Ok(self.block_on(incident_rows(&conn, Some(id)))?.pop())
    }

    fn timeline(&self, id: i64) -> Result<Vec<TimelineEntry>> {
        let op = "read an incident's timeline";
        let conn = self.read_conn(op)?;
        let rows = self.block_on(async {
            conn.query(
                "SELECT id, at, actor, what, detail FROM incident_timeline WHERE incident = $1 ORDER BY id",
                &[&id],
            )
            .await
            .map_err(pg(op))
        })?;
        Ok(rows
            .iter()
            .map(|r| TimelineEntry {
                id: r.get(0),
                at: r.get(1),
                actor: r.get(2),
                what: r.get(3),
                detail: r.get(4),
            })
            .collect())
    }

    fn household_statuses(&self, id: i64) -> Result<Vec<HouseholdStatus>> {
        let conn = self.read_conn("read household statuses")?;
        self.block_on(status_rows(&conn, id))
    }

    fn sent(&self, id: i64) -> Result<Vec<Sent>> {
        let conn = self.read_conn("read who was sent")?;
        self.block_on(sent_rows(&conn, id))
    }

    fn write_incident(&self, w: &IncidentWrite, audit: &AuditEntry) -> Result<Change> {
        let tx = self.begin_write("write an incident")?;
        let done = self.block_on(write_in(tx.c(), w, audit))?;
        tx.commit(self, "commit an incident write")?;
        Ok(done)
    }

    fn dispatch_in(
        &self,
        w: &IncidentWrite,
        people: &[(PersonWrite, AuditEntry)],
        audit: &AuditEntry,
    ) -> Result<Vec<Change>> {
        let tx = self.begin_write("write a dispatch")?;
        let sealer = self.sealer.load_full();
        let done = self.block_on(async {
            let c = tx.c();
            // The incident first: closed or missing refuses before any write.
            check(c, w.id().unwrap_or_default(), None).await?;
            let mut out = changes::write_people_in(c, people, &sealer).await?;
            out.push(write_in(c, w, audit).await?);
            Ok::<_, StoreError>(out)
        })?;
        tx.commit(self, "commit a dispatch")?;
        Ok(done)
    }

    fn incident_etag(&self, id: i64) -> Result<i64> {
        let conn = self.read_conn("read an incident's etag")?;
        self.block_on(etag_in(&conn, id))
    }

    fn restore_incidents(&self, all: &[IncidentRecord]) -> Result<()> {
        let tx = self.begin_write("restore incidents")?;
        self.block_on(async {
            let c = tx.c();
            for (i, lines, statuses, sent) in all {
                c.execute(
                    "INSERT INTO incidents (id, title, kind, status, opened_by, opened_at, closed_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    &[&i.id, &i.title, &i.kind.as_str(), &i.status.as_str(), &i.opened_by, &i.opened_at, &i.closed_at],
                )
                .await
                .map_err(pg("restore an incident"))?;
                for a in &i.areas {
                    insert_area(c, i.id, a.version, &a.at, &a.by, &a.area).await?;
                }
                for l in lines {
                    insert_line(c, i.id, l).await?;
                }
                for h in statuses {
                    put_status(c, i.id, h).await?;
                }
                for x in sent {
                    put_sent(c, i.id, x).await?;
                }
            }
            Ok::<_, StoreError>(())
        })?;
        tx.commit(self, "commit restoring incidents")
    }
}
