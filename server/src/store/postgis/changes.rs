//! The change log and one-record writes (see [`crate::store::changes`]).
//! Every write holds the store's write lock (`begin_write`), so
//! `max(seq) + 1` cannot race and commits come in seq order.

use deadpool_postgres::ClientWrapper;

use super::import::NextIds;
use super::{accounts, personal, pg, PostGis};
use crate::access::account::AuditEntry;
use crate::domain::Layer;
use crate::store::changes::{
    change_row, etag, imports, missing, pending, region_text, stale, written_audit, Change,
    HouseholdWrite, PersonWrite, RecordOp, RecordWrite,
};
use crate::store::{ImportCounts, Result};

/// Appends `c` with the next seq and returns it with that seq.
pub(super) async fn append(tx: &ClientWrapper, c: &Change) -> Result<Change> {
    let op = "append a change";
    let st = tx
        .prepare_cached(
            "INSERT INTO changes (seq, at, layer, id, op, region, actor)
             SELECT coalesce(max(seq), 0) + 1, $1, $2, $3, $4, $5, $6 FROM changes
             RETURNING seq",
        )
        .await
        .map_err(pg(op))?;
    let row = tx
        .query_one(
            &st,
            &[
                &c.at,
                &c.layer.as_str(),
                &c.id,
                &c.op.as_str(),
                &region_text(c.region),
                &c.actor,
            ],
        )
        .await
        .map_err(pg(op))?;
    Ok(Change {
        seq: row.get(0),
        ..c.clone()
    })
}

/// The `import` rows of a bulk write (see [`imports`]): one per layer
/// written, and one for the plan versions when `plans` > 0.
pub(super) async fn append_imports(
    tx: &ClientWrapper,
    counts: &ImportCounts,
    plans: usize,
    at: &str,
    actor: &str,
) -> Result<()> {
    for c in imports(counts, plans, at, actor) {
        append(tx, &c).await?;
    }
    Ok(())
}

async fn etag_in(c: &ClientWrapper, layer: Layer, id: i64) -> Result<i64> {
    let op = "read an etag";
    let row = c
        .query_one(
            "SELECT (SELECT max(seq) FROM changes WHERE layer = $1 AND id = $2),
                    (SELECT max(seq) FROM changes WHERE layer = $1 AND op = 'import')",
            &[&layer.as_str(), &id],
        )
        .await
        .map_err(pg(op))?;
    Ok(etag(row.get(0), row.get(1)))
}

/// The record must be there with the ETag the writer read.
async fn check(c: &ClientWrapper, layer: Layer, id: i64, expect: i64) -> Result<()> {
    // The table is the layer's own name (households, people).
    let there = c
        .query_opt(
            &format!("SELECT 1 FROM {} WHERE fid = $1", layer.as_str()),
            &[&id],
        )
        .await
        .map_err(pg("find a record"))?
        .is_some();
    if !there {
        return Err(missing(layer, id));
    }
    let current = etag_in(c, layer, id).await?;
    if current != expect {
        return Err(stale(id, current));
    }
    Ok(())
}

impl PostGis {
    /// One household written with its change row and audit line, in one
    /// transaction: a [`RecordWrite`] (see the GeoPackage's).
    pub(super) fn write_household_tx(
        &self,
        w: &HouseholdWrite,
        audit: &AuditEntry,
    ) -> Result<Change> {
        self.write_record_tx(&RecordWrite::from(w), audit)
    }

    /// People written each with its change row and audit line, all in
    /// one transaction (a confirmed dispatch): record writes.
    pub(super) fn write_people_tx(
        &self,
        writes: &[(PersonWrite, AuditEntry)],
    ) -> Result<Vec<Change>> {
        let records: Vec<RecordWrite> = writes.iter().map(|(w, _)| RecordWrite::from(w)).collect();
        let pairs: Vec<(&RecordWrite, &AuditEntry)> =
            records.iter().zip(writes.iter().map(|(_, a)| a)).collect();
        self.write_records_tx(&pairs)
    }

    /// The newest seq, 0 for an empty log (the primary key's last entry).
    pub(super) fn last_change(&self) -> Result<i64> {
        let op = "read the last change";
        let conn = self.read_conn(op)?;
        self.block_on(async {
            conn.query_one("SELECT coalesce(max(seq), 0) FROM changes", &[])
                .await
                .map_err(pg(op))
                .map(|r| r.get(0))
        })
    }

    /// One record of any fid-keyed layer written with its change row and
    /// audit line, in one transaction (see the GeoPackage's
    /// `write_record_tx`), by the import's own upsert.
    pub(super) fn write_record_tx(&self, w: &RecordWrite, audit: &AuditEntry) -> Result<Change> {
        Ok(self.write_records_tx(&[(w, audit)])?.remove(0))
    }

    /// Records written in order, each with its change row and audit line,
    /// all in one transaction: one refusal and none is stored.
    fn write_records_tx(&self, writes: &[(&RecordWrite, &AuditEntry)]) -> Result<Vec<Change>> {
        let tx = self.begin_write("write a record")?;
        let sealer = self.sealer.load_full();
        let changes = self.block_on(write_records_in(tx.c(), writes, &sealer))?;
        tx.commit(self, "commit a record write")?;
        Ok(changes)
    }

    pub(super) fn changes_after(&self, since: i64, limit: usize) -> Result<Vec<Change>> {
        let op = "read changes";
        let conn = self.read_conn(op)?;
        let rows = self.block_on(async {
            conn.query(
                "SELECT seq, at, layer, id, op, region, actor FROM changes
                 WHERE seq > $1 ORDER BY seq LIMIT $2",
                &[&since, &i64::try_from(limit).unwrap_or(i64::MAX)],
            )
            .await
            .map_err(pg(op))
        })?;
        rows.iter()
            .map(|r| {
                change_row(
                    r.get(0),
                    r.get(1),
                    r.get(2),
                    r.get(3),
                    r.get(4),
                    r.get(5),
                    r.get(6),
                )
            })
            .collect()
    }

    pub(super) fn etag_of(&self, layer: Layer, id: i64) -> Result<i64> {
        let conn = self.read_conn("read an etag")?;
        self.block_on(etag_in(&conn, layer, id))
    }
}

/// One record write inside the write transaction on `c`: its plan grid
/// shapes forgotten, ETag checked, the row upserted or deleted, its
/// change row and audit line.
/// Records written in order inside the caller's transaction.
async fn write_records_in(
    c: &ClientWrapper,
    writes: &[(&RecordWrite, &AuditEntry)],
    sealer: &crate::sealing::Sealer,
) -> Result<Vec<Change>> {
    personal::check_key(&**c, sealer).await?;
    let mut out = Vec::with_capacity(writes.len());
    for (w, audit) in writes {
        out.push(write_record(c, w, audit, sealer).await?);
    }
    Ok(out)
}

/// Person writes inside the caller's transaction (an incident's
/// dispatch writes its volunteers with its own rows).
pub(super) async fn write_people_in(
    c: &ClientWrapper,
    writes: &[(PersonWrite, AuditEntry)],
    sealer: &crate::sealing::Sealer,
) -> Result<Vec<Change>> {
    let records: Vec<RecordWrite> = writes.iter().map(|(w, _)| RecordWrite::from(w)).collect();
    let pairs: Vec<(&RecordWrite, &AuditEntry)> =
        records.iter().zip(writes.iter().map(|(_, a)| a)).collect();
    write_records_in(c, &pairs, sealer).await
}

async fn write_record(
    c: &ClientWrapper,
    w: &RecordWrite,
    audit: &AuditEntry,
    sealer: &crate::sealing::Sealer,
) -> Result<Change> {
    let layer = w.layer();
    let write = pg("write a record");
    let mut forget = w.forget_text();
    if let Some(id) = w.id().filter(|_| w.forget_stored) {
        // The table is the layer's own name (households).
        let was = c
            .query_opt(
                &format!("SELECT region FROM {} WHERE fid = $1", layer.as_str()),
                &[&id],
            )
            .await
            .map_err(pg("read a record's region"))?;
        forget.extend(was.and_then(|r| r.get::<_, Option<String>>(0)));
    }
    if !forget.is_empty() {
        c.execute(
            "DELETE FROM plan_grid_shapes WHERE region = ANY($1)",
            &[&forget],
        )
        .await
        .map_err(pg("forget plan grid shapes"))?;
    }
    let id = match &w.op {
        RecordOp::Create(r) => {
            let mut r = r.clone();
            let mut id = 0;
            NextIds::default().assign(c, layer, &mut id).await?;
            if let Some(slot) = crate::store::changes::id_of(&mut r) {
                *slot = id;
            }
            super::import::insert(c, &r, sealer).await.map_err(write)?;
            id
        }
        RecordOp::Update { record, expect } => {
            let id = crate::snapshot::record_id(record);
            check(c, layer, id, *expect).await?;
            super::import::insert(c, record, sealer)
                .await
                .map_err(write)?;
            id
        }
        RecordOp::Delete { id, expect, .. } => {
            check(c, layer, *id, *expect).await?;
            // The table is the layer's own name (buildings, roads).
            c.execute(
                &format!("DELETE FROM {} WHERE fid = $1", layer.as_str()),
                &[id],
            )
            .await
            .map_err(write)?;
            *id
        }
    };
    let change = append(c, &pending(layer, id, w.op(), w.region, audit)).await?;
    accounts::insert_audit(c, &written_audit(audit, &change), None).await?;
    Ok(change)
}
