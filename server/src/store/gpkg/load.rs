//! Reading the layers back: one query per layer, each row read as SQLite
//! values and GeoPackage blobs and turned into a domain record by
//! [`crate::store::rows`], which PostGIS shares.

use geo_types::Geometry;
use rusqlite::types::FromSql;
use rusqlite::{Connection, Row};

use super::plans::load_plan;
use super::{blob, personal, sql};
use crate::domain::{Atom, Building, Dataset, ImportedGrid, Region, Road, Water};
use crate::sealing::Sealer;
use crate::store::rows::{self, corrupt, GridText};
use crate::store::Result;

/// The operation load errors name.
const OP: &str = "load";

fn geom(b: &[u8], what: &str) -> Result<Geometry<f64>> {
    blob::decode(b).map_err(|e| corrupt(what, e))
}

/// Column `i` of a row read by operation `op`.
fn get<T: FromSql>(r: &Row<'_>, i: usize, op: &'static str) -> Result<T> {
    r.get(i).map_err(sql(op))
}

/// Column `i` as a geometry blob, decoded.
pub(super) fn geom_at(
    r: &Row<'_>,
    i: usize,
    op: &'static str,
    what: &str,
) -> Result<Geometry<f64>> {
    let b = r
        .get_ref(i)
        .map_err(sql(op))?
        .as_blob()
        .map_err(|e| corrupt(what, e))?;
    geom(b, what)
}

/// Runs `query` and maps every row with `f`, in order.
fn rows_of<T>(
    c: &Connection,
    op: &'static str,
    query: &str,
    f: impl Fn(&Row<'_>) -> Result<T>,
) -> Result<Vec<T>> {
    let mut st = c.prepare(query).map_err(sql(op))?;
    let mut rows = st.query([]).map_err(sql(op))?;
    let mut out = vec![];
    while let Some(r) = rows.next().map_err(sql(op))? {
        out.push(f(r)?);
    }
    Ok(out)
}

/// The regions, by code; `op` names the operation in errors.
pub(super) fn load_regions(c: &Connection, op: &'static str) -> Result<Vec<Region>> {
    let query = "SELECT geom, code, name, parent FROM regions ORDER BY code";
    rows_of(c, op, query, |r| {
        let code: String = get(r, 1, op)?;
        let parent: Option<String> = get(r, 3, op)?;
        rows::region(
            geom_at(r, 0, op, "regions.geom")?,
            &code,
            get(r, 2, op)?,
            parent.as_deref(),
        )
    })
}

fn load_atoms(c: &Connection) -> Result<Vec<Atom>> {
    let query = "SELECT geom, region, atom_id, kind FROM atoms ORDER BY region, atom_id";
    rows_of(c, OP, query, |r| {
        let region: String = get(r, 1, OP)?;
        let kind: String = get(r, 3, OP)?;
        rows::atom(
            geom_at(r, 0, OP, "atoms.geom")?,
            &region,
            get(r, 2, OP)?,
            &kind,
        )
    })
}

fn load_roads(c: &Connection) -> Result<Vec<Road>> {
    let query = "SELECT fid, geom, class, name, grade FROM roads ORDER BY fid";
    rows_of(c, OP, query, |r| {
        let class: String = get(r, 2, OP)?;
        let grade: String = get(r, 4, OP)?;
        rows::road(
            get(r, 0, OP)?,
            geom_at(r, 1, OP, "roads.geom")?,
            &class,
            get(r, 3, OP)?,
            &grade,
        )
    })
}

fn load_buildings(c: &Connection) -> Result<Vec<Building>> {
    let query = "SELECT fid, geom, levels, height_m, kind FROM buildings ORDER BY fid";
    rows_of(c, OP, query, |r| {
        rows::building(
            get(r, 0, OP)?,
            geom_at(r, 1, OP, "buildings.geom")?,
            get(r, 2, OP)?,
            get(r, 3, OP)?,
            get(r, 4, OP)?,
        )
    })
}

fn load_water(c: &Connection) -> Result<Vec<Water>> {
    rows_of(c, OP, super::layout::WATER_QUERY, |r| {
        let kind: String = get(r, 2, OP)?;
        rows::water(
            get(r, 0, OP)?,
            super::layout::loaded(geom_at(r, 1, OP, "water.geom")?),
            &kind,
            get(r, 3, OP)?,
        )
    })
}

fn load_grids(c: &Connection) -> Result<Vec<ImportedGrid>> {
    let query = "SELECT fid, geom, region, level, code, name, parent FROM grids ORDER BY fid";
    rows_of(c, OP, query, |r| {
        let level: u8 = get(r, 3, OP)?;
        let text = GridText {
            region: get(r, 2, OP)?,
            code: get(r, 4, OP)?,
            name: get(r, 5, OP)?,
            parent: get(r, 6, OP)?,
        };
        rows::grid(
            get(r, 0, OP)?,
            geom_at(r, 1, OP, "grids.geom")?,
            level.into(),
            text,
        )
    })
}

/// Everything a snapshot needs, layer by layer.
pub(super) fn load_all(c: &Connection, sealer: &Sealer) -> Result<Dataset> {
    let mut d = Dataset {
        regions: load_regions(c, OP)?,
        atoms: load_atoms(c)?,
        ..Dataset::default()
    };
    (d.households, d.people) = personal::load(c, sealer)?;
    d.roads = load_roads(c)?;
    d.buildings = load_buildings(c)?;
    d.water = load_water(c)?;
    d.grids = load_grids(c)?;
    let newest: Vec<i64> = c
        .prepare("SELECT max(id) FROM plan_versions GROUP BY region ORDER BY region")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(sql(OP))?;
    for id in newest {
        if let Some(p) = load_plan(c, id)? {
            d.plans.push(p);
        }
    }
    Ok(d)
}
