//! Plan grids with their shapes: the `plan_grid_shapes` table, written in
//! the transaction that saves a version; the `plan_grids_current` and
//! `plan_grids_published` views (migration 6) follow from it.

use deadpool_postgres::ClientWrapper;
use geo_types::Geometry;

use super::ewkb::{self, Geom};
use super::load::{col, small};
use super::{pg, PostGis};
use crate::store::rows::multipolygon;
use crate::store::{PlanGridShape, Result, ShapesByVersion};

/// Replaces the shapes of plan version `version` inside the caller's
/// transaction. Empty `shapes` (the plan could not be evaluated) leave
/// the version without shapes, which `versions_without_shapes` lists.
pub(super) async fn put_shapes_in(
    c: &ClientWrapper,
    version: i64,
    shapes: &[PlanGridShape],
) -> Result<()> {
    let op = "put plan grid shapes";
    c.execute(
        "DELETE FROM plan_grid_shapes WHERE version = $1",
        &[&version],
    )
    .await
    .map_err(pg(op))?;
    if shapes.is_empty() {
        return Ok(());
    }
    let geoms: Vec<Vec<u8>> = shapes
        .iter()
        .map(|s| ewkb::encode(&Geometry::MultiPolygon(s.geometry.clone())).0)
        .collect();
    let levels: Vec<i16> = shapes.iter().map(|s| i16::from(s.level)).collect();
    let codes: Vec<&str> = shapes.iter().map(|s| s.code.as_str()).collect();
    let parents: Vec<Option<&str>> = shapes.iter().map(|s| s.parent.as_deref()).collect();
    let households: Vec<i32> = shapes
        .iter()
        .map(|s| i32::try_from(s.households).unwrap_or(i32::MAX))
        .collect();
    let balances: Vec<f64> = shapes.iter().map(|s| s.balance).collect();
    c.execute(
        include_str!("sql/insert_plan_grid_shapes.sql"),
        &[
            &version,
            &geoms,
            &levels,
            &codes,
            &parents,
            &households,
            &balances,
        ],
    )
    .await
    .map_err(pg(op))?;
    Ok(())
}

/// The stored shapes of `versions` (every version when `None`), by version.
pub(super) async fn shapes_of(
    c: &ClientWrapper,
    versions: Option<&[i64]>,
) -> Result<ShapesByVersion> {
    let ids: Option<Vec<i64>> = versions.map(<[i64]>::to_vec);
    let rows = c
        .query(include_str!("sql/plan_grid_shapes.sql"), &[&ids])
        .await
        .map_err(pg("read plan grid shapes"))?;
    let mut out = ShapesByVersion::new();
    for r in &rows {
        let level: i16 = col(r, 2, "plan_grid_shapes.level")?;
        let households: i32 = col(r, 5, "plan_grid_shapes.households")?;
        out.entry(col(r, 0, "plan_grid_shapes.version")?)
            .or_default()
            .push(PlanGridShape {
                level: small(level.into(), "plan_grid_shapes.level")?,
                code: col(r, 3, "plan_grid_shapes.code")?,
                parent: col(r, 4, "plan_grid_shapes.parent")?,
                households: small(households, "plan_grid_shapes.households")?,
                balance: col(r, 6, "plan_grid_shapes.balance")?,
                geometry: multipolygon(
                    col::<Geom>(r, 1, "plan_grid_shapes.geom")?.0,
                    "plan_grid_shapes.geom",
                )?,
            });
    }
    Ok(out)
}

impl PostGis {
    /// Replaces the shapes of plan version `version` (one transaction).
    pub(super) fn put_shapes(&self, version: i64, shapes: &[PlanGridShape]) -> Result<()> {
        let tx = self.begin_write("put plan grid shapes")?;
        self.block_on(put_shapes_in(tx.c(), version, shapes))?;
        tx.commit(self, "commit plan grid shapes")
    }

    /// Plan versions with no stored shapes, oldest first.
    pub(super) fn without_shapes(&self) -> Result<Vec<i64>> {
        let c = self.read_conn("versions without shapes")?;
        self.block_on(async {
            Ok(c.query(
                "SELECT id FROM plan_versions v
                 WHERE NOT EXISTS (SELECT 1 FROM plan_grid_shapes s WHERE s.version = v.id)
                 ORDER BY id",
                &[],
            )
            .await
            .map_err(pg("versions without shapes"))?
            .iter()
            .map(|r| r.get(0))
            .collect())
        })
    }

    /// The stored shapes of `versions` (every version when `None`).
    pub(super) fn shapes(&self, versions: Option<&[i64]>) -> Result<ShapesByVersion> {
        let c = self.read_conn("read plan grid shapes")?;
        self.block_on(shapes_of(&c, versions))
    }
}
