//! The PostGIS store: the same layers, plans and accounts as the
//! GeoPackage, in a PostgreSQL database with PostGIS, for deployments that
//! share one database between several servers or want SQL access.
//!
//! # Layout
//! - this file: the store, its errors and the [`Store`] trait's methods;
//! - `pool`: connecting, the sync/async bridge, transactions;
//! - `migrations`: the schema, `migrations/*.sql`, applied in order at
//!   start-up;
//! - `import`: writing records (imports, copies, atoms);
//! - `load`: reading the layers back;
//! - `plans`: plan versions;
//! - `accounts`: the [`AccountStore`](crate::store::AccountStore);
//! - `personal`: households and people, their personal fields sealed;
//! - [`ewkb`]: geometry on the wire (EWKB, SRID 4326);
//! - `sql/*.sql`: the queries of those files that are more than a line,
//!   kept as SQL (as the martin tile server keeps its own).
//!
//! The [`Store`] trait is synchronous (SQLite is, and the API calls it from
//! `spawn_blocking`), tokio-postgres is not: the store owns a small private
//! runtime that drives its connections, and every call blocks the calling
//! thread on a future run with that runtime's handle (`PostGis::block_on`).
//! That works from the command line (no runtime), from `spawn_blocking`,
//! from plain threads (the audit writer) and, through `block_in_place`,
//! from async handlers, without ever nesting a `block_on` inside a runtime.
//!
//! Every write is one transaction that first takes a transaction-level
//! advisory lock on the schema, so writers are serialised as in SQLite and
//! ids and plan numbers (max + 1) cannot race.

mod accounts;
mod changes;
pub mod ewkb;
mod import;
mod incidents;
mod load;
mod migrations;
mod personal;
mod plan_shapes;
mod plans;
mod pool;

use std::sync::Arc;

use arc_swap::ArcSwap;
use deadpool_postgres::{ClientWrapper, Pool};
use futures_util::future::join_all;
use tokio_postgres::Row;

use super::rows::code_str;
use super::{Abort, Dump, ImportCounts, PlanGridShape, Result, ShapesByVersion, Store, StoreError};
use crate::access::account::AuditEntry;
use crate::domain::{
    Atom, Dataset, Household, Layer, Plan, PlanVersion, Record, Region, RegionCode,
};
use crate::sealing::{KeyId, Sealer};
use import::{insert, insert_batch, inserted, replace_atoms_in, NextIds, BATCH};
use load::{load_all, load_regions};
#[cfg(test)]
use migrations::MIGRATIONS;
use plan_shapes::put_shapes_in;
use plans::{load_plan, save_plan_in, to_version};
#[cfg(test)]
use pool::split_schema;
use pool::Tx;

/// A PostGIS database (one schema of it).
pub struct PostGis {
    pool: Pool,
    /// Drives the connections; `None` only while dropping.
    rt: Option<tokio::runtime::Runtime>,
    /// The URL without its password, for messages.
    shown: String,
    /// Seals personal fields; swapped by a key rotation.
    sealer: ArcSwap<Sealer>,
}

/// Wraps a driver error with the operation it happened in. The driver's
/// `Display` says only "db error", so the message keeps its causes (the
/// server's own words).
pub(crate) fn pg(op: &'static str) -> impl FnOnce(tokio_postgres::Error) -> StoreError {
    move |source| {
        if lost(&source) {
            StoreError::Unavailable {
                op,
                reason: chain(&source),
            }
        } else {
            StoreError::Postgres {
                op,
                source: chain(&source).into(),
            }
        }
    }
}

/// True when `e` means the database is out of reach (the connection
/// broke, the server shut it, refuses connections or is overloaded), not
/// that the statement was wrong: such failures answer 503, not 500.
fn lost(e: &tokio_postgres::Error) -> bool {
    match e.code() {
        None => e.is_closed() || e.as_db_error().is_none(),
        Some(c) => {
            let c = c.code();
            c.starts_with("08") || c.starts_with("57P") || c == "53300" || c == "28000"
        }
    }
}

fn pool_err(op: &'static str) -> impl FnOnce(deadpool_postgres::PoolError) -> StoreError {
    move |e| match e {
        deadpool_postgres::PoolError::Backend(source) => pg(op)(source),
        other => StoreError::Unavailable {
            op,
            reason: other.to_string(),
        },
    }
}

/// An error with its causes ("error connecting to server: Connection
/// refused"): the driver's own message leaves the cause out.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let c_text = c.to_string();
        if !s.contains(&c_text) {
            s.push_str(": ");
            s.push_str(&c_text);
        }
        cur = c.source();
    }
    s
}

/// Whether `spec` names a PostgreSQL database rather than a file.
pub fn is_url(spec: &str) -> bool {
    spec.starts_with("postgres://") || spec.starts_with("postgresql://")
}

/// The URL with its password replaced, for messages and logs.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let Some((auth, host)) = rest.split_once('@') else {
        return url.to_string();
    };
    match auth.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

/// A store spec for messages: URLs without their password, paths as given.
pub fn redact_spec(spec: &str) -> String {
    if is_url(spec) {
        redact(spec)
    } else {
        spec.to_string()
    }
}

impl Store for PostGis {
    fn kind(&self) -> &'static str {
        "postgis"
    }

    fn import(
        &self,
        records: &mut dyn Iterator<Item = std::result::Result<Record, Abort>>,
    ) -> Result<ImportCounts> {
        self.import_tx(records, None)
    }

    fn import_audited(
        &self,
        records: &mut dyn Iterator<Item = std::result::Result<Record, Abort>>,
        audit: &AuditEntry,
    ) -> Result<ImportCounts> {
        self.import_tx(records, Some(audit))
    }

    fn load(&self) -> Result<Dataset> {
        let tx = self.begin_read("load")?;
        let d = self.block_on(load_all(tx.c(), &self.sealer.load()))?;
        tx.commit(self, "load")?;
        Ok(d)
    }

    fn regions(&self) -> Result<Vec<Region>> {
        let c = self.read_conn("load regions")?;
        self.block_on(load_regions(&c))
    }

    fn counts(&self) -> Result<Vec<(Layer, u64)>> {
        let c = self.read_conn("count")?;
        self.block_on(async {
            let mut out = vec![];
            for l in Layer::ALL {
                let n: i64 = c
                    .query_one(&format!("SELECT count(*) FROM {}", l.as_str()), &[])
                    .await
                    .map_err(pg("count"))?
                    .get(0);
                out.push((l, n as u64));
            }
            Ok(out)
        })
    }

    fn replace_atoms(&self, region: RegionCode, atoms: &[Atom]) -> Result<()> {
        let tx = self.begin_write("replace atoms")?;
        self.block_on(replace_atoms_in(tx.c(), region, atoms, &self.sealer.load()))?;
        tx.commit(self, "commit replace atoms")
    }

    fn save_plan(&self, plan: &Plan, shapes: &[PlanGridShape]) -> Result<PlanVersion> {
        let tx = self.begin_write("save plan")?;
        let v = self.block_on(async {
            let v = save_plan_in(tx.c(), plan, false).await?;
            put_shapes_in(tx.c(), v.id, shapes).await?;
            Ok::<_, StoreError>(v)
        })?;
        tx.commit(self, "commit plan")?;
        Ok(v)
    }

    fn save_plan_on(
        &self,
        plan: &Plan,
        added: &[Atom],
        base: i64,
        audit: &AuditEntry,
        shapes: &[PlanGridShape],
    ) -> Result<PlanVersion> {
        // The write lock makes the check and the insert one step.
        let tx = self.begin_write("save plan")?;
        let v = self.block_on(async {
            let newest: Option<i64> = tx
                .c()
                .query_opt(
                    "SELECT id FROM plan_versions WHERE region = $1 ORDER BY number DESC LIMIT 1",
                    &[&code_str(plan.version.region)],
                )
                .await
                .map_err(pg("newest plan"))?
                .map(|r| r.get(0));
            if newest != Some(base) {
                return Err(StoreError::Stale {
                    region: plan.version.region,
                    base,
                    newest: newest.unwrap_or(0),
                });
            }
            let recs: Vec<Record> = added.iter().cloned().map(Record::Atom).collect();
            for chunk in recs.chunks(BATCH) {
                let s = self.sealer.load();
                inserted(join_all(chunk.iter().map(|r| insert(tx.c(), r, &s))).await)?;
            }
            let v = save_plan_in(tx.c(), plan, false).await?;
            put_shapes_in(tx.c(), v.id, shapes).await?;
            accounts::insert_audit(tx.c(), &crate::store::saved_audit(audit, &v), None).await?;
            Ok(v)
        })?;
        tx.commit(self, "commit plan")?;
        Ok(v)
    }

    fn save_partition(
        &self,
        region: RegionCode,
        atoms: &[Atom],
        plan: &Plan,
        audit: &AuditEntry,
        shapes: &[PlanGridShape],
    ) -> Result<PlanVersion> {
        let tx = self.begin_write("save partition")?;
        let v = self.block_on(async {
            replace_atoms_in(tx.c(), region, atoms, &self.sealer.load()).await?;
            let v = save_plan_in(tx.c(), plan, false).await?;
            put_shapes_in(tx.c(), v.id, shapes).await?;
            accounts::insert_audit(tx.c(), &crate::store::saved_audit(audit, &v), None).await?;
            Ok::<_, StoreError>(v)
        })?;
        tx.commit(self, "commit partition")?;
        Ok(v)
    }

    fn put_plan_grid_shapes(&self, version: i64, shapes: &[PlanGridShape]) -> Result<()> {
        self.put_shapes(version, shapes)
    }

    fn versions_without_shapes(&self) -> Result<Vec<i64>> {
        self.without_shapes()
    }

    fn plan_grid_shapes(&self, versions: Option<&[i64]>) -> Result<ShapesByVersion> {
        self.shapes(versions)
    }

    fn plan_versions(&self, region: RegionCode) -> Result<Vec<PlanVersion>> {
        let c = self.read_conn("list plan versions")?;
        self.block_on(async {
            c.query(include_str!("sql/plan_versions.sql"), &[&code_str(region)])
                .await
                .map_err(pg("list plan versions"))?
                .iter()
                .map(to_version)
                .collect()
        })
    }

    fn plan(&self, id: i64) -> Result<Option<Plan>> {
        let c = self.read_conn("load plan")?;
        self.block_on(load_plan(&c, id))
    }

    fn restore(&self, dump: &Dump, progress: &mut dyn FnMut(u64)) -> Result<()> {
        let op = "copy";
        let tx = self.begin_write(op)?;
        let empty = self.block_on(async {
            let mut n = 0i64;
            for t in Layer::ALL.iter().map(|l| l.as_str()).chain([
                "plan_versions",
                "wangge_users",
                "wangge_audit",
            ]) {
                let row = c_query_one(tx.c(), &format!("SELECT count(*) FROM {t}")).await?;
                n += row.get::<_, i64>(0);
            }
            Ok::<_, StoreError>(n == 0)
        })?;
        if !empty {
            return Err(StoreError::Conflict(format!(
                "the target {} is not empty; copy only into a new store",
                self.shown
            )));
        }
        let mut done = 0u64;
        let mut ids = NextIds::default();
        let sealer = self.sealer.load();
        self.block_on(personal::check_key(&**tx.c(), &sealer))?;
        for chunk in dump.data.records().chunks(BATCH) {
            let mut recs = chunk.to_vec();
            self.block_on(insert_batch(tx.c(), &mut recs, &mut ids, &sealer))?;
            done += recs.len() as u64;
            progress(done);
        }
        for p in &dump.data.plans {
            self.block_on(save_plan_in(tx.c(), p, true))?;
            done += 1;
            progress(done);
        }
        for (version, shapes) in &dump.shapes {
            self.block_on(put_shapes_in(tx.c(), *version, shapes))?;
            done += 1;
        }
        self.block_on(accounts::restore(tx.c(), dump))?;
        done += (dump.users.len() + dump.tokens.len() + dump.audit.len()) as u64;
        progress(done);
        let (at, plans) = (crate::store::changes::now(), dump.data.plans.len());
        self.block_on(changes::append_imports(
            tx.c(),
            &crate::store::copied(dump),
            plans,
            &at,
            "copy",
        ))?;
        // Identities continue after the copied ids.
        self.block_on(async {
            for t in [
                "plan_versions",
                "wangge_users",
                "wangge_tokens",
                "wangge_audit",
            ] {
                c_query_one(
                    tx.c(),
                    &format!(
                        "SELECT setval(pg_get_serial_sequence('{t}', 'id'), \
                         coalesce((SELECT max(id) FROM {t}), 0) + 1, false)"
                    ),
                )
                .await?;
            }
            Ok::<_, StoreError>(())
        })?;
        tx.commit(self, "commit copy")
    }

    fn key_id(&self) -> KeyId {
        self.sealer.load().key_id().clone()
    }

    fn households_by_phone(&self, phone: &str) -> Result<Vec<Household>> {
        let c = self.read_conn("find households by phone")?;
        self.block_on(personal::by_phone(&**c, &self.sealer.load(), phone))
    }

    fn rotate_key(&self, new: Arc<Sealer>) -> Result<u64> {
        let tx = self.begin_write("rotate the key")?;
        let n = self.block_on(personal::rotate(&**tx.c(), &self.sealer.load(), &new))?;
        tx.commit(self, "commit key rotation")?;
        self.sealer.store(new);
        Ok(n)
    }

    fn write_household(
        &self,
        write: &crate::store::HouseholdWrite,
        audit: &AuditEntry,
    ) -> Result<crate::store::Change> {
        self.write_household_tx(write, audit)
    }

    fn write_people(
        &self,
        writes: &[(crate::store::PersonWrite, AuditEntry)],
    ) -> Result<Vec<crate::store::Change>> {
        self.write_people_tx(writes)
    }

    fn write_record(
        &self,
        write: &crate::store::RecordWrite,
        audit: &AuditEntry,
    ) -> Result<crate::store::Change> {
        self.write_record_tx(write, audit)
    }

    fn changes_since(&self, since: i64, limit: usize) -> Result<Vec<crate::store::Change>> {
        self.changes_after(since, limit)
    }

    fn last_seq(&self) -> Result<i64> {
        self.last_change()
    }

    fn etag_seq(&self, layer: Layer, id: i64) -> Result<i64> {
        self.etag_of(layer, id)
    }
}

async fn c_query_one(c: &ClientWrapper, sql: &str) -> Result<Row> {
    c.query_one(sql, &[]).await.map_err(pg("copy"))
}

#[cfg(test)]
pub(crate) mod testdb {
    //! A fresh schema per test in the test database, so tests run in
    //! parallel. No server is a failure with the reason, never a skip.

    use super::PostGis;

    /// `DATABASE_URL`, else the local test server.
    pub fn base_url() -> String {
        std::env::var("DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
    }

    /// A store on a new, uniquely named schema.
    pub fn fresh(tag: &str) -> PostGis {
        let url = fresh_url(tag);
        PostGis::open(&url).unwrap_or_else(|e| {
            panic!(
                "PostGIS tests need a PostgreSQL server with PostGIS at DATABASE_URL \
                 (or {}); scripts/test starts one. Could not open it: {e}",
                base_url()
            )
        })
    }

    /// The URL of a new, uniquely named schema (created on first open).
    pub fn fresh_url(tag: &str) -> String {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let schema = format!(
            "t_{tag}_{}_{}_{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let base = base_url();
        let sep = if base.contains('?') { '&' } else { '?' };
        format!("{base}{sep}schema={schema}")
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn postgis_passes_the_store_suite() {
        let store = testdb::fresh("suite");
        crate::store::suite::run_all(&store);
        // The views follow each region's newest (published) version.
        let c = store.read_conn("test").unwrap();
        for (layer, want) in [
            (
                "plan_grids_current",
                // 610902001003's plan was measured before the suite's
                // last household import, which dropped its shapes.
                vec![("610902001004".to_string(), 1)],
            ),
            (
                "plan_grids_published",
                vec![("610902001004".to_string(), 2)],
            ),
        ] {
            let rows: Vec<(String, i64)> = store.block_on(async {
                c.query(
                    &format!("SELECT region, count(DISTINCT fid) FROM {layer} GROUP BY region ORDER BY region"),
                    &[],
                )
                .await
                .unwrap()
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect()
            });
            assert_eq!(rows, want, "{layer}");
        }
    }

    #[test]
    fn copies_between_geopackage_and_postgis_hold_the_same() {
        use crate::store::gpkg::GeoPackage;
        let dir = tempfile::tempdir().unwrap();
        let a = GeoPackage::open(dir.path().join("a.gpkg")).unwrap();
        crate::store::suite::run_all(&a);
        let pg = testdb::fresh("copy");
        crate::store::suite::restore_copies_everything(&a, &pg);
        let b = GeoPackage::open(dir.path().join("b.gpkg")).unwrap();
        crate::store::suite::restore_copies_everything(&pg, &b);
    }

    #[test]
    fn the_audit_log_is_append_only() {
        use crate::access::account::AuditEntry;
        use crate::store::AccountStore;
        let s = testdb::fresh("audit");
        s.audit(&AuditEntry {
            id: 0,
            at: "2026-11-25T01:00:00Z".into(),
            user: "li".into(),
            action: "login".into(),
            target: "-".into(),
            from: "127.0.0.1".into(),
            detail: String::new(),
        })
        .unwrap();
        let c = s.read_conn("test").unwrap();
        for sql in [
            "DELETE FROM wangge_audit",
            "UPDATE wangge_audit SET user_name = 'x'",
            "TRUNCATE wangge_audit",
        ] {
            let e = s.block_on(c.batch_execute(sql)).unwrap_err();
            assert!(format!("{e:?}").contains("append-only"), "{sql}: {e:?}");
        }
        assert_eq!(s.audit_log(None, None, 10).unwrap().len(), 1);
    }

    #[test]
    fn migrations_are_recorded_once_and_reopening_keeps_data() {
        let store = testdb::fresh("migr");
        store
            .import(&mut crate::store::suite::sample().into_iter().map(Ok))
            .unwrap();
        let url = format!(
            "{}{}schema={}",
            testdb::base_url(),
            if testdb::base_url().contains('?') {
                '&'
            } else {
                '?'
            },
            current_schema(&store)
        );
        let again = PostGis::open(&url).unwrap();
        assert_eq!(
            again.migrations().unwrap(),
            vec![
                (1, "layers and plans".to_string()),
                (2, "accounts and the audit log".to_string()),
                (3, "audit log archives".to_string()),
                (4, "personal fields sealed".to_string()),
                (5, "road grade: surface, tunnel or bridge".to_string()),
                (
                    6,
                    "plan grids with their shapes, the current and published plans".to_string()
                ),
                (7, "the change log".to_string()),
                (8, "volunteer status and check-in".to_string()),
                (9, "incidents, their areas and timelines".to_string()),
                (
                    10,
                    "who was sent to which household in an incident".to_string()
                )
            ]
        );
        assert_eq!(again.load().unwrap().households.len(), 1);
    }

    fn current_schema(s: &PostGis) -> String {
        let c = s.read_conn("test").unwrap();
        s.block_on(async {
            c.query_one("SELECT current_schema()", &[])
                .await
                .unwrap()
                .get(0)
        })
    }

    #[test]
    fn every_geometry_column_of_a_table_has_a_gist_index() {
        let s = testdb::fresh("gist");
        let schema = current_schema(&s);
        let c = s.read_conn("test").unwrap();
        let (cols, indexed): (i64, i64) = s.block_on(async {
            let cols = c
                .query_one(
                    "SELECT count(*) FROM geometry_columns g
                     JOIN pg_tables t ON t.schemaname = g.f_table_schema AND t.tablename = g.f_table_name
                     WHERE f_table_schema = $1",
                    &[&schema],
                )
                .await
                .unwrap()
                .get(0);
            let indexed = c
                .query_one(
                    "SELECT count(*) FROM geometry_columns g
                     WHERE f_table_schema = $1 AND EXISTS (
                       SELECT 1 FROM pg_indexes i
                       WHERE i.schemaname = g.f_table_schema AND i.tablename = g.f_table_name
                         AND i.indexdef LIKE '%USING gist (' || g.f_geometry_column || ')%')",
                    &[&schema],
                )
                .await
                .unwrap()
                .get(0);
            (cols, indexed)
        });
        assert_eq!((cols, indexed), (10, 10), "people.checkin too");
    }

    #[test]
    fn a_failing_import_leaves_nothing_and_the_connection_is_clean() {
        let s = testdb::fresh("fail");
        // PostgreSQL refuses NUL in text (SQLite does not): the last record
        // fails after the others were sent, in the same transaction.
        let mut recs: Vec<Result<Record, Abort>> =
            crate::store::suite::sample().into_iter().map(Ok).collect();
        // (A road's name: personal fields are sealed text, NUL-free.)
        let Record::Road(mut r) = crate::store::suite::sample()[4].clone() else {
            unreachable!()
        };
        r.id = 0;
        r.name = "兴\0安路".into();
        recs.push(Ok(Record::Road(r)));
        let e = s.import(&mut recs.into_iter()).unwrap_err();
        assert!(matches!(e, StoreError::Postgres { .. }), "{e}");
        // The server's own words reach the message, not just "db error".
        assert!(e.to_string().contains("0x00"), "{e}");
        assert!(s.counts().unwrap().iter().all(|(_, n)| *n == 0));
        // Every pooled connection is usable afterwards (none is left in
        // the failed transaction).
        for _ in 0..10 {
            assert!(s.counts().unwrap().iter().all(|(_, n)| *n == 0));
        }
        s.import(&mut crate::store::suite::sample().into_iter().map(Ok))
            .unwrap();
        assert_eq!(s.load().unwrap().households.len(), 1);
    }

    #[test]
    fn works_inside_async_handlers_and_plain_threads() {
        let s = std::sync::Arc::new(testdb::fresh("async"));
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let s2 = s.clone();
        let n = rt.block_on(async move {
            // Directly on a worker (as the auth handlers do)...
            let a = s2.counts().unwrap().len();
            // ...and from spawn_blocking (as the other handlers do).
            let s3 = s2.clone();
            let b = tokio::task::spawn_blocking(move || s3.counts().unwrap().len())
                .await
                .unwrap();
            a + b
        });
        assert_eq!(n, 16);
        let current = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let s4 = s.clone();
        assert_eq!(
            current.block_on(async move { s4.regions().unwrap().len() }),
            0
        );
        let s5 = s.clone();
        assert_eq!(
            std::thread::spawn(move || s5.counts().unwrap().len())
                .join()
                .unwrap(),
            8
        );
        // Dropping the store inside an async context must not panic.
        rt.block_on(async move { drop(s) });
    }

    #[test]
    fn bad_urls_and_unreachable_servers_say_so() {
        let e = PostGis::open("postgres://postgres@127.0.0.1:1/test")
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("127.0.0.1:1") && e.contains("cannot connect") && e.contains("refused"),
            "{e}"
        );
        let e = PostGis::open("postgres://u:secret@127.0.0.1:1/x?schema=Bad-Name")
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("schema") && !e.contains("secret"), "{e}");
        let e = PostGis::open("postgres://127.0.0.1:notaport/x")
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("not a PostgreSQL URL"), "{e}");
    }
}
