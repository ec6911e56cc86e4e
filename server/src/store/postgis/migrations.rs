//! The schema: `migrations/*.sql`, applied in order at start-up, each once.

use deadpool_postgres::ClientWrapper;

use super::pool::LOCK_CLASS;
use super::{personal, pg, PostGis};
use crate::sealing::Sealer;
use crate::store::{Result, StoreError};

/// Versioned migrations: (version, name, SQL). Each is applied once, in its
/// own transaction, and recorded in `schema_migrations`.
pub(super) const MIGRATIONS: &[(i32, &str, &str)] = &[
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
    (
        6,
        "plan grids with their shapes, the current and published plans",
        include_str!("migrations/0006_plan_grid_shapes.sql"),
    ),
    (
        7,
        "the change log",
        include_str!("migrations/0007_changes.sql"),
    ),
    (
        8,
        "volunteer status and check-in",
        include_str!("migrations/0008_volunteer_status.sql"),
    ),
    (
        9,
        "incidents, their areas and timelines",
        include_str!("migrations/0009_incidents.sql"),
    ),
    (
        10,
        "who was sent to which household in an incident",
        include_str!("migrations/0010_incident_sent.sql"),
    ),
];

impl PostGis {
    /// Creates the schema when asked for, checks PostGIS, applies migrations.
    pub(super) fn prepare(&self, schema: Option<&str>) -> Result<()> {
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
