//! The embedded store: an OGC GeoPackage 1.3 file (SQLite), so QGIS and GDAL
//! open it directly. Geometry columns hold GeoPackage blobs ([`blob`]), every
//! layer is a feature table and plan versions are attribute tables.
//!
//! # Layout
//! - this file: the store and the [`Store`] trait's methods;
//! - `open`: opening, creating and migrating the file;
//! - `import`: writing records (imports, copies, atoms);
//! - `load`: reading the layers back;
//! - `plans`: plan versions;
//! - `plan_shapes`: plan grids with shapes, the current and published plans;
//! - `accounts`: the [`AccountStore`](crate::store::AccountStore);
//! - `personal`: households and people, their personal fields sealed;
//! - [`blob`]: GeoPackage geometry blobs;
//! - `schema.sql`, `accounts.sql`, `audit_archive.sql`: the tables.

mod accounts;
pub mod blob;
mod changes;
mod import;
mod incidents;
mod layout;
mod load;
mod open;
mod personal;
mod plan_shapes;
mod plans;
mod rtree;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use rusqlite::{Connection, OptionalExtension};

use super::rows::code_str;
use super::{
    copied, Abort, Dump, ImportCounts, PlanGridShape, Result, ShapesByVersion, Store, StoreError,
};
use crate::access::account::AuditEntry;
use crate::domain::{
    Atom, Dataset, Household, Layer, Plan, PlanVersion, Record, Region, RegionCode,
};
use crate::sealing::{KeyId, Sealer};
use import::{insert, insert_atom, replace_atoms_in, update_contents};
use load::{load_all, load_regions};
#[cfg(test)]
use open::{APPLICATION_ID, SCHEMA, USER_VERSION};
use plan_shapes::{put_shapes_in, shapes_of};
use plans::{load_plan, save_plan_in, to_version, version_row, VERSION_COLS};

/// A GeoPackage file. The connection sits behind a `Mutex` because SQLite
/// connections are not `Sync`; writes are serialised by SQLite anyway, and
/// reads go to the in-memory snapshot, not here.
pub struct GeoPackage {
    path: PathBuf,
    conn: Mutex<Connection>,
    /// Seals personal fields; swapped by a key rotation.
    sealer: ArcSwap<Sealer>,
}

fn sql(op: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError {
    move |source| StoreError::Sqlite { op, source }
}

impl Store for GeoPackage {
    fn kind(&self) -> &'static str {
        "geopackage"
    }

    fn import(
        &self,
        records: &mut dyn Iterator<Item = std::result::Result<Record, Abort>>,
    ) -> Result<ImportCounts> {
        self.import_tx(records, None)
    }

    fn import_audited(
        &self,
        records: &mut dyn Iterator<Item = std::result::Result<Record, Abort>>,
        audit: &AuditEntry,
    ) -> Result<ImportCounts> {
        self.import_tx(records, Some(audit))
    }

    fn load(&self) -> Result<Dataset> {
        load_all(&self.lock(), &self.sealer.load())
    }

    fn regions(&self) -> Result<Vec<Region>> {
        // The same reader as load().
        load_regions(&self.lock(), "load regions")
    }

    fn counts(&self) -> Result<Vec<(Layer, u64)>> {
        let c = self.lock();
        Layer::ALL
            .iter()
            .map(|&l| {
                let q = match l {
                    Layer::Water => format!(
                        "SELECT (SELECT count(*) FROM water) + (SELECT count(*) FROM {})",
                        layout::WATERWAYS
                    ),
                    l => format!("SELECT count(*) FROM {}", l.as_str()),
                };
                c.query_row(&q, [], |r| r.get::<_, i64>(0))
                    .map(|n| (l, n as u64))
                    .map_err(sql("count"))
            })
            .collect()
    }

    fn replace_atoms(&self, region: RegionCode, atoms: &[Atom]) -> Result<()> {
        let mut c = self.lock();
        let tx = c.transaction().map_err(sql("begin replace atoms"))?;
        replace_atoms_in(&tx, region, atoms)?;
        tx.commit().map_err(sql("commit replace atoms"))
    }

    fn save_plan(&self, plan: &Plan, shapes: &[PlanGridShape]) -> Result<PlanVersion> {
        let mut c = self.lock();
        let tx = c.transaction().map_err(sql("begin save plan"))?;
        let v = save_plan_in(&tx, plan, false)?;
        put_shapes_in(&tx, v.id, shapes)?;
        tx.commit().map_err(sql("commit plan"))?;
        Ok(v)
    }

    fn save_plan_on(
        &self,
        plan: &Plan,
        added: &[Atom],
        base: i64,
        audit: &AuditEntry,
        shapes: &[PlanGridShape],
    ) -> Result<PlanVersion> {
        let mut c = self.lock();
        let tx = c.transaction().map_err(sql("begin save plan"))?;
        let newest: Option<i64> = tx
            .query_row(
                "SELECT id FROM plan_versions WHERE region = ?1 ORDER BY number DESC LIMIT 1",
                [code_str(plan.version.region)],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql("newest plan"))?;
        if newest != Some(base) {
            return Err(StoreError::Stale {
                region: plan.version.region,
                base,
                newest: newest.unwrap_or(0),
            });
        }
        let mut ext = HashMap::new();
        for a in added {
            insert_atom(&tx, a, &mut ext)?;
        }
        update_contents(&tx, &ext)?;
        let v = save_plan_in(&tx, plan, false)?;
        put_shapes_in(&tx, v.id, shapes)?;
        accounts::insert_audit(&tx, &crate::store::saved_audit(audit, &v))?;
        tx.commit().map_err(sql("commit plan"))?;
        Ok(v)
    }

    fn save_partition(
        &self,
        region: RegionCode,
        atoms: &[Atom],
        plan: &Plan,
        audit: &AuditEntry,
        shapes: &[PlanGridShape],
    ) -> Result<PlanVersion> {
        let mut c = self.lock();
        let tx = c.transaction().map_err(sql("begin save partition"))?;
        replace_atoms_in(&tx, region, atoms)?;
        let v = save_plan_in(&tx, plan, false)?;
        put_shapes_in(&tx, v.id, shapes)?;
        accounts::insert_audit(&tx, &crate::store::saved_audit(audit, &v))?;
        tx.commit().map_err(sql("commit partition"))?;
        Ok(v)
    }

    fn put_plan_grid_shapes(&self, version: i64, shapes: &[PlanGridShape]) -> Result<()> {
        self.put_shapes(version, shapes)
    }

    fn versions_without_shapes(&self) -> Result<Vec<i64>> {
        self.without_shapes()
    }

    fn plan_grid_shapes(&self, versions: Option<&[i64]>) -> Result<ShapesByVersion> {
        shapes_of(&self.lock(), versions)
    }

    fn plan_versions(&self, region: RegionCode) -> Result<Vec<PlanVersion>> {
        let c = self.lock();
        let rows: Vec<_> = c
            .prepare(&format!(
                "SELECT {VERSION_COLS} FROM plan_versions WHERE region = ?1 ORDER BY number"
            ))
            .and_then(|mut s| {
                s.query_map([code_str(region)], version_row)?
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .map_err(sql("list plan versions"))?;
        rows.into_iter().map(to_version).collect()
    }

    fn plan(&self, id: i64) -> Result<Option<Plan>> {
        load_plan(&self.lock(), id)
    }

    fn restore(&self, dump: &Dump, progress: &mut dyn FnMut(u64)) -> Result<()> {
        let mut c = self.lock();
        let tx = c.transaction().map_err(sql("begin copy"))?;
        let mut held = 0i64;
        for t in Layer::ALL.iter().map(|l| l.as_str()).chain([
            layout::WATERWAYS,
            "plan_versions",
            "wangge_users",
            "wangge_audit",
        ]) {
            held += tx
                .query_row(&format!("SELECT count(*) FROM {t}"), [], |r| {
                    r.get::<_, i64>(0)
                })
                .map_err(sql("copy"))?;
        }
        if held > 0 {
            return Err(StoreError::Conflict(format!(
                "the target {} is not empty; copy only into a new store",
                self.path.display()
            )));
        }
        let mut ext = HashMap::new();
        let mut done = 0u64;
        let sealer = self.sealer.load();
        personal::check_key(&tx, &sealer)?;
        for rec in dump.data.records() {
            insert(&tx, &rec, &sealer, &mut ext)?;
            done += 1;
            if done % 1000 == 0 {
                progress(done);
            }
        }
        update_contents(&tx, &ext)?;
        for p in &dump.data.plans {
            save_plan_in(&tx, p, true)?;
            done += 1;
        }
        // After every version, so that each region's newest is known.
        for (version, shapes) in &dump.shapes {
            put_shapes_in(&tx, *version, shapes)?;
            done += 1;
        }
        progress(done);
        accounts::restore(&tx, dump)?;
        done += (dump.users.len() + dump.tokens.len() + dump.audit.len()) as u64;
        let (at, actor) = (crate::store::changes::now(), "copy");
        changes::append_imports(&tx, &copied(dump), dump.data.plans.len(), &at, actor)?;
        tx.commit().map_err(sql("commit copy"))?;
        progress(done);
        Ok(())
    }

    fn key_id(&self) -> KeyId {
        self.sealer.load().key_id().clone()
    }

    fn households_by_phone(&self, phone: &str) -> Result<Vec<Household>> {
        personal::by_phone(&self.lock(), &self.sealer.load(), phone)
    }

    fn rotate_key(&self, new: Arc<Sealer>) -> Result<u64> {
        let mut c = self.lock();
        let n = personal::rotate(&mut c, &self.sealer.load(), &new)?;
        self.sealer.store(new);
        Ok(n)
    }

    fn write_household(
        &self,
        write: &crate::store::HouseholdWrite,
        audit: &AuditEntry,
    ) -> Result<crate::store::Change> {
        self.write_household_tx(write, audit)
    }

    fn write_people(
        &self,
        writes: &[(crate::store::PersonWrite, AuditEntry)],
    ) -> Result<Vec<crate::store::Change>> {
        self.write_people_tx(writes)
    }

    fn write_record(
        &self,
        write: &crate::store::RecordWrite,
        audit: &AuditEntry,
    ) -> Result<crate::store::Change> {
        self.write_record_tx(write, audit)
    }

    fn changes_since(&self, since: i64, limit: usize) -> Result<Vec<crate::store::Change>> {
        self.changes_after(since, limit)
    }

    fn last_seq(&self) -> Result<i64> {
        changes::last_seq(&self.lock())
    }

    fn etag_seq(&self, layer: Layer, id: i64) -> Result<i64> {
        self.etag_of(layer, id)
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::domain::Grade;

    #[test]
    fn geopackage_passes_the_store_suite() {
        let dir = tempfile::tempdir().unwrap();
        let store = GeoPackage::open(dir.path().join("t.gpkg")).unwrap();
        crate::store::suite::run_all(&store);
        // The layers follow each region's newest (published) version.
        let c = store.lock();
        for (layer, want) in [
            (
                "plan_grids_current",
                // 610902001003's plan was measured before the suite's
                // last household import, which dropped its shapes.
                vec![("610902001004".into(), 1)],
            ),
            ("plan_grids_published", vec![("610902001004".into(), 2)]),
        ] {
            let rows: Vec<(String, i64)> = c
                .prepare(&format!(
                    "SELECT region, count(*) FROM {layer} GROUP BY region ORDER BY region"
                ))
                .unwrap()
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            assert_eq!(rows, want, "{layer}");
        }
    }

    #[test]
    fn a_restore_into_a_new_geopackage_holds_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let a = GeoPackage::open(dir.path().join("a.gpkg")).unwrap();
        crate::store::suite::run_all(&a);
        let b = GeoPackage::open(dir.path().join("b.gpkg")).unwrap();
        crate::store::suite::restore_copies_everything(&a, &b);
    }

    #[test]
    fn a_file_from_before_road_grades_opens_with_every_road_at_street_level() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.gpkg");
        {
            let s = GeoPackage::open(&path).unwrap();
            s.import(&mut crate::store::suite::sample().into_iter().map(Ok))
                .unwrap();
            assert_eq!(s.load().unwrap().roads[0].grade, Grade::Bridge);
            s.lock()
                .execute_batch("ALTER TABLE roads DROP COLUMN grade")
                .unwrap();
        }
        let s = GeoPackage::open(&path).unwrap();
        let roads = s.load().unwrap().roads;
        assert_eq!(roads.len(), 1);
        assert_eq!(roads[0].grade, Grade::Surface);
    }

    #[test]
    fn a_file_from_before_volunteer_status_opens_with_status_from_available() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.gpkg");
        {
            let s = GeoPackage::open(&path).unwrap();
            s.import(&mut crate::store::suite::sample().into_iter().map(Ok))
                .unwrap();
            assert!(s.load().unwrap().people[0].checkin.is_some());
            s.lock()
                .execute_batch(
                    "ALTER TABLE people DROP COLUMN status; ALTER TABLE people DROP COLUMN checkin_lon;
                     ALTER TABLE people DROP COLUMN checkin_lat;
                     UPDATE people SET available = 0",
                )
                .unwrap();
        }
        let s = GeoPackage::open(&path).unwrap();
        let p = &s.load().unwrap().people[0];
        assert_eq!(
            (p.status, p.checkin),
            (crate::domain::Availability::OffDuty, None)
        );
    }

    #[test]
    fn reopening_keeps_data_and_foreign_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.gpkg");
        {
            let s = GeoPackage::open(&path).unwrap();
            s.import(&mut crate::store::suite::sample().into_iter().map(Ok))
                .unwrap();
        }
        let s = GeoPackage::open(&path).unwrap();
        assert_eq!(s.load().unwrap().households.len(), 1);
        let c = s.lock();
        let app: i32 = c
            .query_row("PRAGMA application_id", [], |r| r.get(0))
            .unwrap();
        let ver: i32 = c
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!((app, ver), (APPLICATION_ID, USER_VERSION));
        drop(c);

        let other = dir.path().join("other.sqlite");
        Connection::open(&other)
            .unwrap()
            .execute_batch("CREATE TABLE x (a)")
            .unwrap();
        let e = GeoPackage::open(&other).err().unwrap().to_string();
        assert!(e.contains("not a wangge GeoPackage"), "{e}");
        let text = dir.path().join("notes.txt");
        std::fs::write(
            &text,
            "hello, this is not a database at all, not even close",
        )
        .unwrap();
        assert!(GeoPackage::open(&text).is_err());
    }

    #[test]
    fn corrupt_geometry_is_reported_with_its_column() {
        let dir = tempfile::tempdir().unwrap();
        let s = GeoPackage::open(dir.path().join("t.gpkg")).unwrap();
        s.import(&mut crate::store::suite::sample().into_iter().map(Ok))
            .unwrap();
        s.lock()
            .execute("UPDATE roads SET geom = x'4750000101'", [])
            .unwrap();
        let e = s.load().unwrap_err().to_string();
        assert!(e.contains("roads.geom"), "{e}");
    }
}
