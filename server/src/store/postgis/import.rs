//! Writing records: an import's batches, new ids, the upserts (their SQL
//! in `sql/`).

use std::collections::HashMap;

use deadpool_postgres::ClientWrapper;
use futures_util::future::join_all;
use geo_types::Geometry;

use super::ewkb::encode;
use super::{accounts, personal, pg, PostGis};
use crate::access::account::AuditEntry;
use crate::domain::{Atom, GridCode, Layer, Record, RegionCode};
use crate::sealing::Sealer;
use crate::store::rows::{code_str, water_kind_str};
use crate::store::{imported_audit, Abort, ImportCounts, Result, StoreError};

/// Records sent per pipelined round of an import.
pub(super) const BATCH: usize = 2000;

impl PostGis {
    /// Writes a stream of records in one transaction, with `audit` when
    /// given (see [`Store::import_audited`](crate::store::Store::import_audited)).
    pub(super) fn import_tx(
        &self,
        records: &mut dyn Iterator<Item = std::result::Result<Record, Abort>>,
        audit: Option<&AuditEntry>,
    ) -> Result<ImportCounts> {
        let op = "import";
        let tx = self.begin_write(op)?;
        let sealer = self.sealer.load();
        // Under the write lock: not rotated to another key since opened.
        self.block_on(personal::check_key(&**tx.c(), &sealer))?;
        let mut ids = NextIds::default();
        let mut counts = ImportCounts::new();
        let mut batch = Vec::with_capacity(BATCH);
        loop {
            batch.clear();
            let mut end = false;
            while batch.len() < BATCH {
                match records.next() {
                    Some(Ok(r)) => batch.push(r),
                    // Dropping `tx` rolls back.
                    Some(Err(Abort)) => return Err(StoreError::Aborted),
                    None => {
                        end = true;
                        break;
                    }
                }
            }
            self.block_on(insert_batch(tx.c(), &mut batch, &mut ids, &sealer))?;
            for r in &batch {
                *counts.entry(r.layer()).or_insert(0) += 1;
            }
            if end {
                break;
            }
        }
        if crate::store::plan_shapes::stale_after_import(&counts) {
            // Measured on what changed: a server start measures them again.
            self.block_on(tx.c().execute("DELETE FROM plan_grid_shapes", &[]))
                .map_err(pg("forget plan grid shapes"))?;
        }
        let (at, actor) = crate::store::changes::import_stamp(audit);
        self.block_on(super::changes::append_imports(
            tx.c(),
            &counts,
            0,
            &at,
            &actor,
        ))?;
        if let Some(a) = audit {
            let a = imported_audit(a, &counts);
            self.block_on(accounts::insert_audit(tx.c(), &a, None))?;
        }
        tx.commit(self, "commit import")?;
        Ok(counts)
    }
}

/// The next free id per layer, learnt from the table on first use and kept
/// above every id written since (the GeoPackage's AUTOINCREMENT).
#[derive(Default)]
pub(super) struct NextIds(HashMap<Layer, i64>);

impl NextIds {
    pub(super) async fn assign(
        &mut self,
        c: &ClientWrapper,
        layer: Layer,
        id: &mut i64,
    ) -> Result<()> {
        if *id > 0 {
            if let Some(n) = self.0.get_mut(&layer) {
                *n = (*n).max(*id + 1);
            }
            return Ok(());
        }
        let next = if let Some(n) = self.0.get(&layer) {
            *n
        } else {
            let row = c
                .query_one(
                    &format!("SELECT coalesce(max(fid), 0) + 1 FROM {}", layer.as_str()),
                    &[],
                )
                .await
                .map_err(pg("assign ids"))?;
            row.get(0)
        };
        *id = next;
        self.0.insert(layer, next + 1);
        Ok(())
    }
}

/// Gives new ids to records that have none, then writes the batch with
/// the statements pipelined on the one connection.
pub(super) async fn insert_batch(
    c: &ClientWrapper,
    recs: &mut [Record],
    ids: &mut NextIds,
    s: &Sealer,
) -> Result<()> {
    for r in recs.iter_mut() {
        let layer = r.layer();
        let id = match r {
            Record::Household(h) => &mut h.id,
            Record::Person(p) => &mut p.id,
            Record::Road(x) => &mut x.id,
            Record::Building(b) => &mut b.id,
            Record::Water(w) => &mut w.id,
            Record::Grid(g) => &mut g.id,
            Record::Region(_) | Record::Atom(_) => continue,
        };
        ids.assign(c, layer, id).await?;
    }
    inserted(join_all(recs.iter().map(|r| insert(c, r, s))).await)
}

/// The outcome of pipelined inserts. Once one statement fails, those sent
/// after it fail with "current transaction is aborted", and any of them may
/// be seen first: the error reported is the one that is not that.
pub(super) fn inserted(results: Vec<std::result::Result<(), tokio_postgres::Error>>) -> Result<()> {
    use tokio_postgres::error::SqlState;
    let mut errors = results.into_iter().filter_map(std::result::Result::err);
    let Some(first) = errors.next() else {
        return Ok(());
    };
    let aborted =
        |e: &tokio_postgres::Error| e.code() == Some(&SqlState::IN_FAILED_SQL_TRANSACTION);
    let cause = if aborted(&first) {
        errors.find(|e| !aborted(e)).unwrap_or(first)
    } else {
        first
    };
    Err(pg("insert record")(cause))
}

/// Upserts one record: a region by code, an atom by (region, id), the
/// other layers by fid.
pub(super) async fn insert(
    c: &ClientWrapper,
    rec: &Record,
    s: &Sealer,
) -> std::result::Result<(), tokio_postgres::Error> {
    let n = match rec {
        Record::Region(r) => {
            let st = c
                .prepare_cached(include_str!("sql/insert_region.sql"))
                .await?;
            let g = encode(&Geometry::MultiPolygon(r.boundary.clone()));
            c.execute(
                &st,
                &[&code_str(r.code), &g, &r.name, &r.parent.map(code_str)],
            )
            .await
        }
        Record::Atom(a) => {
            let st = c
                .prepare_cached(include_str!("sql/insert_atom.sql"))
                .await?;
            let g = encode(&Geometry::MultiPolygon(a.geometry.clone()));
            c.execute(
                &st,
                &[&code_str(a.region), &i64::from(a.id), &g, &a.kind.as_str()],
            )
            .await
        }
        Record::Household(h) => personal::insert_household(c, h, s).await,
        Record::Person(p) => personal::insert_person(c, p, s).await,
        Record::Road(r) => {
            let st = c
                .prepare_cached(include_str!("sql/insert_road.sql"))
                .await?;
            let g = encode(&Geometry::LineString(r.geometry.clone()));
            c.execute(
                &st,
                &[&r.id, &g, &r.class.as_str(), &r.name, &r.grade.as_str()],
            )
            .await
        }
        Record::Building(b) => {
            let st = c
                .prepare_cached(include_str!("sql/insert_building.sql"))
                .await?;
            let g = encode(&Geometry::MultiPolygon(b.geometry.clone()));
            c.execute(
                &st,
                &[&b.id, &g, &b.levels.map(i32::from), &b.height_m, &b.kind],
            )
            .await
        }
        Record::Water(w) => {
            let st = c
                .prepare_cached(include_str!("sql/insert_water.sql"))
                .await?;
            let kind = water_kind_str(w.kind);
            c.execute(&st, &[&w.id, &encode(&w.geometry), &kind, &w.name])
                .await
        }
        Record::Grid(g) => {
            let st = c
                .prepare_cached(include_str!("sql/insert_grid.sql"))
                .await?;
            let geom = encode(&Geometry::MultiPolygon(g.geometry.clone()));
            c.execute(
                &st,
                &[
                    &g.id,
                    &geom,
                    &code_str(g.region),
                    &i16::from(g.level.get()),
                    &g.code.as_str(),
                    &g.name,
                    &g.parent.as_ref().map(GridCode::as_str),
                ],
            )
            .await
        }
    };
    n.map(|_| ())
}

pub(super) async fn replace_atoms_in(
    c: &ClientWrapper,
    region: RegionCode,
    atoms: &[Atom],
    s: &Sealer,
) -> Result<()> {
    c.execute("DELETE FROM atoms WHERE region = $1", &[&code_str(region)])
        .await
        .map_err(pg("delete atoms"))?;
    for chunk in atoms.chunks(BATCH) {
        let recs: Vec<Record> = chunk.iter().cloned().map(Record::Atom).collect();
        inserted(join_all(recs.iter().map(|r| insert(c, r, s))).await)?;
    }
    Ok(())
}
