//! Writing records: imports, copies and atoms, each feature table's
//! extent kept in `gpkg_contents`.

use std::collections::HashMap;

use geo_types::Geometry;
use rusqlite::{params, Transaction};

use super::{accounts, blob, personal, sql, GeoPackage};
use crate::access::account::AuditEntry;
use crate::domain::{Atom, GridCode, Layer, Record, RegionCode};
use crate::sealing::Sealer;
use crate::store::rows::code_str;
use crate::store::{imported_audit, Abort, ImportCounts, Result, StoreError};

impl GeoPackage {
    /// One import transaction, audited when `audit` is given.
    pub(super) fn import_tx(
        &self,
        records: &mut dyn Iterator<Item = std::result::Result<Record, Abort>>,
        audit: Option<&AuditEntry>,
    ) -> Result<ImportCounts> {
        let mut c = self.lock();
        let tx = c.transaction().map_err(sql("begin import"))?;
        let mut counts = ImportCounts::new();
        let mut ext: HashMap<Layer, Extent> = HashMap::new();
        let sealer = self.sealer.load();
        personal::check_key(&tx, &sealer)?;
        for rec in records {
            let Ok(rec) = rec else {
                // Dropping `tx` rolls back.
                return Err(StoreError::Aborted);
            };
            insert(&tx, &rec, &sealer, &mut ext)?;
            *counts.entry(rec.layer()).or_insert(0) += 1;
        }
        update_contents(&tx, &ext)?;
        if crate::store::plan_shapes::stale_after_import(&counts) {
            super::plan_shapes::forget_all(&tx)?;
        }
        let (at, actor) = crate::store::changes::import_stamp(audit);
        super::changes::append_imports(&tx, &counts, 0, &at, &actor)?;
        if let Some(a) = audit {
            accounts::insert_audit(&tx, &imported_audit(a, &counts))?;
        }
        tx.commit().map_err(sql("commit import"))?;
        Ok(counts)
    }
}

/// Bounding box accumulator for gpkg_contents extents.
#[derive(Default, Clone, Copy)]
pub(super) struct Extent(pub(super) Option<[f64; 4]>);

impl Extent {
    pub(super) fn add(&mut self, env: Option<[f64; 4]>) {
        let Some([minx, maxx, miny, maxy]) = env else {
            return;
        };
        self.0 = Some(match self.0 {
            None => [minx, miny, maxx, maxy],
            Some([a, b, c, d]) => [a.min(minx), b.min(miny), c.max(maxx), d.max(maxy)],
        });
    }
}

pub(super) fn opt_id(id: i64) -> Option<i64> {
    (id > 0).then_some(id)
}

pub(super) fn insert(
    tx: &Transaction<'_>,
    rec: &Record,
    sealer: &Sealer,
    ext: &mut HashMap<Layer, Extent>,
) -> Result<()> {
    let op = "insert record";
    match rec {
        Record::Region(r) => {
            let g = Geometry::MultiPolygon(r.boundary.clone());
            ext.entry(Layer::Regions)
                .or_default()
                .add(blob::envelope(&g));
            tx.prepare_cached(
                "INSERT INTO regions (geom, code, name, parent) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(code) DO UPDATE SET geom = excluded.geom, name = excluded.name, parent = excluded.parent",
            )
            .and_then(|mut s| s.execute(params![blob::encode(&g), code_str(r.code), r.name, r.parent.map(code_str)]))
            .map_err(sql(op))?;
        }
        Record::Atom(a) => insert_atom(tx, a, ext)?,
        Record::Household(h) => personal::insert_household(tx, h, sealer, ext)?,
        Record::Person(p) => personal::insert_person(tx, p, sealer, ext)?,
        Record::Road(r) => {
            let g = Geometry::LineString(r.geometry.clone());
            ext.entry(Layer::Roads).or_default().add(blob::envelope(&g));
            tx.prepare_cached(
                "INSERT OR REPLACE INTO roads (fid, geom, class, name, grade) VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    opt_id(r.id),
                    blob::encode(&g),
                    r.class.as_str(),
                    r.name,
                    r.grade.as_str()
                ])
            })
            .map_err(sql(op))?;
        }
        Record::Building(b) => {
            let g = Geometry::MultiPolygon(b.geometry.clone());
            ext.entry(Layer::Buildings)
                .or_default()
                .add(blob::envelope(&g));
            tx.prepare_cached(
                "INSERT OR REPLACE INTO buildings (fid, geom, levels, height_m, kind) VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .and_then(|mut s| s.execute(params![opt_id(b.id), blob::encode(&g), b.levels, b.height_m, b.kind]))
            .map_err(sql(op))?;
        }
        Record::Water(w) => super::layout::insert_water(tx, w, ext)?,
        Record::Grid(g) => {
            let geom = Geometry::MultiPolygon(g.geometry.clone());
            ext.entry(Layer::Grids)
                .or_default()
                .add(blob::envelope(&geom));
            tx.prepare_cached(
                "INSERT OR REPLACE INTO grids (fid, geom, region, level, code, name, parent)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    opt_id(g.id),
                    blob::encode(&geom),
                    code_str(g.region),
                    g.level.get(),
                    g.code.as_str(),
                    g.name,
                    g.parent.as_ref().map(GridCode::as_str)
                ])
            })
            .map_err(sql(op))?;
        }
    }
    Ok(())
}

pub(super) fn insert_atom(
    tx: &Transaction<'_>,
    a: &Atom,
    ext: &mut HashMap<Layer, Extent>,
) -> Result<()> {
    let op = "insert record";
    let g = Geometry::MultiPolygon(a.geometry.clone());
    ext.entry(Layer::Atoms).or_default().add(blob::envelope(&g));
    // The fid is the layer-wide atom id, as in OGC and the tiles.
    let fid = crate::domain::atom::atom_feature_id(a.region, a.id).ok_or_else(|| {
        StoreError::Conflict(format!(
            "atom {} of region {}: atom ids have at most six digits",
            a.id, a.region
        ))
    })?;
    tx.prepare_cached(
        "INSERT INTO atoms (fid, geom, region, atom_id, kind) VALUES (?5, ?1, ?2, ?3, ?4)
         ON CONFLICT(region, atom_id) DO UPDATE SET geom = excluded.geom, kind = excluded.kind",
    )
    .and_then(|mut s| {
        s.execute(params![
            blob::encode(&g),
            code_str(a.region),
            a.id,
            a.kind.as_str(),
            fid
        ])
    })
    .map_err(sql(op))?;
    Ok(())
}

/// Widens gpkg_contents' extent and stamps last_change for touched layers.
pub(super) fn update_contents(tx: &Transaction<'_>, ext: &HashMap<Layer, Extent>) -> Result<()> {
    for (layer, e) in ext {
        if let Some(e) = e.0 {
            widen_contents(tx, layer.as_str(), e)?;
        }
    }
    Ok(())
}

/// Widens one table's gpkg_contents extent to `[minx, miny, maxx, maxy]`.
pub(super) fn widen_contents(tx: &Transaction<'_>, table: &str, e: [f64; 4]) -> Result<()> {
    let [minx, miny, maxx, maxy] = e;
    tx.execute(
        "UPDATE gpkg_contents SET
           min_x = min(coalesce(min_x, ?2), ?2), min_y = min(coalesce(min_y, ?3), ?3),
           max_x = max(coalesce(max_x, ?4), ?4), max_y = max(coalesce(max_y, ?5), ?5),
           last_change = strftime('%Y-%m-%dT%H:%M:%fZ','now')
         WHERE table_name = ?1",
        params![table, minx, miny, maxx, maxy],
    )
    .map_err(sql("update gpkg_contents"))?;
    Ok(())
}

pub(super) fn replace_atoms_in(
    tx: &rusqlite::Transaction<'_>,
    region: RegionCode,
    atoms: &[Atom],
) -> Result<()> {
    tx.execute("DELETE FROM atoms WHERE region = ?1", [code_str(region)])
        .map_err(sql("delete atoms"))?;
    let mut ext = HashMap::new();
    for a in atoms {
        insert_atom(tx, a, &mut ext)?;
    }
    update_contents(tx, &ext)?;
    Ok(())
}
