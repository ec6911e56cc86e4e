//! The GeoPackage R-tree spatial index extension (`gpkg_rtree_index`,
//! GeoPackage 1.3 Annex F.3) on every geometry column, as GDAL writes it:
//! an `rtree_<table>_<column>` virtual table, the triggers that keep it
//! in step with every insert, update and delete (GeoPackage 1.4's
//! `update6`/`update7` in place of `update1`: an UPSERT overrides the
//! `OR REPLACE` inside `update1` and fails), and its row in
//! `gpkg_extensions`. QGIS and GDAL then read a window of a layer through
//! the index instead of scanning it.
//!
//! The triggers call `ST_IsEmpty` and `ST_MinX`..`ST_MaxY`, which GDAL and
//! QGIS provide on their connections; [`register_functions`] gives them to
//! ours, read from the blob's header envelope.

use rusqlite::functions::FunctionFlags;
use rusqlite::{params, Connection};

use super::{sql, Result};

/// The extension's name and definition as the standard gives them.
const EXTENSION: &str = "gpkg_rtree_index";
const DEFINITION: &str = "http://www.geopackage.org/spec120/#extension_rtree";

/// `ST_IsEmpty`, `ST_MinX`, `ST_MaxX`, `ST_MinY`, `ST_MaxY` over GeoPackage
/// blobs, for the index's triggers. A value that is not a blob is NULL
/// (the triggers then skip it).
pub fn register_functions(c: &Connection) -> rusqlite::Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    c.create_scalar_function("ST_IsEmpty", 1, flags, |ctx| {
        Ok(match ctx.get_raw(0).as_blob_or_null() {
            Ok(Some(b)) => Some(header(b).is_none_or(|h| h.empty)),
            _ => None,
        })
    })?;
    for (name, i) in [
        ("ST_MinX", 0),
        ("ST_MaxX", 1),
        ("ST_MinY", 2),
        ("ST_MaxY", 3),
    ] {
        c.create_scalar_function(name, 1, flags, move |ctx| {
            Ok(match ctx.get_raw(0).as_blob_or_null() {
                Ok(Some(b)) => envelope(b).map(|e| e[i]),
                _ => None,
            })
        })?;
    }
    Ok(())
}

/// What a blob's header says.
struct Header {
    empty: bool,
    /// `[minx, maxx, miny, maxy]` when the header carries an envelope.
    envelope: Option<[f64; 4]>,
}

fn header(b: &[u8]) -> Option<Header> {
    if b.len() < 8 || &b[..2] != b"GP" {
        return None;
    }
    let flags = b[3];
    let le = flags & 1 == 1;
    let envelope = if (flags >> 1) & 0b111 == 0 {
        None
    } else {
        let mut e = [0.0; 4];
        for (k, v) in e.iter_mut().enumerate() {
            let at = 8 + 8 * k;
            let bytes: [u8; 8] = b.get(at..at + 8)?.try_into().ok()?;
            *v = if le {
                f64::from_le_bytes(bytes)
            } else {
                f64::from_be_bytes(bytes)
            };
        }
        Some(e)
    };
    Some(Header {
        empty: flags & 0b1_0000 != 0,
        envelope,
    })
}

/// The blob's envelope: from its header, else from its geometry.
fn envelope(b: &[u8]) -> Option<[f64; 4]> {
    let h = header(b)?;
    if h.empty {
        return None;
    }
    h.envelope.or_else(|| {
        super::blob::decode(b)
            .ok()
            .and_then(|g| super::blob::envelope(&g))
    })
}

/// Gives every geometry column of `gpkg_geometry_columns` its index when it
/// has none yet (a new file, or one written before the index), filled from
/// the rows already there. Idempotent.
pub fn ensure_all(c: &Connection) -> Result<()> {
    let columns: Vec<(String, String)> = c
        .prepare(
            "SELECT g.table_name, g.column_name FROM gpkg_geometry_columns g
             JOIN sqlite_master m ON m.name = g.table_name AND m.type = 'table'
             WHERE NOT EXISTS (SELECT 1 FROM gpkg_extensions e WHERE e.table_name = g.table_name
               AND e.column_name = g.column_name AND e.extension_name = 'gpkg_rtree_index')",
        )
        .and_then(|mut s| {
            s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()
        })
        .map_err(sql("list geometry columns"))?;
    for (t, col) in columns {
        create(c, &t, &col)?;
    }
    Ok(())
}

/// The index of one column, filled, with its triggers and extension row.
fn create(c: &Connection, t: &str, col: &str) -> Result<()> {
    let rt = format!("rtree_{t}_{col}");
    let i = "fid";
    let row = format!(
        "NEW.\"{i}\", ST_MinX(NEW.\"{col}\"), ST_MaxX(NEW.\"{col}\"), ST_MinY(NEW.\"{col}\"), ST_MaxY(NEW.\"{col}\")"
    );
    let oe = format!("OLD.\"{col}\" NOT NULL AND NOT ST_IsEmpty(OLD.\"{col}\")");
    let ne = format!("NEW.\"{col}\" NOT NULL AND NOT ST_IsEmpty(NEW.\"{col}\")");
    let ddl = format!(
        "SAVEPOINT rtree;
CREATE VIRTUAL TABLE \"{rt}\" USING rtree(id, minx, maxx, miny, maxy);
INSERT OR REPLACE INTO \"{rt}\" SELECT \"{i}\", ST_MinX(\"{col}\"), ST_MaxX(\"{col}\"), ST_MinY(\"{col}\"), ST_MaxY(\"{col}\")
  FROM \"{t}\" WHERE \"{col}\" NOT NULL AND NOT ST_IsEmpty(\"{col}\");
CREATE TRIGGER \"{rt}_insert\" AFTER INSERT ON \"{t}\" WHEN ({ne})
BEGIN INSERT OR REPLACE INTO \"{rt}\" VALUES ({row}); END;
CREATE TRIGGER \"{rt}_update6\" AFTER UPDATE OF \"{col}\" ON \"{t}\"
  WHEN OLD.\"{i}\" = NEW.\"{i}\" AND ({ne}) AND ({oe})
BEGIN UPDATE \"{rt}\" SET minx = ST_MinX(NEW.\"{col}\"), maxx = ST_MaxX(NEW.\"{col}\"),
  miny = ST_MinY(NEW.\"{col}\"), maxy = ST_MaxY(NEW.\"{col}\") WHERE id = NEW.\"{i}\"; END;
CREATE TRIGGER \"{rt}_update7\" AFTER UPDATE OF \"{col}\" ON \"{t}\"
  WHEN OLD.\"{i}\" = NEW.\"{i}\" AND ({ne}) AND (OLD.\"{col}\" ISNULL OR ST_IsEmpty(OLD.\"{col}\"))
BEGIN INSERT INTO \"{rt}\" VALUES ({row}); END;
CREATE TRIGGER \"{rt}_update2\" AFTER UPDATE OF \"{col}\" ON \"{t}\"
  WHEN OLD.\"{i}\" = NEW.\"{i}\" AND (NEW.\"{col}\" ISNULL OR ST_IsEmpty(NEW.\"{col}\"))
BEGIN DELETE FROM \"{rt}\" WHERE id = OLD.\"{i}\"; END;
CREATE TRIGGER \"{rt}_update3\" AFTER UPDATE ON \"{t}\"
  WHEN OLD.\"{i}\" != NEW.\"{i}\" AND ({ne})
BEGIN DELETE FROM \"{rt}\" WHERE id = OLD.\"{i}\"; INSERT OR REPLACE INTO \"{rt}\" VALUES ({row}); END;
CREATE TRIGGER \"{rt}_update4\" AFTER UPDATE ON \"{t}\"
  WHEN OLD.\"{i}\" != NEW.\"{i}\" AND (NEW.\"{col}\" ISNULL OR ST_IsEmpty(NEW.\"{col}\"))
BEGIN DELETE FROM \"{rt}\" WHERE id IN (OLD.\"{i}\", NEW.\"{i}\"); END;
CREATE TRIGGER \"{rt}_delete\" AFTER DELETE ON \"{t}\" WHEN OLD.\"{col}\" NOT NULL
BEGIN DELETE FROM \"{rt}\" WHERE id = OLD.\"{i}\"; END;
RELEASE rtree;"
    );
    c.execute_batch(&ddl)
        .map_err(sql("create the spatial index"))?;
    c.execute(
        "INSERT INTO gpkg_extensions (table_name, column_name, extension_name, definition, scope)
         VALUES (?1, ?2, ?3, ?4, 'write-only')",
        params![t, col, EXTENSION, DEFINITION],
    )
    .map_err(sql("register the spatial index"))?;
    Ok(())
}

#[cfg(test)]
mod test {
    use geo_types::{line_string, Geometry};

    use super::*;

    fn fresh() -> (tempfile::TempDir, super::super::GeoPackage) {
        let dir = tempfile::tempdir().unwrap();
        let s = super::super::GeoPackage::open(dir.path().join("t.gpkg")).unwrap();
        (dir, s)
    }

    fn indexed(c: &Connection, table: &str) -> Vec<(i64, f64, f64)> {
        c.prepare(&format!(
            "SELECT id, minx, maxy FROM rtree_{table}_geom ORDER BY id"
        ))
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
    }

    #[test]
    fn every_geometry_column_has_an_index_kept_on_writes() {
        use crate::store::Store;
        let (_d, s) = fresh();
        let c = s.lock();
        let cols: i64 = c
            .query_row("SELECT count(*) FROM gpkg_geometry_columns", [], |r| {
                r.get(0)
            })
            .unwrap();
        let ext: i64 = c
            .query_row(
                "SELECT count(*) FROM gpkg_extensions WHERE extension_name = 'gpkg_rtree_index'
                 AND scope = 'write-only'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(ext, cols);
        drop(c);
        s.import(&mut crate::store::suite::sample().into_iter().map(Ok))
            .unwrap();
        let c = s.lock();
        let roads = indexed(&c, "roads");
        assert_eq!(roads.len(), 1);
        // Single precision, rounded outwards.
        assert!(roads[0].1 <= 109.0 && roads[0].1 > 108.9999, "{roads:?}");
        // An update moves the entry, a delete drops it.
        let moved = super::super::blob::encode(&Geometry::LineString(
            line_string![(x: 110.0, y: 33.0), (x: 110.5, y: 33.5)],
        ));
        c.execute("UPDATE roads SET geom = ?1", [moved]).unwrap();
        let roads = indexed(&c, "roads");
        assert!(roads[0].1 >= 109.999 && roads[0].2 >= 33.5, "{roads:?}");
        c.execute("DELETE FROM roads", []).unwrap();
        assert!(indexed(&c, "roads").is_empty());
        // A changed fid follows.
        let before = indexed(&c, "buildings");
        c.execute("UPDATE buildings SET fid = fid + 100", [])
            .unwrap();
        let after = indexed(&c, "buildings");
        assert_eq!(after.len(), before.len());
        assert_eq!(after[0].0, before[0].0 + 100);
    }

    #[test]
    fn a_file_without_indexes_gets_them_filled_on_open() {
        use crate::store::Store;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.gpkg");
        {
            let s = super::super::GeoPackage::open(&path).unwrap();
            s.import(&mut crate::store::suite::sample().into_iter().map(Ok))
                .unwrap();
            let c = s.lock();
            let names: Vec<(String, String)> = c
                .prepare(
                    "SELECT type, name FROM sqlite_master WHERE name LIKE 'rtree%'
                     AND (type = 'trigger' OR sql LIKE 'CREATE VIRTUAL%') ORDER BY type DESC",
                )
                .unwrap()
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            for (kind, n) in names {
                c.execute_batch(&format!("DROP {kind} \"{n}\"")).unwrap();
            }
            c.execute("DELETE FROM gpkg_extensions", []).unwrap();
        }
        let s = super::super::GeoPackage::open(&path).unwrap();
        let c = s.lock();
        assert_eq!(indexed(&c, "buildings").len(), 1);
        assert_eq!(indexed(&c, "regions").len(), 1);
    }
}
