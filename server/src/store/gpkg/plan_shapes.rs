//! Plan grids with their shapes: the `plan_grid_shapes` table and the
//! `plan_grids_current` / `plan_grids_published` layers copied from it, so
//! a desktop GIS sees each region's plan as a layer without exporting it.

use geo::{Geometry, MultiPolygon};
use rusqlite::{params, Connection};

use super::import::{widen_contents, Extent};
use super::{blob, sql, GeoPackage};
use crate::partition::plan::RegionPlan;
use crate::store::Result;

/// The table, the views and their registration (idempotent).
const SCHEMA: &str = include_str!("plan_shapes.sql");

/// The tables whose extent a written shape widens.
const TABLES: [&str; 3] = [
    "plan_grid_shapes",
    "plan_grids_current",
    "plan_grids_published",
];

/// One grid of a plan version as the layers show it.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanGridShape {
    pub level: u8,
    pub code: String,
    pub parent: Option<String>,
    pub households: u32,
    /// (households − target) / target, as the plan's figures give it.
    pub balance: f64,
    /// WGS-84.
    pub geometry: MultiPolygon<f64>,
}

impl PlanGridShape {
    /// The grids of an evaluated plan, every level.
    pub fn of(plan: &RegionPlan) -> Vec<Self> {
        plan.grids
            .iter()
            .map(|g| Self {
                level: g.level.get(),
                code: g.code.as_str().to_owned(),
                parent: g.parent.as_ref().map(|p| p.as_str().to_owned()),
                households: g.metrics.households,
                balance: g.metrics.deviation,
                geometry: g.geometry.clone(),
            })
            .collect()
    }
}

/// Creates the table and views in a file that lacks them.
pub(super) fn ensure(c: &Connection) -> Result<()> {
    c.execute_batch(SCHEMA)
        .map_err(sql("create plan grid shapes"))
}

impl GeoPackage {
    /// Replaces the shapes of plan version `version` (one transaction), and
    /// its region's rows of the current (published) layer when it is the
    /// region's newest (published) version.
    pub(super) fn put_shapes(&self, version: i64, shapes: &[PlanGridShape]) -> Result<()> {
        let op = "put plan grid shapes";
        let mut c = self.lock();
        let tx = c.transaction().map_err(sql(op))?;
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
                    &format!(
                        "INSERT INTO {table} SELECT * FROM plan_grid_shapes WHERE version = ?1"
                    ),
                    [version],
                )
                .map_err(sql(op))?;
            }
        }
        if let Some(e) = ext.0 {
            for t in TABLES {
                widen_contents(&tx, t, e)?;
            }
        }
        tx.commit().map_err(sql(op))
    }

    /// Plan versions with no stored shapes (saved before shapes were kept,
    /// or by a path that does not write them), oldest first.
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
