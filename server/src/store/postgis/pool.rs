//! Connecting: the URL and its schema, the pool, the private runtime every
//! call blocks on, and transactions.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use deadpool_postgres::{ClientWrapper, Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use tokio_postgres::NoTls;

use super::{chain, pg, pool_err, redact, PostGis};
use crate::sealing::Sealer;
use crate::store::{Result, StoreError};

/// First key of our advisory locks (the second is the schema's hash).
pub(super) const LOCK_CLASS: i32 = 0x7767; // "wg"
/// Splits our own `schema=NAME` query parameter off a URL (tokio-postgres
/// refuses unknown parameters). Names are plain identifiers so that they
/// can be written into SQL.
pub(super) fn split_schema(url: &str) -> Result<(String, Option<String>)> {
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
pub(super) struct Tx {
    pub(super) conn: Option<Object>,
}

impl Tx {
    pub(super) fn c(&self) -> &ClientWrapper {
        self.conn.as_ref().expect("open until commit or drop")
    }

    pub(super) fn commit(mut self, store: &PostGis, op: &'static str) -> Result<()> {
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
        Self::open_with(url, crate::store::process_sealer()?)
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
    pub(super) fn block_on<F>(&self, f: F) -> F::Output
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

    pub(super) async fn conn(&self, op: &'static str) -> Result<Object> {
        self.pool.get().await.map_err(|e| match e {
            deadpool_postgres::PoolError::Backend(source) => StoreError::Unavailable {
                op,
                reason: format!("cannot connect to {}: {}", self.shown, chain(&source)),
            },
            other => pool_err(op)(other),
        })
    }

    /// A connection for reads outside a transaction.
    pub(super) fn read_conn(&self, op: &'static str) -> Result<Object> {
        self.block_on(self.conn(op))
    }

    /// Begins a write transaction holding the schema's write lock.
    pub(super) fn begin_write(&self, op: &'static str) -> Result<Tx> {
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
    pub(super) fn begin_read(&self, op: &'static str) -> Result<Tx> {
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
