//! Plan grids with their shapes: the `plan_grid_shapes` table and the
//! `plan_grids_current` / `plan_grids_published` layers copied from it, so
//! a desktop GIS sees each region's plan as a layer without exporting it.
//! Written inside the transaction that saves (or publishes) the version.

use geo::Geometry;
use rusqlite::{params, Connection, Transaction};

use super::import::{widen_contents, Extent};
use super::load::geom_at;
use super::{blob, sql, GeoPackage};
use crate::store::rows::multipolygon;
use crate::store::{PlanGridShape, Result, ShapesByVersion};

/// The table, the views and their registration (idempotent).
const SCHEMA: &str = include_str!("plan_shapes.sql");

/// The tables whose extent a written shape widens.
const TABLES: [&str; 3] = [
    "plan_grid_shapes",
    "plan_grids_current",
    "plan_grids_published",
];

/// Creates the table and views in a file that lacks them.
pub(super) fn ensure(c: &Connection) -> Result<()> {
    c.execute_batch(SCHEMA)
        .map_err(sql("create plan grid shapes"))
}

/// Replaces the shapes of plan version `version` inside `tx`, and its
/// region's rows of the current (published) layer when it is the region's
/// newest (published) version: a save, a publish and its layers are one
/// transaction. Empty `shapes` (the plan could not be evaluated) leave the
/// version without shapes, which [`GeoPackage::without_shapes`] lists.
pub(super) fn put_shapes_in(
    tx: &Transaction<'_>,
    version: i64,
    shapes: &[PlanGridShape],
) -> Result<()> {
    let op = "put plan grid shapes";
    let (region, number): (String, i64) = tx
        .query_row(
            "SELECT region, number FROM plan_versions WHERE id = ?1",
            [version],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(sql(op))?;
    tx.execute("DELETE FROM plan_grid_shapes WHERE version = ?1", [version])
        .map_err(sql(op))?;
    let mut ext = Extent::default();
    {
        let mut st = tx
            .prepare_cached(
                "INSERT INTO plan_grid_shapes
                   (geom, version, region, number, level, code, parent, households, balance)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )
            .map_err(sql(op))?;
        for s in shapes {
            let g = Geometry::MultiPolygon(s.geometry.clone());
            ext.add(blob::envelope(&g));
            st.execute(params![
                blob::encode(&g),
                version,
                region,
                number,
                s.level,
                s.code,
                s.parent,
                s.households,
                s.balance
            ])
            .map_err(sql(op))?;
        }
    }
    let newest = |published: bool| -> Result<Option<i64>> {
        tx.query_row(
            "SELECT max(number) FROM plan_versions WHERE region = ?1 AND (?2 = 0 OR published <> 0)",
            params![region, published],
            |r| r.get(0),
        )
        .map_err(sql(op))
    };
    for (table, published) in [
        ("plan_grids_current", false),
        ("plan_grids_published", true),
    ] {
        if newest(published)? == Some(number) {
            tx.execute(&format!("DELETE FROM {table} WHERE region = ?1"), [&region])
                .map_err(sql(op))?;
            tx.execute(
                &format!("INSERT INTO {table} SELECT * FROM plan_grid_shapes WHERE version = ?1"),
                [version],
            )
            .map_err(sql(op))?;
        }
    }
    if let Some(e) = ext.0 {
        for t in TABLES {
            widen_contents(tx, t, e)?;
        }
    }
    Ok(())
}

/// The stored shapes of `versions` (all versions when `None`), by version,
/// each version's grids by level and code.
pub(super) fn shapes_of(c: &Connection, versions: Option<&[i64]>) -> Result<ShapesByVersion> {
    let op = "read plan grid shapes";
    let mut out = ShapesByVersion::new();
    // One indexed look-up per version asked for (`version = ?1` uses the
    // (version, level, code) index; an `OR ?1 IS NULL` would scan).
    let cols =
        "SELECT version, geom, level, code, parent, households, balance FROM plan_grid_shapes";
    let (query, ids): (String, Vec<Option<i64>>) = match versions {
        Some(v) => (
            format!("{cols} WHERE version = ?1 ORDER BY level, code"),
            v.iter().copied().map(Some).collect(),
        ),
        None => (
            format!("{cols} WHERE ?1 IS NULL ORDER BY version, level, code"),
            vec![None],
        ),
    };
    let mut st = c.prepare_cached(&query).map_err(sql(op))?;
    for id in ids {
        let mut rows = st.query([id]).map_err(sql(op))?;
        while let Some(r) = rows.next().map_err(sql(op))? {
            let version: i64 = r.get(0).map_err(sql(op))?;
            let g = geom_at(r, 1, op, "plan_grid_shapes.geom")?;
            out.entry(version).or_default().push(PlanGridShape {
                level: r.get(2).map_err(sql(op))?,
                code: r.get(3).map_err(sql(op))?,
                parent: r.get(4).map_err(sql(op))?,
                households: r.get(5).map_err(sql(op))?,
                balance: r.get(6).map_err(sql(op))?,
                geometry: multipolygon(g, "plan_grid_shapes.geom")?,
            });
        }
    }
    Ok(out)
}

impl GeoPackage {
    /// Replaces the shapes of plan version `version` (one transaction).
    pub(super) fn put_shapes(&self, version: i64, shapes: &[PlanGridShape]) -> Result<()> {
        let op = "put plan grid shapes";
        let mut c = self.lock();
        let tx = c.transaction().map_err(sql(op))?;
        put_shapes_in(&tx, version, shapes)?;
        tx.commit().map_err(sql(op))
    }

    /// Plan versions with no stored shapes (saved before shapes were kept,
    /// or whose evaluation failed), oldest first.
    pub(super) fn without_shapes(&self) -> Result<Vec<i64>> {
        self.lock()
            .prepare(
                "SELECT id FROM plan_versions v
                 WHERE NOT EXISTS (SELECT 1 FROM plan_grid_shapes s WHERE s.version = v.id)
                 ORDER BY id",
            )
            .and_then(|mut s| {
                s.query_map([], |r| r.get(0))?
                    .collect::<rusqlite::Result<Vec<i64>>>()
            })
            .map_err(sql("versions without shapes"))
    }
}

/// Drops every stored shape (the current and published layers too), in
/// the caller's transaction: the data they were measured on changed.
pub(super) fn forget_all(tx: &rusqlite::Transaction<'_>) -> Result<()> {
    tx.execute_batch(
        "DELETE FROM plan_grids_current; DELETE FROM plan_grids_published; DELETE FROM plan_grid_shapes;",
    )
    .map_err(sql("forget plan grid shapes"))
}

/// Drops the stored shapes of `region`'s versions (and its rows of the
/// current and published layers), in the caller's transaction: a
/// household of it was written. A server start measures them again.
pub(super) fn forget_region(tx: &rusqlite::Transaction<'_>, region: &str) -> Result<()> {
    for table in [
        "plan_grids_current",
        "plan_grids_published",
        "plan_grid_shapes",
    ] {
        tx.execute(&format!("DELETE FROM {table} WHERE region = ?1"), [region])
            .map_err(sql("forget a region's plan grid shapes"))?;
    }
    Ok(())
}
