//! The change log and one-record writes (see [`crate::store::changes`]).

use std::collections::HashMap;

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::import::{update_contents, Extent};
use super::{accounts, personal, sql, GeoPackage};
use crate::access::account::AuditEntry;
use crate::domain::Layer;
use crate::store::changes::{
    change_row, etag, imports, missing, pending, region_text, stale, written_audit, Change,
    HouseholdWrite, PersonWrite, RecordOp, RecordWrite,
};
use crate::store::{ImportCounts, Result};

const SCHEMA: &str = include_str!("changes.sql");

/// Creates the table when missing (every open).
pub(super) fn ensure(c: &Connection) -> Result<()> {
    c.execute_batch(SCHEMA)
        .map_err(sql("create the change log"))
}

/// Appends `c` and returns it with its seq.
pub(super) fn append(tx: &Connection, c: &Change) -> Result<Change> {
    tx.prepare_cached(
        "INSERT INTO changes (at, layer, id, op, region, actor) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .and_then(|mut s| {
        s.execute(params![
            c.at,
            c.layer.as_str(),
            c.id,
            c.op.as_str(),
            region_text(c.region),
            c.actor
        ])
    })
    .map_err(sql("append a change"))?;
    Ok(Change {
        seq: tx.last_insert_rowid(),
        ..c.clone()
    })
}

/// The `import` rows of a bulk write (see [`imports`]): one per layer
/// written, and one for the plan versions when `plans` > 0.
pub(super) fn append_imports(
    tx: &Connection,
    counts: &ImportCounts,
    plans: usize,
    at: &str,
    actor: &str,
) -> Result<()> {
    for c in imports(counts, plans, at, actor) {
        append(tx, &c)?;
    }
    Ok(())
}

/// The newest seq, 0 for an empty log: the integer primary key's last
/// row, one B-tree step (what a server polls).
pub(super) fn last_seq(c: &Connection) -> Result<i64> {
    c.prepare_cached("SELECT coalesce(max(seq), 0) FROM changes")
        .and_then(|mut s| s.query_row([], |r| r.get(0)))
        .map_err(sql("read the last change"))
}

fn etag_in(c: &Connection, layer: Layer, id: i64) -> Result<i64> {
    let op = "read an etag";
    let rec: Option<i64> = c
        .query_row(
            "SELECT max(seq) FROM changes WHERE layer = ?1 AND id = ?2",
            params![layer.as_str(), id],
            |r| r.get(0),
        )
        .map_err(sql(op))?;
    let imp: Option<i64> = c
        .query_row(
            "SELECT max(seq) FROM changes WHERE layer = ?1 AND op = 'import'",
            [layer.as_str()],
            |r| r.get(0),
        )
        .map_err(sql(op))?;
    Ok(etag(rec, imp))
}

fn record_exists(tx: &Connection, layer: Layer, id: i64) -> Result<bool> {
    // The table is the layer's own name (households, people).
    Ok(tx
        .query_row(
            &format!("SELECT 1 FROM {} WHERE fid = ?1", layer.as_str()),
            [id],
            |_| Ok(()),
        )
        .optional()
        .map_err(sql("find a record"))?
        .is_some())
}

impl GeoPackage {
    /// One household written with its change row and audit line, in one
    /// transaction: a [`RecordWrite`] forgetting the plan grid shapes of
    /// the regions it leaves and enters.
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

    /// One record of any fid-keyed layer written with its change row and
    /// audit line, in one transaction (see [`RecordWrite`]).
    pub(super) fn write_record_tx(&self, w: &RecordWrite, audit: &AuditEntry) -> Result<Change> {
        Ok(self.write_records_tx(&[(w, audit)])?.remove(0))
    }

    /// Records written in order, each with its change row and audit
    /// line, all in one transaction: the import's own upsert writes them,
    /// so the tables, their R-trees and their extents in `gpkg_contents`
    /// follow as after an import. One refusal and none is stored.
    fn write_records_tx(&self, writes: &[(&RecordWrite, &AuditEntry)]) -> Result<Vec<Change>> {
        let mut c = self.lock();
        let tx = c.transaction().map_err(sql("begin a record write"))?;
        let out = self.write_records_in(&tx, writes)?;
        tx.commit().map_err(sql("commit a record write"))?;
        Ok(out)
    }

    /// Person writes inside a transaction the caller holds (an incident's
    /// dispatch writes its volunteers with its own rows).
    pub(super) fn write_people_in(
        &self,
        tx: &Transaction<'_>,
        writes: &[(PersonWrite, AuditEntry)],
    ) -> Result<Vec<Change>> {
        let records: Vec<RecordWrite> = writes.iter().map(|(w, _)| RecordWrite::from(w)).collect();
        let pairs: Vec<(&RecordWrite, &AuditEntry)> =
            records.iter().zip(writes.iter().map(|(_, a)| a)).collect();
        self.write_records_in(tx, &pairs)
    }

    fn write_records_in(
        &self,
        tx: &Transaction<'_>,
        writes: &[(&RecordWrite, &AuditEntry)],
    ) -> Result<Vec<Change>> {
        let sealer = self.sealer.load();
        personal::check_key(tx, &sealer)?;
        let mut ext: HashMap<Layer, Extent> = HashMap::new();
        let mut out = Vec::with_capacity(writes.len());
        for (w, audit) in writes {
            out.push(write_record(tx, w, audit, &sealer, &mut ext)?);
        }
        update_contents(tx, &ext)?;
        Ok(out)
    }

    pub(super) fn changes_after(&self, since: i64, limit: usize) -> Result<Vec<Change>> {
        let c = self.lock();
        let rows = c
            .prepare_cached(
                "SELECT seq, at, layer, id, op, region, actor FROM changes
                 WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            )
            .and_then(|mut s| {
                s.query_map(
                    params![since, i64::try_from(limit).unwrap_or(i64::MAX)],
                    |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, Option<i64>>(3)?,
                            r.get::<_, String>(4)?,
                            r.get::<_, Option<String>>(5)?,
                            r.get::<_, String>(6)?,
                        ))
                    },
                )?
                .collect::<rusqlite::Result<Vec<_>>>()
            })
            .map_err(sql("read changes"))?;
        rows.into_iter()
            .map(|(seq, at, layer, id, op, region, actor)| {
                change_row(seq, at, &layer, id, &op, region.as_deref(), actor)
            })
            .collect()
    }

    pub(super) fn etag_of(&self, layer: Layer, id: i64) -> Result<i64> {
        etag_in(&self.lock(), layer, id)
    }
}

/// The record must be there with the ETag the writer read.
fn check(tx: &Transaction<'_>, layer: Layer, id: i64, expect: i64) -> Result<()> {
    if !record_exists(tx, layer, id)? {
        return Err(missing(layer, id));
    }
    let current = etag_in(tx, layer, id)?;
    if current != expect {
        return Err(stale(id, current));
    }
    Ok(())
}

/// One record write inside `tx`: its plan grid shapes forgotten, ETag
/// checked, the row upserted or deleted, its change row and audit line.
fn write_record(
    tx: &Transaction<'_>,
    w: &RecordWrite,
    audit: &AuditEntry,
    sealer: &crate::sealing::Sealer,
    ext: &mut HashMap<Layer, Extent>,
) -> Result<Change> {
    let layer = w.layer();
    let mut forget = w.forget_text();
    if let Some(id) = w.id().filter(|_| w.forget_stored) {
        // The table is the layer's own name (households).
        let was: Option<Option<String>> = tx
            .query_row(
                &format!("SELECT region FROM {} WHERE fid = ?1", layer.as_str()),
                [id],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql("read a record's region"))?;
        forget.extend(was.flatten());
    }
    for r in forget {
        super::plan_shapes::forget_region(tx, &r)?;
    }
    let id = match &w.op {
        RecordOp::Create(r) => {
            let mut r = r.clone();
            if let Some(id) = crate::store::changes::id_of(&mut r) {
                *id = 0;
            }
            super::import::insert(tx, &r, sealer, ext)?;
            tx.last_insert_rowid()
        }
        RecordOp::Update { record, expect } => {
            let id = crate::snapshot::record_id(record);
            check(tx, layer, id, *expect)?;
            super::import::insert(tx, record, sealer, ext)?;
            id
        }
        RecordOp::Delete { id, expect, .. } => {
            check(tx, layer, *id, *expect)?;
            // The table is the layer's own name (buildings, roads).
            tx.execute(
                &format!("DELETE FROM {} WHERE fid = ?1", layer.as_str()),
                [id],
            )
            .map_err(sql("delete a record"))?;
            *id
        }
    };
    let change = append(tx, &pending(layer, id, w.op(), w.region, audit))?;
    accounts::insert_audit(tx, &written_audit(audit, &change))?;
    Ok(change)
}
