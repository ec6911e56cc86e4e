//! The feature tables as desktop GIS need them: one geometry type per
//! table (water areas in `water` as MULTIPOLYGON, rivers and canals in
//! `waterways` as MULTILINESTRING, so that a Shapefile export of either
//! works), and atoms' fids unique in their table (see
//! [`crate::domain::atom::ATOM_IDS_PER_REGION`]). [`upgrade`] brings a file
//! written before either up to this, in one transaction.
//!
//! Water keeps one id space over both tables: the domain and PostGIS hold
//! water as one layer, and `wangge copy` keeps ids.

use std::collections::HashMap;

use geo_types::{Geometry, MultiLineString, MultiPolygon};
use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::import::{opt_id, Extent};
use super::{blob, sql, Result};
use crate::domain::Layer;
use crate::domain::Water;
use crate::store::rows::{corrupt, water_kind_str};
use crate::store::StoreError;

/// The table of water lines.
pub const WATERWAYS: &str = "waterways";

const WATERWAYS_SCHEMA: &str = "
CREATE TABLE waterways (
  fid INTEGER PRIMARY KEY AUTOINCREMENT,
  geom MULTILINESTRING NOT NULL,
  kind TEXT NOT NULL,
  name TEXT NOT NULL
);
INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) VALUES
  ('waterways', 'features', 'waterways', 'river, stream and canal centre lines', 4326);
INSERT INTO gpkg_geometry_columns VALUES ('waterways', 'geom', 'MULTILINESTRING', 4326, 0, 0);
UPDATE gpkg_geometry_columns SET geometry_type_name = 'MULTIPOLYGON' WHERE table_name = 'water';
UPDATE gpkg_contents SET description = 'water areas (lakes, river areas)' WHERE table_name = 'water';
";

/// A water geometry as its table stores it: areas as one multipolygon,
/// lines as one multilinestring; `None` for anything else.
fn stored(g: &Geometry<f64>) -> Option<(bool, Geometry<f64>)> {
    Some(match g {
        Geometry::Polygon(p) => (false, MultiPolygon(vec![p.clone()]).into()),
        Geometry::MultiPolygon(_) => (false, g.clone()),
        Geometry::LineString(l) => (true, MultiLineString(vec![l.clone()]).into()),
        Geometry::MultiLineString(_) => (true, g.clone()),
        _ => return None,
    })
}

/// A stored water line of one part reads back as the line it was.
pub fn loaded(g: Geometry<f64>) -> Geometry<f64> {
    match g {
        Geometry::MultiLineString(mut m) if m.0.len() == 1 => {
            Geometry::LineString(m.0.pop().expect("one part"))
        }
        g => g,
    }
}

/// Writes one water feature into the table of its geometry type (and out
/// of the other, when it changed type); a new one (id ≤ 0) gets the next id
/// of both tables.
pub fn insert_water(
    tx: &Transaction<'_>,
    w: &Water,
    ext: &mut HashMap<Layer, Extent>,
) -> Result<()> {
    let op = "insert water";
    let (line, g) = stored(&w.geometry).ok_or_else(|| {
        StoreError::Conflict(format!(
            "water {:?}: a line or an area expected",
            w.name.chars().take(40).collect::<String>()
        ))
    })?;
    let (table, other) = if line {
        (WATERWAYS, "water")
    } else {
        ("water", WATERWAYS)
    };
    let id = match opt_id(w.id) {
        Some(id) => {
            tx.execute(&format!("DELETE FROM {other} WHERE fid = ?1"), [id])
                .map_err(sql(op))?;
            id
        }
        None => tx
            .query_row(
                "SELECT max(coalesce((SELECT max(fid) FROM water), 0),
                            coalesce((SELECT max(fid) FROM waterways), 0)) + 1",
                [],
                |r| r.get(0),
            )
            .map_err(sql(op))?,
    };
    let kind = water_kind_str(w.kind);
    tx.prepare_cached(&format!(
        "INSERT OR REPLACE INTO {table} (fid, geom, kind, name) VALUES (?1, ?2, ?3, ?4)"
    ))
    .and_then(|mut s| s.execute(params![id, blob::encode(&g), kind, w.name]))
    .map_err(sql(op))?;
    let env = blob::envelope(&g);
    if line {
        let mut e = Extent::default();
        e.add(env);
        if let Some([minx, miny, maxx, maxy]) = e.0 {
            super::import::widen_contents(tx, WATERWAYS, [minx, miny, maxx, maxy])?;
        }
    } else {
        ext.entry(Layer::Water).or_default().add(env);
    }
    Ok(())
}

/// The water query of `load`: both tables, by id.
pub const WATER_QUERY: &str = "SELECT fid, geom, kind, name FROM water
     UNION ALL SELECT fid, geom, kind, name FROM waterways ORDER BY 1";

/// Brings a file up to this layout (idempotent; one transaction).
pub fn upgrade(c: &mut Connection) -> Result<()> {
    let has: Option<String> = c
        .query_row(
            "SELECT name FROM sqlite_master WHERE name = 'waterways'",
            [],
            |r| r.get(0),
        )
        .optional()
        .map_err(sql("check schema"))?;
    let tx = c.transaction().map_err(sql("upgrade layout"))?;
    if has.is_none() {
        split_water(&tx)?;
    }
    // Atom fids: a file from before layer-wide ids has small ones.
    tx.execute(
        "UPDATE atoms SET fid = CASE WHEN atom_id < 10000
             THEN CAST(region AS INTEGER) * 10000 + atom_id
             ELSE CAST(region AS INTEGER) * 1000000 + atom_id END
         WHERE atom_id < 1000000 AND fid != CASE WHEN atom_id < 10000
             THEN CAST(region AS INTEGER) * 10000 + atom_id
             ELSE CAST(region AS INTEGER) * 1000000 + atom_id END",
        [],
    )
    .map_err(sql("upgrade atom ids"))?;
    tx.commit().map_err(sql("upgrade layout"))
}

/// Moves the lines of a mixed `water` table into `waterways`, keeping
/// their ids; both tables then hold multi-geometries only.
fn split_water(tx: &Transaction<'_>) -> Result<()> {
    tx.execute_batch(WATERWAYS_SCHEMA)
        .map_err(sql("create waterways"))?;
    let rows: Vec<(i64, Vec<u8>)> = tx
        .prepare("SELECT fid, geom FROM water")
        .and_then(|mut s| {
            s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()
        })
        .map_err(sql("read water"))?;
    let mut lines = Extent::default();
    for (fid, b) in rows {
        let g = blob::decode(&b).map_err(|e| corrupt("water.geom", e))?;
        let Some((line, g)) = stored(&g) else {
            continue;
        };
        if line {
            lines.add(blob::envelope(&g));
            tx.execute(
                "INSERT INTO waterways (fid, geom, kind, name)
                 SELECT fid, ?2, kind, name FROM water WHERE fid = ?1",
                params![fid, blob::encode(&g)],
            )
            .map_err(sql("move a waterway"))?;
            tx.execute("DELETE FROM water WHERE fid = ?1", [fid])
                .map_err(sql("move a waterway"))?;
        } else {
            tx.execute(
                "UPDATE water SET geom = ?2 WHERE fid = ?1",
                params![fid, blob::encode(&g)],
            )
            .map_err(sql("store a water area"))?;
        }
    }
    if let Some(e) = lines.0 {
        super::import::widen_contents(tx, WATERWAYS, e)?;
    }
    Ok(())
}
