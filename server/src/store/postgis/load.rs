//! Reading the layers back: one query per layer (`sql/load_*.sql`), each
//! row read with its PostgreSQL types and turned into a domain record by
//! [`crate::store::rows`], which the GeoPackage shares.

use deadpool_postgres::ClientWrapper;
use tokio_postgres::types::FromSql;
use tokio_postgres::Row;

use super::ewkb::Geom;
use super::plans::load_plan;
use super::{personal, pg};
use crate::domain::{Atom, Building, Dataset, ImportedGrid, Region, Road, Water};
use crate::sealing::Sealer;
use crate::store::rows::{self, corrupt, GridText};
use crate::store::Result;

/// Reads column `i`, reporting a bad value (or geometry) with its column.
pub(super) fn col<'a, T: FromSql<'a>>(r: &'a Row, i: usize, what: &str) -> Result<T> {
    r.try_get(i).map_err(|e| {
        corrupt(
            what,
            std::error::Error::source(&e).map_or_else(|| e.to_string(), ToString::to_string),
        )
    })
}

/// Column `i` as a geometry.
fn geom(r: &Row, i: usize, what: &str) -> Result<geo_types::Geometry<f64>> {
    Ok(col::<Geom>(r, i, what)?.0)
}

pub(super) fn small<T: TryFrom<i32>>(v: i32, what: &str) -> Result<T> {
    T::try_from(v).map_err(|_| corrupt(what, format!("{v} is out of range")))
}

/// Runs `sql` and maps every row with `f`, in order.
async fn rows_of<T>(
    c: &ClientWrapper,
    op: &'static str,
    sql: &str,
    f: impl Fn(&Row) -> Result<T>,
) -> Result<Vec<T>> {
    c.query(sql, &[])
        .await
        .map_err(pg(op))?
        .iter()
        .map(f)
        .collect()
}

pub(super) async fn load_regions(c: &ClientWrapper) -> Result<Vec<Region>> {
    rows_of(
        c,
        "load regions",
        include_str!("sql/load_regions.sql"),
        |r| {
            let code: String = col(r, 1, "regions.code")?;
            let parent: Option<String> = col(r, 3, "regions.parent")?;
            rows::region(
                geom(r, 0, "regions.geom")?,
                &code,
                col(r, 2, "regions.name")?,
                parent.as_deref(),
            )
        },
    )
    .await
}

async fn load_atoms(c: &ClientWrapper) -> Result<Vec<Atom>> {
    rows_of(c, "load", include_str!("sql/load_atoms.sql"), |r| {
        let region: String = col(r, 1, "atoms.region")?;
        let kind: String = col(r, 3, "atoms.kind")?;
        let id: i64 = col(r, 2, "atoms.atom_id")?;
        let id = u32::try_from(id).map_err(|_| corrupt("atoms.atom_id", id))?;
        rows::atom(geom(r, 0, "atoms.geom")?, &region, id, &kind)
    })
    .await
}

async fn load_roads(c: &ClientWrapper) -> Result<Vec<Road>> {
    rows_of(c, "load", include_str!("sql/load_roads.sql"), |r| {
        let class: String = col(r, 2, "roads.class")?;
        let grade: String = col(r, 4, "roads.grade")?;
        rows::road(
            col(r, 0, "roads.fid")?,
            geom(r, 1, "roads.geom")?,
            &class,
            col(r, 3, "roads.name")?,
            &grade,
        )
    })
    .await
}

async fn load_buildings(c: &ClientWrapper) -> Result<Vec<Building>> {
    rows_of(c, "load", include_str!("sql/load_buildings.sql"), |r| {
        let levels: Option<i32> = col(r, 2, "buildings.levels")?;
        rows::building(
            col(r, 0, "buildings.fid")?,
            geom(r, 1, "buildings.geom")?,
            levels.map(|l| small(l, "buildings.levels")).transpose()?,
            col(r, 3, "buildings.height_m")?,
            col(r, 4, "buildings.kind")?,
        )
    })
    .await
}

async fn load_water(c: &ClientWrapper) -> Result<Vec<Water>> {
    rows_of(c, "load", include_str!("sql/load_water.sql"), |r| {
        let kind: String = col(r, 2, "water.kind")?;
        rows::water(
            col(r, 0, "water.fid")?,
            geom(r, 1, "water.geom")?,
            &kind,
            col(r, 3, "water.name")?,
        )
    })
    .await
}

async fn load_grids(c: &ClientWrapper) -> Result<Vec<ImportedGrid>> {
    rows_of(c, "load", include_str!("sql/load_grids.sql"), |r| {
        let level: i16 = col(r, 3, "grids.level")?;
        let text = GridText {
            region: col(r, 2, "grids.region")?,
            code: col(r, 4, "grids.code")?,
            name: col(r, 5, "grids.name")?,
            parent: col(r, 6, "grids.parent")?,
        };
        rows::grid(
            col(r, 0, "grids.fid")?,
            geom(r, 1, "grids.geom")?,
            level.into(),
            text,
        )
    })
    .await
}

/// The ids of the newest version of each region, regions in byte order as
/// the GeoPackage lists them.
async fn newest_plans(c: &ClientWrapper) -> Result<Vec<i64>> {
    let mut newest: Vec<(String, i64)> =
        rows_of(c, "load", include_str!("sql/newest_plans.sql"), |r| {
            Ok((
                col(r, 0, "plan_versions.region")?,
                col(r, 1, "plan_versions.id")?,
            ))
        })
        .await?;
    newest.sort();
    Ok(newest.into_iter().map(|(_, id)| id).collect())
}

/// Everything a snapshot needs, layer by layer.
pub(super) async fn load_all(c: &ClientWrapper, s: &Sealer) -> Result<Dataset> {
    let mut d = Dataset {
        regions: load_regions(c).await?,
        atoms: load_atoms(c).await?,
        ..Dataset::default()
    };
    (d.households, d.people) = personal::load(&**c, s).await?;
    d.roads = load_roads(c).await?;
    d.buildings = load_buildings(c).await?;
    d.water = load_water(c).await?;
    d.grids = load_grids(c).await?;
    for id in newest_plans(c).await? {
        if let Some(p) = load_plan(c, id).await? {
            d.plans.push(p);
        }
    }
    Ok(d)
}
