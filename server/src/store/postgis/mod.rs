//! The PostGIS store: the same layers, plans and accounts as the
//! GeoPackage, in a PostgreSQL database with PostGIS, for deployments that
//! share one database between several servers or want SQL access.
//!
//! # Layout
//! - this file: connecting, the sync/async bridge, migrations, [`Store`];
//! - [`accounts`]: the [`AccountStore`](crate::access::account::AccountStore);
//! - [`ewkb`]: geometry on the wire (EWKB, SRID 4326);
//! - `migrations/*.sql`: the schema, applied in order at start-up.
//!
//! The [`Store`] trait is synchronous (SQLite is, and the API calls it from
//! `spawn_blocking`), tokio-postgres is not: the store owns a small private
//! runtime that drives its connections, and every call blocks the calling
//! thread on a future run with that runtime's handle ([`PostGis::block_on`]).
//! That works from the command line (no runtime), from `spawn_blocking`,
//! from plain threads (the audit writer) and, through `block_in_place`,
//! from async handlers, without ever nesting a `block_on` inside a runtime.
//!
//! Every write is one transaction that first takes a transaction-level
//! advisory lock on the schema, so writers are serialised as in SQLite and
//! ids and plan numbers (max + 1) cannot race.

mod accounts;
pub mod ewkb;
mod personal;

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;

use deadpool_postgres::{ClientWrapper, Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use futures_util::future::join_all;
use geo_types::{Geometry, LineString, MultiPolygon, Point};
use tokio_postgres::types::FromSql;
use tokio_postgres::{NoTls, Row};

use super::{Abort, Dataset, Dump, ImportCounts, Layer, Record, Result, Store, StoreError};
use crate::access::account::AuditEntry;
use crate::domain::{
    Atom, AtomKind, Building, Grade, GridCode, GridLabel, Household, ImportedGrid, Level, Plan,
    PlanVersion, Region, RegionCode, Road, RoadClass, Water, WaterKind,
};
use crate::sealing::{KeyId, Sealer};
use ewkb::{encode, Geom};

/// Versioned migrations: (version, name, SQL). Each is applied once, in its
/// own transaction, and recorded in `schema_migrations`.
const MIGRATIONS: &[(i32, &str, &str)] = &[
    (
        1,
        "layers and plans",
        include_str!("migrations/0001_layers.sql"),
    ),
    (
        2,
        "accounts and the audit log",
        include_str!("migrations/0002_accounts.sql"),
    ),
    (
        3,
        "audit log archives",
        include_str!("migrations/0003_audit_archive.sql"),
    ),
    (
        4,
        personal::SEALED_MIGRATION,
        include_str!("migrations/0004_sealed.sql"),
    ),
    (
        5,
        "road grade: surface, tunnel or bridge",
        include_str!("migrations/0005_road_grade.sql"),
    ),
];

/// First key of our advisory locks (the second is the schema's hash).
const LOCK_CLASS: i32 = 0x7767; // "wg"
/// Records sent per pipelined round of an import.
const BATCH: usize = 2000;

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

// Reasons are small values read once; taking them by value keeps calls short.
#[allow(clippy::needless_pass_by_value)]
fn corrupt(what: impl Into<String>, reason: impl ToString) -> StoreError {
    StoreError::Corrupt {
        what: what.into(),
        reason: reason.to_string(),
    }
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

/// Splits our own `schema=NAME` query parameter off a URL (tokio-postgres
/// refuses unknown parameters). Names are plain identifiers so that they
/// can be written into SQL.
fn split_schema(url: &str) -> Result<(String, Option<String>)> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_string(), None));
    };
    let mut schema = None;
    let mut rest = vec![];
    for kv in query.split('&') {
        match kv.strip_prefix("schema=") {
            Some(s) => schema = Some(s.to_string()),
            None => rest.push(kv),
        }
    }
    if let Some(s) = &schema {
        let ok = !s.is_empty()
            && s.len() <= 63
            && s.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !ok {
            return Err(StoreError::Database {
                url: redact(url),
                reason: format!("schema {s:?}: use lower-case letters, digits and _ (at most 63)"),
            });
        }
    }
    let base = if rest.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", rest.join("&"))
    };
    Ok((base, schema))
}

/// A connection inside an explicit transaction. Dropped without
/// [`Tx::commit`] (an error, an abort, a panic), it closes the connection
/// instead of returning it to the pool, so the server rolls everything back
/// and no later caller inherits a half-done transaction.
struct Tx {
    conn: Option<Object>,
}

impl Tx {
    fn c(&self) -> &ClientWrapper {
        self.conn.as_ref().expect("open until commit or drop")
    }

    fn commit(mut self, store: &PostGis, op: &'static str) -> Result<()> {
        let conn = self.conn.take().expect("open until commit");
        store.block_on(async { conn.batch_execute("COMMIT").await.map_err(pg(op)) })?;
        drop(conn);
        Ok(())
    }
}

impl Drop for Tx {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            // Detach and close: the server rolls the transaction back.
            drop(Object::take(conn));
        }
    }
}

impl PostGis {
    /// Connects to `url` (`postgres://user[:password]@host[:port]/db`, with
    /// an optional `?schema=NAME` to keep the tables in their own schema,
    /// created when missing), makes sure PostGIS is there and applies the
    /// pending migrations. An unreachable server fails here, with the URL.
    /// Personal fields are sealed with the process's key.
    pub fn open(url: &str) -> Result<Self> {
        Self::open_with(url, super::process_sealer()?)
    }

    /// Like [`PostGis::open`], with the given key: a database sealed with
    /// another key is refused ([`StoreError::WrongKey`]) before any
    /// migration runs.
    pub fn open_with(url: &str, sealer: Arc<Sealer>) -> Result<Self> {
        let shown = redact(url);
        let (base, schema) = split_schema(url)?;
        let mut cfg: tokio_postgres::Config =
            base.parse()
                .map_err(|e: tokio_postgres::Error| StoreError::Database {
                    url: shown.clone(),
                    reason: format!("not a PostgreSQL URL: {e}"),
                })?;
        // Notices ("already exists, skipping") would be logged at info.
        let mut options = "-c client_min_messages=warning".to_string();
        if let Some(s) = &schema {
            options += " -c search_path=";
            options += s;
            options += ",public";
        }
        cfg.options(options);
        cfg.application_name("wangge");
        cfg.connect_timeout(Duration::from_secs(10));
        // Two workers: they only move bytes; the callers do the waiting.
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("wangge-postgis")
            .enable_all()
            .build()
            .map_err(|e| StoreError::Database {
                url: shown.clone(),
                reason: format!("starting the database runtime: {e}"),
            })?;
        let mgr = Manager::from_config(
            cfg,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(mgr)
            .max_size(8)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(60)))
            .create_timeout(Some(Duration::from_secs(15)))
            .build()
            .map_err(|e| StoreError::Database {
                url: shown.clone(),
                reason: e.to_string(),
            })?;
        let store = Self {
            pool,
            rt: Some(rt),
            shown,
            sealer: ArcSwap::new(sealer),
        };
        store.prepare(schema.as_deref())?;
        Ok(store)
    }

    /// The URL without its password.
    pub fn url(&self) -> &str {
        &self.shown
    }

    /// Runs `f` to completion on the calling thread, its I/O driven by the
    /// store's runtime. Safe from any thread: outside a runtime it blocks
    /// directly; on a worker of a multi-thread runtime it first tells tokio
    /// (`block_in_place`) so other tasks move elsewhere; on a current-thread
    /// runtime, where that is impossible, it waits on a scoped thread.
    fn block_on<F>(&self, f: F) -> F::Output
    where
        F: Future + Send,
        F::Output: Send,
    {
        use tokio::runtime::{Handle, RuntimeFlavor};
        let h = self.rt.as_ref().expect("runtime lives until drop").handle();
        match Handle::try_current().map(|c| c.runtime_flavor()) {
            Err(_) => h.block_on(f),
            Ok(RuntimeFlavor::CurrentThread) => std::thread::scope(|s| {
                s.spawn(|| h.block_on(f))
                    .join()
                    .unwrap_or_else(|p| std::panic::resume_unwind(p))
            }),
            Ok(_) => tokio::task::block_in_place(|| h.block_on(f)),
        }
    }

    async fn conn(&self, op: &'static str) -> Result<Object> {
        self.pool.get().await.map_err(|e| match e {
            deadpool_postgres::PoolError::Backend(source) => StoreError::Unavailable {
                op,
                reason: format!("cannot connect to {}: {}", self.shown, chain(&source)),
            },
            other => pool_err(op)(other),
        })
    }

    /// A connection for reads outside a transaction.
    fn read_conn(&self, op: &'static str) -> Result<Object> {
        self.block_on(self.conn(op))
    }

    /// Begins a write transaction holding the schema's write lock.
    fn begin_write(&self, op: &'static str) -> Result<Tx> {
        let tx = Tx {
            conn: Some(self.block_on(self.conn(op))?),
        };
        self.block_on(async {
            tx.c().batch_execute("BEGIN").await.map_err(pg(op))?;
            tx.c()
                .execute(
                    "SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))",
                    &[&LOCK_CLASS],
                )
                .await
                .map_err(pg(op))
        })?;
        Ok(tx)
    }

    /// Begins a read-only snapshot: a load sees one consistent state.
    fn begin_read(&self, op: &'static str) -> Result<Tx> {
        let tx = Tx {
            conn: Some(self.block_on(self.conn(op))?),
        };
        self.block_on(async {
            tx.c()
                .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                .await
                .map_err(pg(op))
        })?;
        Ok(tx)
    }

    /// Creates the schema when asked for, checks PostGIS, applies migrations.
    fn prepare(&self, schema: Option<&str>) -> Result<()> {
        let op = "prepare the database";
        let mut conn = self.read_conn(op)?;
        self.block_on(async {
            let c: &mut ClientWrapper = &mut conn;
            let has_postgis = c
                .query_opt("SELECT 1 FROM pg_extension WHERE extname = 'postgis'", &[])
                .await
                .map_err(pg(op))?
                .is_some();
            if !has_postgis {
                c.batch_execute("CREATE EXTENSION IF NOT EXISTS postgis SCHEMA public")
                    .await
                    .map_err(|e| StoreError::Database {
                        url: self.shown.clone(),
                        reason: format!(
                            "PostGIS is not installed and could not be created ({e}); \
                             install postgis and run CREATE EXTENSION postgis"
                        ),
                    })?;
            }
            if let Some(s) = schema {
                // Two servers starting at once: serialise on a session lock.
                c.execute("SELECT pg_advisory_lock($1, 0)", &[&LOCK_CLASS])
                    .await
                    .map_err(pg(op))?;
                let made = c
                    .batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {s}"))
                    .await;
                c.execute("SELECT pg_advisory_unlock($1, 0)", &[&LOCK_CLASS])
                    .await
                    .map_err(pg(op))?;
                made.map_err(pg("create the schema"))?;
            }
            let sealer = self.sealer.load();
            personal::check_key(&**c, &sealer).await?;
            migrate(c, &sealer).await?;
            // Another server may have sealed it first, with its key.
            personal::check_key(&**c, &sealer).await
        })
    }

    /// The migrations applied so far: (version, name).
    pub fn migrations(&self) -> Result<Vec<(i32, String)>> {
        let c = self.read_conn("list migrations")?;
        self.block_on(async {
            let rows = c
                .query(
                    "SELECT version, name FROM schema_migrations ORDER BY version",
                    &[],
                )
                .await
                .map_err(pg("list migrations"))?;
            Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
        })
    }

    fn import_tx(
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
        if let Some(a) = audit {
            let stored: Vec<String> = counts.iter().map(|(l, n)| format!("{n} {l}")).collect();
            let detail = if a.detail.is_empty() {
                stored.join(", ")
            } else {
                format!("{}; {}", a.detail, stored.join(", "))
            };
            let a = AuditEntry {
                detail,
                ..a.clone()
            };
            self.block_on(accounts::insert_audit(tx.c(), &a, None))?;
        }
        tx.commit(self, "commit import")?;
        Ok(counts)
    }
}

impl Drop for PostGis {
    fn drop(&mut self) {
        // Dropping a runtime blocks, which panics inside an async context
        // (the server drops its state there): let it wind down on its own.
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

/// Applies each pending migration in its own transaction, under a lock so
/// that two servers starting at once do not both apply it.
async fn migrate(c: &mut ClientWrapper, sealer: &Sealer) -> Result<()> {
    for &(version, name, sql) in MIGRATIONS {
        let op = "migrate";
        let tx = c.transaction().await.map_err(pg(op))?;
        tx.execute(
            "SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))",
            &[&LOCK_CLASS],
        )
        .await
        .map_err(pg(op))?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
               version integer PRIMARY KEY,
               name text NOT NULL,
               applied_at timestamptz NOT NULL DEFAULT now())",
        )
        .await
        .map_err(pg(op))?;
        let done = tx
            .query_opt(
                "SELECT 1 FROM schema_migrations WHERE version = $1",
                &[&version],
            )
            .await
            .map_err(pg(op))?
            .is_some();
        if !done {
            tracing::info!(version, name, "applying migration");
            tx.batch_execute(sql)
                .await
                .map_err(|e| StoreError::Postgres {
                    op: "apply a migration",
                    source: format!("migration {version} ({name}): {e}").into(),
                })?;
            if name == personal::SEALED_MIGRATION {
                personal::seal_existing(&*tx, sealer).await?;
            }
            tx.execute(
                "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                &[&version, &name],
            )
            .await
            .map_err(pg(op))?;
        }
        tx.commit().await.map_err(pg(op))?;
    }
    Ok(())
}

/// The next free id per layer, learnt from the table on first use and kept
/// above every id written since (the GeoPackage's AUTOINCREMENT).
#[derive(Default)]
struct NextIds(HashMap<Layer, i64>);

impl NextIds {
    async fn assign(&mut self, c: &ClientWrapper, layer: Layer, id: &mut i64) -> Result<()> {
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
async fn insert_batch(
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
fn inserted(results: Vec<std::result::Result<(), tokio_postgres::Error>>) -> Result<()> {
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

fn code_str(c: RegionCode) -> String {
    c.to_string()
}

/// Upserts one record: a region by code, an atom by (region, id), the
/// other layers by fid.
async fn insert(
    c: &ClientWrapper,
    rec: &Record,
    s: &Sealer,
) -> std::result::Result<(), tokio_postgres::Error> {
    let n = match rec {
        Record::Region(r) => {
            let st = c
                .prepare_cached(
                    "INSERT INTO regions (code, geom, name, parent) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (code) DO UPDATE SET geom = excluded.geom, name = excluded.name, parent = excluded.parent",
                )
                .await
                ?;
            let g = encode(&Geometry::MultiPolygon(r.boundary.clone()));
            c.execute(
                &st,
                &[&code_str(r.code), &g, &r.name, &r.parent.map(code_str)],
            )
            .await
        }
        Record::Atom(a) => {
            let st = c
                .prepare_cached(
                    "INSERT INTO atoms (region, atom_id, geom, kind) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (region, atom_id) DO UPDATE SET geom = excluded.geom, kind = excluded.kind",
                )
                .await
                ?;
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
                .prepare_cached(
                    "INSERT INTO roads (fid, geom, class, name, grade) VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (fid) DO UPDATE SET geom = excluded.geom, class = excluded.class, name = excluded.name, grade = excluded.grade",
                )
                .await
                ?;
            let g = encode(&Geometry::LineString(r.geometry.clone()));
            c.execute(
                &st,
                &[&r.id, &g, &r.class.as_str(), &r.name, &r.grade.as_str()],
            )
            .await
        }
        Record::Building(b) => {
            let st = c
                .prepare_cached(
                    "INSERT INTO buildings (fid, geom, levels, height_m, kind) VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (fid) DO UPDATE SET geom = excluded.geom, levels = excluded.levels,
                       height_m = excluded.height_m, kind = excluded.kind",
                )
                .await
                ?;
            let g = encode(&Geometry::MultiPolygon(b.geometry.clone()));
            c.execute(
                &st,
                &[&b.id, &g, &b.levels.map(i32::from), &b.height_m, &b.kind],
            )
            .await
        }
        Record::Water(w) => {
            let st = c
                .prepare_cached(
                    "INSERT INTO water (fid, geom, kind, name) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (fid) DO UPDATE SET geom = excluded.geom, kind = excluded.kind, name = excluded.name",
                )
                .await
                ?;
            let kind = match w.kind {
                WaterKind::River => "river",
                WaterKind::Area => "area",
            };
            c.execute(&st, &[&w.id, &encode(&w.geometry), &kind, &w.name])
                .await
        }
        Record::Grid(g) => {
            let st = c
                .prepare_cached(
                    "INSERT INTO grids (fid, geom, region, level, code, name, parent)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)
                     ON CONFLICT (fid) DO UPDATE SET geom = excluded.geom, region = excluded.region,
                       level = excluded.level, code = excluded.code, name = excluded.name, parent = excluded.parent",
                )
                .await
                ?;
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

/// Reads column `i`, reporting a bad value (or geometry) with its column.
fn col<'a, T: FromSql<'a>>(r: &'a Row, i: usize, what: &str) -> Result<T> {
    r.try_get(i).map_err(|e| {
        corrupt(
            what,
            std::error::Error::source(&e).map_or_else(|| e.to_string(), ToString::to_string),
        )
    })
}

fn region_code(s: &str, what: &str) -> Result<RegionCode> {
    s.parse().map_err(|e| corrupt(what, e))
}

fn multipolygon(g: Geometry<f64>, what: &str) -> Result<MultiPolygon<f64>> {
    match g {
        Geometry::MultiPolygon(m) => Ok(m),
        Geometry::Polygon(p) => Ok(MultiPolygon(vec![p])),
        _ => Err(corrupt(what, "expected a polygon")),
    }
}

// By value like its siblings, which move the geometry out.
#[allow(clippy::needless_pass_by_value)]
fn point(g: Geometry<f64>, what: &str) -> Result<Point<f64>> {
    match g {
        Geometry::Point(p) => Ok(p),
        _ => Err(corrupt(what, "expected a point")),
    }
}

fn linestring(g: Geometry<f64>, what: &str) -> Result<LineString<f64>> {
    match g {
        Geometry::LineString(l) => Ok(l),
        _ => Err(corrupt(what, "expected a linestring")),
    }
}

fn small<T: TryFrom<i32>>(v: i32, what: &str) -> Result<T> {
    T::try_from(v).map_err(|_| corrupt(what, format!("{v} is out of range")))
}

async fn load_regions(c: &ClientWrapper) -> Result<Vec<Region>> {
    let rows = c
        .query(
            r#"SELECT geom, code, name, parent FROM regions ORDER BY code COLLATE "C""#,
            &[],
        )
        .await
        .map_err(pg("load regions"))?;
    rows.iter()
        .map(|r| {
            let code: String = col(r, 1, "regions.code")?;
            let parent: Option<String> = col(r, 3, "regions.parent")?;
            Ok(Region {
                code: region_code(&code, "regions.code")?,
                name: col(r, 2, "regions.name")?,
                parent: parent
                    .as_deref()
                    .map(|p| region_code(p, "regions.parent"))
                    .transpose()?,
                boundary: multipolygon(col::<Geom>(r, 0, "regions.geom")?.0, "regions.geom")?,
            })
        })
        .collect()
}

async fn load_all(c: &ClientWrapper, s: &Sealer) -> Result<Dataset> {
    let op = "load";
    let q = |sql: &'static str| async move { c.query(sql, &[]).await.map_err(pg(op)) };
    let mut d = Dataset {
        regions: load_regions(c).await?,
        ..Dataset::default()
    };
    for r in
        &q(r#"SELECT geom, region, atom_id, kind FROM atoms ORDER BY region COLLATE "C", atom_id"#)
            .await?
    {
        let region: String = col(r, 1, "atoms.region")?;
        let kind: String = col(r, 3, "atoms.kind")?;
        let id: i64 = col(r, 2, "atoms.atom_id")?;
        d.atoms.push(Atom {
            id: u32::try_from(id).map_err(|_| corrupt("atoms.atom_id", id))?,
            region: region_code(&region, "atoms.region")?,
            kind: AtomKind::parse(&kind).ok_or_else(|| corrupt("atoms.kind", &kind))?,
            geometry: multipolygon(col::<Geom>(r, 0, "atoms.geom")?.0, "atoms.geom")?,
        });
    }
    (d.households, d.people) = personal::load(&**c, s).await?;
    for r in &q("SELECT fid, geom, class, name, grade FROM roads ORDER BY fid").await? {
        let class: String = col(r, 2, "roads.class")?;
        let grade: String = col(r, 4, "roads.grade")?;
        d.roads.push(Road {
            id: col(r, 0, "roads.fid")?,
            geometry: linestring(col::<Geom>(r, 1, "roads.geom")?.0, "roads.geom")?,
            class: RoadClass::parse(&class).ok_or_else(|| corrupt("roads.class", &class))?,
            name: col(r, 3, "roads.name")?,
            grade: Grade::parse(&grade).ok_or_else(|| corrupt("roads.grade", &grade))?,
        });
    }
    for r in &q("SELECT fid, geom, levels, height_m, kind FROM buildings ORDER BY fid").await? {
        let levels: Option<i32> = col(r, 2, "buildings.levels")?;
        d.buildings.push(Building {
            id: col(r, 0, "buildings.fid")?,
            geometry: multipolygon(col::<Geom>(r, 1, "buildings.geom")?.0, "buildings.geom")?,
            levels: levels.map(|l| small(l, "buildings.levels")).transpose()?,
            height_m: col(r, 3, "buildings.height_m")?,
            kind: col(r, 4, "buildings.kind")?,
        });
    }
    for r in &q("SELECT fid, geom, kind, name FROM water ORDER BY fid").await? {
        let kind: String = col(r, 2, "water.kind")?;
        d.water.push(Water {
            id: col(r, 0, "water.fid")?,
            geometry: col::<Geom>(r, 1, "water.geom")?.0,
            kind: match kind.as_str() {
                "river" => WaterKind::River,
                "area" => WaterKind::Area,
                _ => return Err(corrupt("water.kind", kind)),
            },
            name: col(r, 3, "water.name")?,
        });
    }
    for r in
        &q("SELECT fid, geom, region, level, code, name, parent FROM grids ORDER BY fid").await?
    {
        let region: String = col(r, 2, "grids.region")?;
        let level: i16 = col(r, 3, "grids.level")?;
        let parent: Option<String> = col(r, 6, "grids.parent")?;
        d.grids.push(ImportedGrid {
            id: col(r, 0, "grids.fid")?,
            geometry: multipolygon(col::<Geom>(r, 1, "grids.geom")?.0, "grids.geom")?,
            region: region_code(&region, "grids.region")?,
            level: u8::try_from(level)
                .ok()
                .and_then(Level::new)
                .ok_or_else(|| corrupt("grids.level", level))?,
            code: GridCode(col(r, 4, "grids.code")?),
            name: col(r, 5, "grids.name")?,
            parent: parent.map(GridCode),
        });
    }
    // The newest version of each region, regions in byte order as the
    // GeoPackage lists them.
    let mut newest: Vec<(String, i64)> =
        q("SELECT region, max(id) FROM plan_versions GROUP BY region")
            .await?
            .iter()
            .map(|r| {
                Ok((
                    col(r, 0, "plan_versions.region")?,
                    col(r, 1, "plan_versions.id")?,
                ))
            })
            .collect::<Result<_>>()?;
    newest.sort();
    for (_, id) in newest {
        if let Some(p) = load_plan(c, id).await? {
            d.plans.push(p);
        }
    }
    Ok(d)
}

const VERSION_COLS: &str = "id, region, number, parent, author, created_at, message, published";

fn to_version(r: &Row) -> Result<PlanVersion> {
    let region: String = col(r, 1, "plan_versions.region")?;
    let number: i32 = col(r, 2, "plan_versions.number")?;
    Ok(PlanVersion {
        id: col(r, 0, "plan_versions.id")?,
        region: region_code(&region, "plan_versions.region")?,
        number: small(number, "plan_versions.number")?,
        parent: col(r, 3, "plan_versions.parent")?,
        author: col(r, 4, "plan_versions.author")?,
        created_at: col(r, 5, "plan_versions.created_at")?,
        message: col(r, 6, "plan_versions.message")?,
        published: col(r, 7, "plan_versions.published")?,
    })
}

async fn load_plan(c: &ClientWrapper, id: i64) -> Result<Option<Plan>> {
    let op = "load plan";
    let Some(v) = c
        .query_opt(
            &format!("SELECT {VERSION_COLS} FROM plan_versions WHERE id = $1"),
            &[&id],
        )
        .await
        .map_err(pg(op))?
    else {
        return Ok(None);
    };
    let version = to_version(&v)?;
    let mut atoms = vec![];
    let mut labels = vec![];
    let rows = c
        .query(
            "SELECT atom, l1, l2, l3 FROM plan_labels WHERE version = $1 ORDER BY atom",
            &[&id],
        )
        .await
        .map_err(pg(op))?;
    for r in &rows {
        let atom: i64 = col(r, 0, "plan_labels.atom")?;
        atoms.push(u32::try_from(atom).map_err(|_| corrupt("plan_labels.atom", atom))?);
        let l = |i| -> Result<u32> {
            let v: i32 = col(r, i, "plan_labels.label")?;
            small(v, "plan_labels.label")
        };
        labels.push(GridLabel([l(1)?, l(2)?, l(3)?]));
    }
    let mut codes: [Vec<GridCode>; 3] = Default::default();
    let rows = c
        .query(
            "SELECT level, grid, code FROM plan_grids WHERE version = $1 ORDER BY level, grid",
            &[&id],
        )
        .await
        .map_err(pg(op))?;
    for r in &rows {
        let level: i16 = col(r, 0, "plan_grids.level")?;
        let grid: i32 = col(r, 1, "plan_grids.grid")?;
        let v = usize::try_from(level - 1)
            .ok()
            .and_then(|l| codes.get_mut(l))
            .ok_or_else(|| corrupt("plan_grids.level", level))?;
        if usize::try_from(grid).ok() != Some(v.len()) {
            return Err(corrupt(
                "plan_grids.grid",
                format!("grid ids of level {level} are not dense at {grid}"),
            ));
        }
        v.push(GridCode(col(r, 2, "plan_grids.code")?));
    }
    Ok(Some(Plan {
        version,
        atoms,
        labels,
        codes,
    }))
}

async fn replace_atoms_in(
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

/// Writes a plan version with its labels and codes. `id` keeps a given id
/// (a copy); otherwise the identity assigns one and the number is the
/// region's next.
async fn save_plan_in(c: &ClientWrapper, plan: &Plan, keep: bool) -> Result<PlanVersion> {
    if plan.atoms.len() != plan.labels.len() {
        return Err(StoreError::Conflict(format!(
            "plan has {} atoms but {} labels",
            plan.atoms.len(),
            plan.labels.len()
        )));
    }
    let v = &plan.version;
    let region = code_str(v.region);
    let (id, number) = if keep {
        let row = c
            .query_one(
                "INSERT INTO plan_versions (id, region, number, parent, author, created_at, message, published)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id, number",
                &[&v.id, &region, &(v.number as i32), &v.parent, &v.author, &v.created_at, &v.message, &v.published],
            )
            .await
            .map_err(pg("insert plan version"))?;
        (row.get::<_, i64>(0), row.get::<_, i32>(1))
    } else {
        let row = c
            .query_one(
                "INSERT INTO plan_versions (region, number, parent, author, created_at, message, published)
                 SELECT $1, coalesce(max(number), 0) + 1, $2, $3, $4, $5, $6 FROM plan_versions WHERE region = $1
                 RETURNING id, number",
                &[&region, &v.parent, &v.author, &v.created_at, &v.message, &v.published],
            )
            .await
            .map_err(pg("insert plan version"))?;
        (row.get::<_, i64>(0), row.get::<_, i32>(1))
    };
    let atoms: Vec<i64> = plan.atoms.iter().map(|&a| i64::from(a)).collect();
    let l = |k: usize| -> Vec<i32> { plan.labels.iter().map(|g| g.0[k] as i32).collect() };
    c.execute(
        "INSERT INTO plan_labels (version, atom, l1, l2, l3)
         SELECT $1, * FROM unnest($2::int8[], $3::int4[], $4::int4[], $5::int4[])",
        &[&id, &atoms, &l(0), &l(1), &l(2)],
    )
    .await
    .map_err(pg("insert plan labels"))?;
    let mut levels: Vec<i16> = vec![];
    let mut grids: Vec<i32> = vec![];
    let mut codes: Vec<&str> = vec![];
    for (li, cs) in plan.codes.iter().enumerate() {
        for (g, code) in cs.iter().enumerate() {
            levels.push(li as i16 + 1);
            grids.push(g as i32);
            codes.push(code.as_str());
        }
    }
    c.execute(
        "INSERT INTO plan_grids (version, level, grid, code)
         SELECT $1, * FROM unnest($2::int2[], $3::int4[], $4::text[])",
        &[&id, &levels, &grids, &codes],
    )
    .await
    .map_err(pg("insert plan grids"))?;
    Ok(PlanVersion {
        id,
        number: number as u32,
        ..plan.version.clone()
    })
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

    fn save_plan(&self, plan: &Plan) -> Result<PlanVersion> {
        let tx = self.begin_write("save plan")?;
        let v = self.block_on(save_plan_in(tx.c(), plan, false))?;
        tx.commit(self, "commit plan")?;
        Ok(v)
    }

    fn save_plan_on(
        &self,
        plan: &Plan,
        added: &[Atom],
        base: i64,
        audit: &AuditEntry,
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
    ) -> Result<PlanVersion> {
        let tx = self.begin_write("save partition")?;
        let v = self.block_on(async {
            replace_atoms_in(tx.c(), region, atoms, &self.sealer.load()).await?;
            let v = save_plan_in(tx.c(), plan, false).await?;
            accounts::insert_audit(tx.c(), &crate::store::saved_audit(audit, &v), None).await?;
            Ok::<_, StoreError>(v)
        })?;
        tx.commit(self, "commit partition")?;
        Ok(v)
    }

    fn plan_versions(&self, region: RegionCode) -> Result<Vec<PlanVersion>> {
        let c = self.read_conn("list plan versions")?;
        self.block_on(async {
            c.query(
                &format!(
                    "SELECT {VERSION_COLS} FROM plan_versions WHERE region = $1 ORDER BY number"
                ),
                &[&code_str(region)],
            )
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
        self.block_on(accounts::restore(tx.c(), dump))?;
        done += (dump.users.len() + dump.tokens.len() + dump.audit.len()) as u64;
        progress(done);
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
        use crate::access::account::{AccountStore, AuditEntry};
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
                (5, "road grade: surface, tunnel or bridge".to_string())
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
    fn every_geometry_column_has_a_gist_index() {
        let s = testdb::fresh("gist");
        let schema = current_schema(&s);
        let c = s.read_conn("test").unwrap();
        let (cols, indexed): (i64, i64) = s.block_on(async {
            let cols = c
                .query_one(
                    "SELECT count(*) FROM geometry_columns WHERE f_table_schema = $1",
                    &[&schema],
                )
                .await
                .unwrap()
                .get(0);
            let indexed = c
                .query_one(
                    "SELECT count(*) FROM pg_indexes WHERE schemaname = $1 AND indexdef LIKE '%USING gist (geom)%'",
                    &[&schema],
                )
                .await
                .unwrap()
                .get(0);
            (cols, indexed)
        });
        assert_eq!((cols, indexed), (8, 8));
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
