//! The embedded store: an OGC GeoPackage 1.3 file (SQLite), so QGIS and GDAL
//! open it directly. Geometry columns hold GeoPackage blobs ([`blob`]), every
//! layer is a feature table and plan versions are attribute tables.

mod accounts;
pub mod blob;
mod layout;
mod personal;
mod rtree;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;

use geo_types::{Geometry, LineString, MultiPolygon, Point};
use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::{Abort, Dataset, Dump, ImportCounts, Layer, Record, Result, Store, StoreError};
use crate::domain::{
    Atom, AtomKind, Building, Grade, GridCode, GridLabel, Household, ImportedGrid, Level, Plan,
    PlanVersion, Region, RegionCode, Road, RoadClass, Water, WaterKind,
};
use crate::sealing::{KeyId, Sealer};

/// `PRAGMA application_id` of every GeoPackage: "GPKG".
const APPLICATION_ID: i32 = 0x4750_4B47;
/// `PRAGMA user_version` of GeoPackage 1.3.
const USER_VERSION: i32 = 10300;
const SCHEMA: &str = include_str!("schema.sql");

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

fn corrupt(what: impl Into<String>, reason: impl ToString) -> StoreError {
    StoreError::Corrupt {
        what: what.into(),
        reason: reason.to_string(),
    }
}

impl GeoPackage {
    /// Opens `path`, creating a new GeoPackage when the file does not exist.
    /// An existing file must be a GeoPackage written by wangge. Personal
    /// fields are sealed with the process's key.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path, super::process_sealer()?)
    }

    /// Like [`GeoPackage::open`], with the given key: a file sealed with
    /// another key is refused ([`StoreError::WrongKey`]) and left as it is.
    pub fn open_with(path: impl AsRef<Path>, sealer: Arc<Sealer>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let existed = path.exists();
        let conn = Connection::open(&path).map_err(|e| StoreError::File {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        // Rollback journal (not WAL): a kill -9 mid-import leaves a hot
        // journal that the next open rolls back, and the file stays one file.
        // secure_delete: a replaced or deleted personal value is zeroed,
        // not left readable in a free page (an upgrade re-seals every one).
        conn.execute_batch(
            "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -32768;
             PRAGMA secure_delete = ON;",
        )
        .map_err(sql("set pragmas"))?;
        rtree::register_functions(&conn).map_err(sql("register spatial index functions"))?;
        let store = Self {
            path,
            conn: Mutex::new(conn),
            sealer: ArcSwap::new(sealer),
        };
        if existed && store.is_ours()? {
            store.migrate()?;
            return Ok(store);
        }
        if existed {
            let empty: i64 = store
                .lock()
                .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
                .map_err(|e| StoreError::File {
                    path: store.path.display().to_string(),
                    reason: format!("not an SQLite file: {e}"),
                })?;
            if empty > 0 {
                return Err(StoreError::File {
                    path: store.path.display().to_string(),
                    reason:
                        "not a wangge GeoPackage (no wangge_meta table or wrong application_id)"
                            .into(),
                });
            }
        }
        store.create()?;
        store.migrate()?;
        Ok(store)
    }

    /// Brings an older wangge GeoPackage up to this schema (idempotent).
    /// One import transaction, audited when `audit` is given.
    fn import_tx(
        &self,
        records: &mut dyn Iterator<Item = std::result::Result<Record, Abort>>,
        audit: Option<&crate::access::account::AuditEntry>,
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
        if let Some(a) = audit {
            let stored: Vec<String> = counts.iter().map(|(l, n)| format!("{n} {l}")).collect();
            let detail = if a.detail.is_empty() {
                stored.join(", ")
            } else {
                format!("{}; {}", a.detail, stored.join(", "))
            };
            tx.execute(
                "INSERT INTO wangge_audit (at, user, action, target, source, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![a.at, a.user, a.action, a.target, a.from, detail],
            )
            .map_err(sql("audit the import"))?;
        }
        tx.commit().map_err(sql("commit import"))?;
        Ok(counts)
    }

    fn migrate(&self) -> Result<()> {
        let mut c = self.lock();
        migrate_road_grade(&c)?;
        layout::upgrade(&mut c)?;
        rtree::ensure_all(&c)?;
        Self::migrate_accounts(&mut c)?;
        personal::prepare(&mut c, &self.sealer.load())
    }

    fn migrate_accounts(c: &mut Connection) -> Result<()> {
        let has: Option<String> = c
            .query_row(
                "SELECT name FROM sqlite_master WHERE name = 'wangge_users'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql("check schema"))?;
        let archives: Option<String> = c
            .query_row(
                "SELECT name FROM sqlite_master WHERE name = 'wangge_audit_archives'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql("check schema"))?;
        if has.is_some() && archives.is_some() {
            return Ok(());
        }
        let tx = c.transaction().map_err(sql("migrate"))?;
        if has.is_none() {
            tx.execute_batch(accounts::SCHEMA)
                .map_err(sql("migrate: account tables"))?;
        }
        tx.execute_batch(accounts::ARCHIVE_SCHEMA)
            .map_err(sql("migrate: audit archives"))?;
        tx.commit().map_err(sql("migrate"))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (the
        // transaction rolls back on drop), so a poisoned lock is usable.
        self.conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn is_ours(&self) -> Result<bool> {
        let c = self.lock();
        let app: i32 = c
            .query_row("PRAGMA application_id", [], |r| r.get(0))
            .map_err(|e| StoreError::File {
                path: self.path.display().to_string(),
                reason: format!("not an SQLite file: {e}"),
            })?;
        if app != APPLICATION_ID {
            return Ok(false);
        }
        let meta: Option<String> = c
            .query_row(
                "SELECT name FROM sqlite_master WHERE name = 'wangge_meta'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql("check schema"))?;
        Ok(meta.is_some())
    }

    fn create(&self) -> Result<()> {
        let mut c = self.lock();
        c.execute_batch(&format!(
            "PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {USER_VERSION};"
        ))
        .map_err(sql("set application id"))?;
        let tx = c.transaction().map_err(sql("begin schema"))?;
        tx.execute_batch(SCHEMA).map_err(sql("create schema"))?;
        tx.commit().map_err(sql("commit schema"))
    }
}

/// Files written before roads had a grade get the column, every road at
/// street level (which is how they were read).
fn migrate_road_grade(c: &Connection) -> Result<()> {
    let has: bool = c
        .query_row(
            "SELECT count(*) FROM pragma_table_info('roads') WHERE name = 'grade'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .map_err(sql("check roads.grade"))?
        > 0;
    if !has {
        c.execute_batch("ALTER TABLE roads ADD COLUMN grade TEXT NOT NULL DEFAULT 'surface'")
            .map_err(sql("migrate: roads.grade"))?;
    }
    Ok(())
}

/// Bounding box accumulator for gpkg_contents extents.
#[derive(Default, Clone, Copy)]
struct Extent(Option<[f64; 4]>);

impl Extent {
    fn add(&mut self, env: Option<[f64; 4]>) {
        let Some([minx, maxx, miny, maxy]) = env else {
            return;
        };
        self.0 = Some(match self.0 {
            None => [minx, miny, maxx, maxy],
            Some([a, b, c, d]) => [a.min(minx), b.min(miny), c.max(maxx), d.max(maxy)],
        });
    }
}

fn code_str(c: RegionCode) -> String {
    c.to_string()
}

fn opt_id(id: i64) -> Option<i64> {
    (id > 0).then_some(id)
}

fn insert(
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
        Record::Water(w) => layout::insert_water(tx, w, ext)?,
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

fn insert_atom(tx: &Transaction<'_>, a: &Atom, ext: &mut HashMap<Layer, Extent>) -> Result<()> {
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
fn update_contents(tx: &Transaction<'_>, ext: &HashMap<Layer, Extent>) -> Result<()> {
    for (layer, e) in ext {
        if let Some(e) = e.0 {
            widen_contents(tx, layer.as_str(), e)?;
        }
    }
    Ok(())
}

/// Widens one table's gpkg_contents extent to `[minx, miny, maxx, maxy]`.
fn widen_contents(tx: &Transaction<'_>, table: &str, e: [f64; 4]) -> Result<()> {
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

fn region_code(s: &str, what: &str) -> Result<RegionCode> {
    s.parse().map_err(|e| corrupt(what.to_string(), e))
}

fn geom(b: &[u8], what: &str) -> Result<Geometry<f64>> {
    blob::decode(b).map_err(|e| corrupt(what.to_string(), e))
}

fn multipolygon(b: &[u8], what: &str) -> Result<MultiPolygon<f64>> {
    match geom(b, what)? {
        Geometry::MultiPolygon(m) => Ok(m),
        Geometry::Polygon(p) => Ok(MultiPolygon(vec![p])),
        other => Err(corrupt(
            what.to_string(),
            format!("expected a polygon, found {other:?}")
                .chars()
                .take(80)
                .collect::<String>(),
        )),
    }
}

fn point(b: &[u8], what: &str) -> Result<Point<f64>> {
    match geom(b, what)? {
        Geometry::Point(p) => Ok(p),
        _ => Err(corrupt(what.to_string(), "expected a point")),
    }
}

fn linestring(b: &[u8], what: &str) -> Result<LineString<f64>> {
    match geom(b, what)? {
        Geometry::LineString(l) => Ok(l),
        _ => Err(corrupt(what.to_string(), "expected a linestring")),
    }
}

fn load_all(c: &Connection, sealer: &Sealer) -> Result<Dataset> {
    let op = "load";
    let mut d = Dataset::default();
    let mut st = c
        .prepare("SELECT geom, code, name, parent FROM regions ORDER BY code")
        .map_err(sql(op))?;
    let mut rows = st.query([]).map_err(sql(op))?;
    while let Some(r) = rows.next().map_err(sql(op))? {
        let code: String = r.get(1).map_err(sql(op))?;
        let parent: Option<String> = r.get(3).map_err(sql(op))?;
        d.regions.push(Region {
            code: region_code(&code, "regions.code")?,
            name: r.get(2).map_err(sql(op))?,
            parent: parent
                .as_deref()
                .map(|p| region_code(p, "regions.parent"))
                .transpose()?,
            boundary: multipolygon(
                r.get_ref(0)
                    .map_err(sql(op))?
                    .as_blob()
                    .map_err(|e| corrupt("regions.geom", e))?,
                "regions.geom",
            )?,
        });
    }
    let mut st = c
        .prepare("SELECT geom, region, atom_id, kind FROM atoms ORDER BY region, atom_id")
        .map_err(sql(op))?;
    let mut rows = st.query([]).map_err(sql(op))?;
    while let Some(r) = rows.next().map_err(sql(op))? {
        let region: String = r.get(1).map_err(sql(op))?;
        let kind: String = r.get(3).map_err(sql(op))?;
        d.atoms.push(Atom {
            id: r.get(2).map_err(sql(op))?,
            region: region_code(&region, "atoms.region")?,
            kind: AtomKind::parse(&kind).ok_or_else(|| corrupt("atoms.kind", kind.clone()))?,
            geometry: multipolygon(
                r.get_ref(0)
                    .map_err(sql(op))?
                    .as_blob()
                    .map_err(|e| corrupt("atoms.geom", e))?,
                "atoms.geom",
            )?,
        });
    }
    (d.households, d.people) = personal::load(c, sealer)?;
    let mut st = c
        .prepare("SELECT fid, geom, class, name, grade FROM roads ORDER BY fid")
        .map_err(sql(op))?;
    let mut rows = st.query([]).map_err(sql(op))?;
    while let Some(r) = rows.next().map_err(sql(op))? {
        let class: String = r.get(2).map_err(sql(op))?;
        d.roads.push(Road {
            id: r.get(0).map_err(sql(op))?,
            geometry: linestring(
                r.get_ref(1)
                    .map_err(sql(op))?
                    .as_blob()
                    .map_err(|e| corrupt("roads.geom", e))?,
                "roads.geom",
            )?,
            class: RoadClass::parse(&class).ok_or_else(|| corrupt("roads.class", class.clone()))?,
            name: r.get(3).map_err(sql(op))?,
            grade: {
                let g: String = r.get(4).map_err(sql(op))?;
                Grade::parse(&g).ok_or_else(|| corrupt("roads.grade", g))?
            },
        });
    }
    let mut st = c
        .prepare("SELECT fid, geom, levels, height_m, kind FROM buildings ORDER BY fid")
        .map_err(sql(op))?;
    let mut rows = st.query([]).map_err(sql(op))?;
    while let Some(r) = rows.next().map_err(sql(op))? {
        d.buildings.push(Building {
            id: r.get(0).map_err(sql(op))?,
            geometry: multipolygon(
                r.get_ref(1)
                    .map_err(sql(op))?
                    .as_blob()
                    .map_err(|e| corrupt("buildings.geom", e))?,
                "buildings.geom",
            )?,
            levels: r.get(2).map_err(sql(op))?,
            height_m: r.get(3).map_err(sql(op))?,
            kind: r.get(4).map_err(sql(op))?,
        });
    }
    let mut st = c.prepare(layout::WATER_QUERY).map_err(sql(op))?;
    let mut rows = st.query([]).map_err(sql(op))?;
    while let Some(r) = rows.next().map_err(sql(op))? {
        let kind: String = r.get(2).map_err(sql(op))?;
        d.water.push(Water {
            id: r.get(0).map_err(sql(op))?,
            geometry: layout::loaded(geom(
                r.get_ref(1)
                    .map_err(sql(op))?
                    .as_blob()
                    .map_err(|e| corrupt("water.geom", e))?,
                "water.geom",
            )?),
            kind: match kind.as_str() {
                "river" => WaterKind::River,
                "area" => WaterKind::Area,
                _ => return Err(corrupt("water.kind", kind)),
            },
            name: r.get(3).map_err(sql(op))?,
        });
    }
    let mut st = c
        .prepare("SELECT fid, geom, region, level, code, name, parent FROM grids ORDER BY fid")
        .map_err(sql(op))?;
    let mut rows = st.query([]).map_err(sql(op))?;
    while let Some(r) = rows.next().map_err(sql(op))? {
        let region: String = r.get(2).map_err(sql(op))?;
        let level: u8 = r.get(3).map_err(sql(op))?;
        let parent: Option<String> = r.get(6).map_err(sql(op))?;
        d.grids.push(ImportedGrid {
            id: r.get(0).map_err(sql(op))?,
            geometry: multipolygon(
                r.get_ref(1)
                    .map_err(sql(op))?
                    .as_blob()
                    .map_err(|e| corrupt("grids.geom", e))?,
                "grids.geom",
            )?,
            region: region_code(&region, "grids.region")?,
            level: Level::new(level).ok_or_else(|| corrupt("grids.level", level))?,
            code: GridCode(r.get(4).map_err(sql(op))?),
            name: r.get(5).map_err(sql(op))?,
            parent: parent.map(GridCode),
        });
    }
    let newest: Vec<i64> = c
        .prepare("SELECT max(id) FROM plan_versions GROUP BY region ORDER BY region")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(sql(op))?;
    for id in newest {
        if let Some(p) = load_plan(c, id)? {
            d.plans.push(p);
        }
    }
    Ok(d)
}

fn version_row(
    r: &rusqlite::Row<'_>,
) -> rusqlite::Result<(i64, String, u32, Option<i64>, String, String, String, bool)> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
    ))
}

fn to_version(
    t: (i64, String, u32, Option<i64>, String, String, String, bool),
) -> Result<PlanVersion> {
    Ok(PlanVersion {
        id: t.0,
        region: region_code(&t.1, "plan_versions.region")?,
        number: t.2,
        parent: t.3,
        author: t.4,
        created_at: t.5,
        message: t.6,
        published: t.7,
    })
}

const VERSION_COLS: &str = "id, region, number, parent, author, created_at, message, published";

fn load_plan(c: &Connection, id: i64) -> Result<Option<Plan>> {
    let op = "load plan";
    let Some(v) = c
        .query_row(
            &format!("SELECT {VERSION_COLS} FROM plan_versions WHERE id = ?1"),
            [id],
            version_row,
        )
        .optional()
        .map_err(sql(op))?
    else {
        return Ok(None);
    };
    let version = to_version(v)?;
    let mut atoms = vec![];
    let mut labels = vec![];
    let mut st = c
        .prepare_cached("SELECT atom, l1, l2, l3 FROM plan_labels WHERE version = ?1 ORDER BY atom")
        .map_err(sql(op))?;
    let mut rows = st.query([id]).map_err(sql(op))?;
    while let Some(r) = rows.next().map_err(sql(op))? {
        atoms.push(r.get(0).map_err(sql(op))?);
        labels.push(GridLabel([
            r.get(1).map_err(sql(op))?,
            r.get(2).map_err(sql(op))?,
            r.get(3).map_err(sql(op))?,
        ]));
    }
    let mut codes: [Vec<GridCode>; 3] = Default::default();
    let mut st = c
        .prepare_cached(
            "SELECT level, grid, code FROM plan_grids WHERE version = ?1 ORDER BY level, grid",
        )
        .map_err(sql(op))?;
    let mut rows = st.query([id]).map_err(sql(op))?;
    while let Some(r) = rows.next().map_err(sql(op))? {
        let level: i64 = r.get(0).map_err(sql(op))?;
        let grid: i64 = r.get(1).map_err(sql(op))?;
        let (level, grid) = (level as usize, grid as usize);
        let code: String = r.get(2).map_err(sql(op))?;
        let v = codes
            .get_mut(level.wrapping_sub(1))
            .ok_or_else(|| corrupt("plan_grids.level", level))?;
        if grid != v.len() {
            return Err(corrupt(
                "plan_grids.grid",
                format!("grid ids of level {level} are not dense at {grid}"),
            ));
        }
        v.push(GridCode(code));
    }
    Ok(Some(Plan {
        version,
        atoms,
        labels,
        codes,
    }))
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
        audit: &crate::access::account::AuditEntry,
    ) -> Result<ImportCounts> {
        self.import_tx(records, Some(audit))
    }

    fn load(&self) -> Result<Dataset> {
        load_all(&self.lock(), &self.sealer.load())
    }

    fn regions(&self) -> Result<Vec<Region>> {
        // Same reader as load(), on a dataset holding only regions.
        let c = self.lock();
        let mut d = Dataset::default();
        let mut st = c
            .prepare("SELECT geom, code, name, parent FROM regions ORDER BY code")
            .map_err(sql("load regions"))?;
        let mut rows = st.query([]).map_err(sql("load regions"))?;
        while let Some(r) = rows.next().map_err(sql("load regions"))? {
            let code: String = r.get(1).map_err(sql("load regions"))?;
            let parent: Option<String> = r.get(3).map_err(sql("load regions"))?;
            d.regions.push(Region {
                code: region_code(&code, "regions.code")?,
                name: r.get(2).map_err(sql("load regions"))?,
                parent: parent
                    .as_deref()
                    .map(|p| region_code(p, "regions.parent"))
                    .transpose()?,
                boundary: multipolygon(
                    r.get_ref(0)
                        .map_err(sql("load regions"))?
                        .as_blob()
                        .map_err(|e| corrupt("regions.geom", e))?,
                    "regions.geom",
                )?,
            });
        }
        Ok(d.regions)
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

    fn save_plan(&self, plan: &Plan) -> Result<PlanVersion> {
        let mut c = self.lock();
        let tx = c.transaction().map_err(sql("begin save plan"))?;
        let v = save_plan_in(&tx, plan, false)?;
        tx.commit().map_err(sql("commit plan"))?;
        Ok(v)
    }

    fn save_plan_on(
        &self,
        plan: &Plan,
        added: &[Atom],
        base: i64,
        audit: &crate::access::account::AuditEntry,
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
        accounts::insert_audit(&tx, &crate::store::saved_audit(audit, &v))?;
        tx.commit().map_err(sql("commit plan"))?;
        Ok(v)
    }

    fn save_partition(
        &self,
        region: RegionCode,
        atoms: &[Atom],
        plan: &Plan,
        audit: &crate::access::account::AuditEntry,
    ) -> Result<PlanVersion> {
        let mut c = self.lock();
        let tx = c.transaction().map_err(sql("begin save partition"))?;
        replace_atoms_in(&tx, region, atoms)?;
        let v = save_plan_in(&tx, plan, false)?;
        accounts::insert_audit(&tx, &crate::store::saved_audit(audit, &v))?;
        tx.commit().map_err(sql("commit partition"))?;
        Ok(v)
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
        progress(done);
        accounts::restore(&tx, dump)?;
        done += (dump.users.len() + dump.tokens.len() + dump.audit.len()) as u64;
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
}

fn replace_atoms_in(
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

/// Writes a plan version with its labels and codes: a new id and the
/// region's next number, or (`keep`, a copy) the plan's own id and number.
fn save_plan_in(tx: &rusqlite::Transaction<'_>, plan: &Plan, keep: bool) -> Result<PlanVersion> {
    if plan.atoms.len() != plan.labels.len() {
        return Err(StoreError::Conflict(format!(
            "plan has {} atoms but {} labels",
            plan.atoms.len(),
            plan.labels.len()
        )));
    }
    let region = code_str(plan.version.region);
    let number: u32 = if keep {
        plan.version.number
    } else {
        tx.query_row(
            "SELECT coalesce(max(number), 0) + 1 FROM plan_versions WHERE region = ?1",
            [&region],
            |r| r.get(0),
        )
        .map_err(sql("number plan"))?
    };
    let v = &plan.version;
    tx.execute(
        "INSERT INTO plan_versions (id, region, number, parent, author, created_at, message, published)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            keep.then_some(v.id),
            region,
            number,
            v.parent,
            v.author,
            v.created_at,
            v.message,
            v.published
        ],
    )
    .map_err(sql("insert plan version"))?;
    let id = tx.last_insert_rowid();
    {
        let mut st = tx
                .prepare_cached("INSERT INTO plan_labels (version, region, atom, l1, l2, l3) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
                .map_err(sql("insert plan labels"))?;
        for (a, l) in plan.atoms.iter().zip(&plan.labels) {
            st.execute(params![id, region, a, l.0[0], l.0[1], l.0[2]])
                .map_err(sql("insert plan labels"))?;
        }
        let mut st = tx
                .prepare_cached("INSERT INTO plan_grids (version, region, level, grid, code) VALUES (?1, ?2, ?3, ?4, ?5)")
                .map_err(sql("insert plan grids"))?;
        for (li, codes) in plan.codes.iter().enumerate() {
            for (g, code) in codes.iter().enumerate() {
                st.execute(params![id, region, li as i64 + 1, g as i64, code.as_str()])
                    .map_err(sql("insert plan grids"))?;
            }
        }
    }
    Ok(PlanVersion {
        id,
        number,
        ..plan.version.clone()
    })
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn geopackage_passes_the_store_suite() {
        let dir = tempfile::tempdir().unwrap();
        let store = GeoPackage::open(dir.path().join("t.gpkg")).unwrap();
        crate::store::suite::run_all(&store);
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
