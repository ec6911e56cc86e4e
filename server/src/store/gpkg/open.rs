//! Opening the file: creating a new GeoPackage, refusing foreign files,
//! bringing older wangge files up to this schema.

use std::path::Path;
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use rusqlite::{Connection, OptionalExtension};

use super::{accounts, personal, sql, GeoPackage};
use crate::sealing::Sealer;
use crate::store::{Result, StoreError};

/// `PRAGMA application_id` of every GeoPackage: "GPKG".
pub(super) const APPLICATION_ID: i32 = 0x4750_4B47;
/// `PRAGMA user_version` of GeoPackage 1.3.
pub(super) const USER_VERSION: i32 = 10300;
pub(super) const SCHEMA: &str = include_str!("schema.sql");

impl GeoPackage {
    /// Opens `path`, creating a new GeoPackage when the file does not exist.
    /// An existing file must be a GeoPackage written by wangge. Personal
    /// fields are sealed with the process's key.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path, crate::store::process_sealer()?)
    }

    /// Like [`GeoPackage::open`], with the given key: a file sealed with
    /// another key is refused ([`StoreError::WrongKey`]) and left as it is.
    pub fn open_with(path: impl AsRef<Path>, sealer: Arc<Sealer>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let existed = path.exists();
        let conn = Connection::open(&path).map_err(|e| StoreError::File {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        // Rollback journal (not WAL): a kill -9 mid-import leaves a hot
        // journal that the next open rolls back, and the file stays one file.
        // secure_delete: a replaced or deleted personal value is zeroed,
        // not left readable in a free page (an upgrade re-seals every one).
        conn.execute_batch(
            "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -32768;
             PRAGMA secure_delete = ON;",
        )
        .map_err(sql("set pragmas"))?;
        super::rtree::register_functions(&conn).map_err(sql("register spatial index functions"))?;
        let store = Self {
            path,
            conn: Mutex::new(conn),
            sealer: ArcSwap::new(sealer),
        };
        if existed && store.is_ours()? {
            store.migrate()?;
            return Ok(store);
        }
        if existed {
            let empty: i64 = store
                .lock()
                .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
                .map_err(|e| StoreError::File {
                    path: store.path.display().to_string(),
                    reason: format!("not an SQLite file: {e}"),
                })?;
            if empty > 0 {
                return Err(StoreError::File {
                    path: store.path.display().to_string(),
                    reason:
                        "not a wangge GeoPackage (no wangge_meta table or wrong application_id)"
                            .into(),
                });
            }
        }
        store.create()?;
        store.migrate()?;
        Ok(store)
    }

    /// Brings an older wangge GeoPackage up to this schema (idempotent).
    fn migrate(&self) -> Result<()> {
        let mut c = self.lock();
        migrate_road_grade(&c)?;
        migrate_volunteer_status(&c)?;
        super::layout::upgrade(&mut c)?;
        super::plan_shapes::ensure(&c)?;
        super::changes::ensure(&c)?;
        super::incidents::ensure(&c)?;
        super::rtree::ensure_all(&c)?;
        Self::migrate_accounts(&mut c)?;
        personal::prepare(&mut c, &self.sealer.load())
    }

    fn migrate_accounts(c: &mut Connection) -> Result<()> {
        let has: Option<String> = c
            .query_row(
                "SELECT name FROM sqlite_master WHERE name = 'wangge_users'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql("check schema"))?;
        let archives: Option<String> = c
            .query_row(
                "SELECT name FROM sqlite_master WHERE name = 'wangge_audit_archives'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql("check schema"))?;
        if has.is_some() && archives.is_some() {
            return Ok(());
        }
        let tx = c.transaction().map_err(sql("migrate"))?;
        if has.is_none() {
            tx.execute_batch(accounts::SCHEMA)
                .map_err(sql("migrate: account tables"))?;
        }
        tx.execute_batch(accounts::ARCHIVE_SCHEMA)
            .map_err(sql("migrate: audit archives"))?;
        tx.commit().map_err(sql("migrate"))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (the
        // transaction rolls back on drop), so a poisoned lock is usable.
        self.conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn is_ours(&self) -> Result<bool> {
        let c = self.lock();
        let app: i32 = c
            .query_row("PRAGMA application_id", [], |r| r.get(0))
            .map_err(|e| StoreError::File {
                path: self.path.display().to_string(),
                reason: format!("not an SQLite file: {e}"),
            })?;
        if app != APPLICATION_ID {
            return Ok(false);
        }
        let meta: Option<String> = c
            .query_row(
                "SELECT name FROM sqlite_master WHERE name = 'wangge_meta'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql("check schema"))?;
        Ok(meta.is_some())
    }

    fn create(&self) -> Result<()> {
        let mut c = self.lock();
        c.execute_batch(&format!(
            "PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {USER_VERSION};"
        ))
        .map_err(sql("set application id"))?;
        let tx = c.transaction().map_err(sql("begin schema"))?;
        tx.execute_batch(SCHEMA).map_err(sql("create schema"))?;
        tx.commit().map_err(sql("commit schema"))
    }
}

/// Files written before roads had a grade get the column, every road at
/// street level (which is how they were read).
fn migrate_road_grade(c: &Connection) -> Result<()> {
    let has: bool = c
        .query_row(
            "SELECT count(*) FROM pragma_table_info('roads') WHERE name = 'grade'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .map_err(sql("check roads.grade"))?
        > 0;
    if !has {
        c.execute_batch("ALTER TABLE roads ADD COLUMN grade TEXT NOT NULL DEFAULT 'surface'")
            .map_err(sql("migrate: roads.grade"))?;
    }
    Ok(())
}

/// Files written before volunteers had a status and a check-in get the
/// columns, empty: a `NULL` status is read from `available`. The check-in
/// is two numbers, not a second geometry blob: a GeoPackage table has one
/// geometry column, and GIS clients export a blob as an unreadable field.
fn migrate_volunteer_status(c: &Connection) -> Result<()> {
    for (column, ty) in [
        ("status", "TEXT"),
        ("checkin_lon", "REAL"),
        ("checkin_lat", "REAL"),
    ] {
        let has: bool = c
            .query_row(
                "SELECT count(*) FROM pragma_table_info('people') WHERE name = ?1",
                [column],
                |r| r.get::<_, i64>(0),
            )
            .map_err(sql("check people columns"))?
            > 0;
        if !has {
            c.execute_batch(&format!("ALTER TABLE people ADD COLUMN {column} {ty}"))
                .map_err(sql("migrate: people status and check-in"))?;
        }
    }
    Ok(())
}
