//! Households and people in the GeoPackage, whose personal fields are
//! sealed ([`crate::sealing`]) in their own columns (`flags` is text then),
//! with each phone's blind index in an indexed `phone_index` column, and
//! the key's id in `wangge_meta`. Files written before sealing are
//! upgraded when first opened, in one transaction.

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::import::{opt_id, Extent};
use super::load::geom_at;
use super::{blob, sql};
use crate::domain::{CareLevel, GridCode, Household, Layer, Person, SensitiveFlags};
use crate::sealing::Sealer;
use crate::store::personal::{self, HouseholdCells, PersonCells, KEY_ID};
use crate::store::rows::{self, code_str, opt_region_code};
use crate::store::Result;

/// Adds the blind-index columns and a text column for sealed flags.
const UPGRADE_COLUMNS: &str = "
ALTER TABLE households ADD COLUMN phone_index TEXT;
ALTER TABLE people ADD COLUMN phone_index TEXT;
ALTER TABLE households ADD COLUMN flags_sealed TEXT NOT NULL DEFAULT '';";

/// Replaces the integer flags by the sealed ones, indexes the phones.
const UPGRADE_FINISH: &str = "
ALTER TABLE households DROP COLUMN flags;
ALTER TABLE households RENAME COLUMN flags_sealed TO flags;
CREATE INDEX households_phone_index ON households (phone_index);
CREATE INDEX people_phone_index ON people (phone_index);
UPDATE wangge_meta SET value = '3' WHERE key = 'schema_version' AND CAST(value AS INTEGER) < 3;";

fn stored_key(c: &Connection) -> Result<Option<String>> {
    c.query_row(
        "SELECT value FROM wangge_meta WHERE key = ?1",
        [KEY_ID],
        |r| r.get(0),
    )
    .optional()
    .map_err(sql("read the key id"))
}

fn sealed_columns(c: &Connection) -> Result<bool> {
    let n: i64 = c
        .query_row(
            "SELECT count(*) FROM pragma_table_info('households') WHERE name = 'phone_index'",
            [],
            |r| r.get(0),
        )
        .map_err(sql("check schema"))?;
    Ok(n > 0)
}

/// Checks the key against the one the file records, and upgrades a file
/// written before sealing: its plain values are sealed with `s`. A wrong
/// key fails before anything is written.
pub(super) fn prepare(c: &mut Connection, s: &Sealer) -> Result<()> {
    if let Some(stored) = stored_key(c)? {
        if stored != s.key_id().as_str() {
            return Err(personal::wrong_key(&stored, s));
        }
        if sealed_columns(c)? {
            return Ok(());
        }
    }
    // Another process may be upgrading: decide again under the write lock.
    let tx = c
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sql("begin upgrade"))?;
    match stored_key(&tx)? {
        Some(k) if k != s.key_id().as_str() => return Err(personal::wrong_key(&k, s)),
        _ => {}
    }
    if !sealed_columns(&tx)? {
        let n: i64 = tx
            .query_row("SELECT count(*) FROM households", [], |r| r.get(0))
            .map_err(sql("count households"))?;
        if n > 0 {
            tracing::info!(households = n, "sealing the personal fields of this store");
        }
        tx.execute_batch(UPGRADE_COLUMNS)
            .map_err(sql("upgrade: add sealed columns"))?;
        reseal(&tx, None, s, "flags_sealed")?;
        tx.execute_batch(UPGRADE_FINISH)
            .map_err(sql("upgrade: sealed columns"))?;
    }
    set_key(&tx, s)?;
    tx.commit().map_err(sql("commit upgrade"))
}

/// Inside a write transaction: the file is still sealed with `s` (a
/// rotation by another process since this one opened it would otherwise
/// mix keys).
pub(super) fn check_key(tx: &Connection, s: &Sealer) -> Result<()> {
    match stored_key(tx)? {
        Some(k) if k != s.key_id().as_str() => Err(personal::wrong_key(&k, s)),
        _ => Ok(()),
    }
}

fn set_key(tx: &Connection, s: &Sealer) -> Result<()> {
    tx.execute(
        "INSERT INTO wangge_meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![KEY_ID, s.key_id().as_str()],
    )
    .map_err(sql("record the key id"))?;
    Ok(())
}

/// Re-seals every record with `to` (see [`HouseholdCells::reseal`]) and
/// the new key's id, in one transaction. `from` must be the file's key.
pub(super) fn rotate(c: &mut Connection, from: &Sealer, to: &Sealer) -> Result<u64> {
    let tx = c
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sql("begin key rotation"))?;
    if let Some(k) = stored_key(&tx)? {
        if k != from.key_id().as_str() {
            return Err(personal::wrong_key(&k, from));
        }
    }
    let n = reseal(&tx, Some(from), to, "flags")?;
    set_key(&tx, to)?;
    tx.commit().map_err(sql("commit key rotation"))?;
    Ok(n)
}

/// A cell that was an integer before sealing (flags) read as text.
fn text(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<String> {
    Ok(match r.get_ref(i)? {
        rusqlite::types::ValueRef::Integer(v) => v.to_string(),
        _ => r.get(i)?,
    })
}

/// Re-seals all personal cells (`from` `None`: they are plain text),
/// writing the flags into `flags_col`. Returns the records written.
fn reseal(tx: &Connection, from: Option<&Sealer>, to: &Sealer, flags_col: &str) -> Result<u64> {
    let op = "re-seal households";
    let rows: Vec<(i64, HouseholdCells)> = tx
        .prepare("SELECT fid, head_name, phone, address, flags FROM households")
        .and_then(|mut st| {
            st.query_map([], |r| {
                Ok((
                    r.get(0)?,
                    HouseholdCells {
                        head_name: r.get(1)?,
                        phone: r.get(2)?,
                        address: r.get(3)?,
                        flags: text(r, 4)?,
                        phone_index: None,
                    },
                ))
            })?
            .collect()
        })
        .map_err(sql(op))?;
    let mut n = 0;
    {
        let mut up = tx
            .prepare(&format!(
                "UPDATE households SET head_name = ?2, phone = ?3, address = ?4, {flags_col} = ?5,
                 phone_index = ?6 WHERE fid = ?1"
            ))
            .map_err(sql(op))?;
        for (id, cells) in rows {
            let c = cells.reseal(from, to, id)?;
            up.execute(params![
                id,
                c.head_name,
                c.phone,
                c.address,
                c.flags,
                c.phone_index
            ])
            .map_err(sql(op))?;
            n += 1;
        }
    }
    let op = "re-seal people";
    let rows: Vec<(i64, PersonCells)> = tx
        .prepare("SELECT fid, name, phone FROM people")
        .and_then(|mut st| {
            st.query_map([], |r| {
                Ok((
                    r.get(0)?,
                    PersonCells {
                        name: r.get(1)?,
                        phone: r.get(2)?,
                        phone_index: None,
                    },
                ))
            })?
            .collect()
        })
        .map_err(sql(op))?;
    let mut up = tx
        .prepare("UPDATE people SET name = ?2, phone = ?3, phone_index = ?4 WHERE fid = ?1")
        .map_err(sql(op))?;
    for (id, cells) in rows {
        let c = cells.reseal(from, to, id)?;
        up.execute(params![id, c.name, c.phone, c.phone_index])
            .map_err(sql(op))?;
        n += 1;
    }
    Ok(n)
}

pub(super) fn insert_household(
    tx: &Connection,
    h: &Household,
    s: &Sealer,
    ext: &mut std::collections::HashMap<Layer, Extent>,
) -> Result<()> {
    let p = h.location;
    ext.entry(Layer::Households)
        .or_default()
        .add(Some([p.x(), p.x(), p.y(), p.y()]));
    let c = HouseholdCells::of(s, h);
    tx.prepare_cached(
        "INSERT OR REPLACE INTO households
         (fid, geom, region, size, care, flags, building, address, head_name, phone, estimated, phone_index)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )
    .and_then(|mut st| {
        st.execute(params![
            opt_id(h.id),
            blob::encode_point(p),
            h.region.map(code_str),
            h.size,
            h.care.0,
            c.flags,
            h.building,
            c.address,
            c.head_name,
            c.phone,
            h.estimated,
            c.phone_index
        ])
    })
    .map_err(sql("insert record"))?;
    Ok(())
}

pub(super) fn insert_person(
    tx: &Connection,
    p: &Person,
    s: &Sealer,
    ext: &mut std::collections::HashMap<Layer, Extent>,
) -> Result<()> {
    let pt = p.home;
    ext.entry(Layer::People)
        .or_default()
        .add(Some([pt.x(), pt.x(), pt.y(), pt.y()]));
    let roles: Vec<&str> = p.roles.iter().map(|r| r.as_str()).collect();
    let grids: Vec<&str> = p.grids.iter().map(GridCode::as_str).collect();
    let c = PersonCells::of(s, p);
    tx.prepare_cached(
        "INSERT OR REPLACE INTO people
         (fid, geom, region, name, phone, roles, team, skills, available, reserve, grids, phone_index,
          status, checkin_lon, checkin_lat)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
    )
    .and_then(|mut st| {
        st.execute(params![
            opt_id(p.id),
            blob::encode_point(pt),
            p.region.map(code_str),
            c.name,
            c.phone,
            roles.join(","),
            p.team,
            p.skills.join(";"),
            p.available(),
            p.reserve,
            grids.join(","),
            c.phone_index,
            p.status.as_str(),
            p.checkin.map(|c| c.x()),
            p.checkin.map(|c| c.y())
        ])
    })
    .map_err(sql("insert record"))?;
    Ok(())
}

/// Households (`WHERE` clause `filter`, one text parameter) with their
/// cells still sealed.
fn households_sealed(
    c: &Connection,
    filter: &str,
    arg: Option<&str>,
) -> Result<Vec<(Household, HouseholdCells)>> {
    let op = "load households";
    let mut st = c
        .prepare(&format!(
            "SELECT fid, geom, region, size, care, flags, building, address, head_name, phone,
             estimated FROM households {filter} ORDER BY fid"
        ))
        .map_err(sql(op))?;
    let mut rows = match arg {
        Some(a) => st.query([a]),
        None => st.query([]),
    }
    .map_err(sql(op))?;
    let mut out = vec![];
    while let Some(r) = rows.next().map_err(sql(op))? {
        let region: Option<String> = r.get(2).map_err(sql(op))?;
        let cells = HouseholdCells {
            flags: r.get(5).map_err(sql(op))?,
            address: r.get(7).map_err(sql(op))?,
            head_name: r.get(8).map_err(sql(op))?,
            phone: r.get(9).map_err(sql(op))?,
            phone_index: None,
        };
        let h = Household {
            id: r.get(0).map_err(sql(op))?,
            location: rows::point(geom_at(r, 1, op, "households.geom")?, "households.geom")?,
            region: opt_region_code(region.as_deref(), "households.region")?,
            size: r.get(3).map_err(sql(op))?,
            care: CareLevel(r.get(4).map_err(sql(op))?),
            flags: SensitiveFlags::default(),
            building: r.get(6).map_err(sql(op))?,
            address: String::new(),
            head_name: String::new(),
            phone: String::new(),
            estimated: r.get(10).map_err(sql(op))?,
        };
        out.push((h, cells));
    }
    Ok(out)
}

fn people_sealed(c: &Connection) -> Result<Vec<(Person, PersonCells)>> {
    let op = "load people";
    let mut st = c
        .prepare(
            "SELECT fid, geom, region, name, phone, roles, team, skills, available, reserve, grids,
             status, checkin_lon, checkin_lat FROM people ORDER BY fid",
        )
        .map_err(sql(op))?;
    let mut rows = st.query([]).map_err(sql(op))?;
    let mut out = vec![];
    while let Some(r) = rows.next().map_err(sql(op))? {
        let region: Option<String> = r.get(2).map_err(sql(op))?;
        let roles: String = r.get(5).map_err(sql(op))?;
        let skills: String = r.get(7).map_err(sql(op))?;
        let grids: String = r.get(10).map_err(sql(op))?;
        let status: Option<String> = r.get(11).map_err(sql(op))?;
        let lon: Option<f64> = r.get(12).map_err(sql(op))?;
        let lat: Option<f64> = r.get(13).map_err(sql(op))?;
        let checkin = lon.zip(lat).map(|(x, y)| geo_types::Point::new(x, y));
        let cells = PersonCells {
            name: r.get(3).map_err(sql(op))?,
            phone: r.get(4).map_err(sql(op))?,
            phone_index: None,
        };
        let p = Person {
            id: r.get(0).map_err(sql(op))?,
            home: rows::point(geom_at(r, 1, op, "people.geom")?, "people.geom")?,
            region: opt_region_code(region.as_deref(), "people.region")?,
            name: String::new(),
            phone: String::new(),
            roles: rows::roles(roles.split(',').filter(|s| !s.is_empty()))?,
            team: r.get(6).map_err(sql(op))?,
            skills: skills
                .split(';')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            status: rows::availability(status.as_deref(), r.get(8).map_err(sql(op))?)?,
            checkin,
            reserve: r.get(9).map_err(sql(op))?,
            grids: grids
                .split(',')
                .filter(|s| !s.is_empty())
                .map(|s| GridCode(s.to_string()))
                .collect(),
        };
        out.push((p, cells));
    }
    Ok(out)
}

/// Every household and person, opened.
pub(super) fn load(c: &Connection, s: &Sealer) -> Result<(Vec<Household>, Vec<Person>)> {
    let mut hs = households_sealed(c, "", None)?;
    let mut ps = people_sealed(c)?;
    personal::open_all(s, &mut hs, &mut ps)?;
    Ok((
        hs.into_iter().map(|(h, _)| h).collect(),
        ps.into_iter().map(|(p, _)| p).collect(),
    ))
}

/// The households with this phone, through the blind index.
pub(super) fn by_phone(c: &Connection, s: &Sealer, phone: &str) -> Result<Vec<Household>> {
    let Some(index) = s.phone_index(phone) else {
        return Ok(vec![]);
    };
    let mut hs = households_sealed(c, "WHERE phone_index = ?1", Some(&index))?;
    personal::open_all(s, &mut hs, &mut [])?;
    Ok(personal::same_phone(hs.into_iter().map(|(h, _)| h), phone))
}

#[cfg(test)]
mod test {
    use std::path::Path;
    use std::sync::Arc;

    use super::*;
    use crate::sealing::Key;
    use crate::store::gpkg::GeoPackage;
    use crate::store::{suite, Store, StoreError};

    /// What the sample holds that must never be stored in clear.
    const SECRETS: [&str; 5] = ["13812345678", "张三", "兴安路12号", "李四", "13900001111"];

    fn key() -> Arc<Sealer> {
        Arc::new(Sealer::new(&Key::generate().unwrap()))
    }

    fn with_sample(path: &Path, s: &Arc<Sealer>) -> GeoPackage {
        let g = GeoPackage::open_with(path, s.clone()).unwrap();
        g.import(&mut suite::sample().into_iter().map(Ok)).unwrap();
        g
    }

    fn assert_no_secret_in(path: &Path) {
        let bytes = std::fs::read(path).unwrap();
        for s in SECRETS {
            let needle = s.as_bytes();
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "{s} is in the file in clear"
            );
        }
    }

    #[test]
    fn stored_cells_are_sealed_and_the_file_holds_no_secret() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.gpkg");
        let s = key();
        let g = with_sample(&path, &s);
        let c = g.lock();
        let (name, phone, address, flags, index): (String, String, String, String, String) = c
            .query_row(
                "SELECT head_name, phone, address, flags, phone_index FROM households",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .unwrap();
        for v in [&name, &phone, &address, &flags] {
            assert!(crate::sealing::is_sealed(v), "{v}");
        }
        assert_eq!(Some(index), s.phone_index("13812345678"));
        let idx: i64 = c
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name LIKE '%phone_index'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(idx, 2, "households and people index their phones");
        drop(c);
        drop(g);
        assert_no_secret_in(&path);
        let back = GeoPackage::open_with(&path, s).unwrap().load().unwrap();
        assert_eq!(back.households[0].phone, "13812345678");
        assert_eq!(back.people[0].name, "李四");
    }

    #[test]
    fn a_wrong_key_is_refused_with_both_ids_and_nothing_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.gpkg");
        let (right, wrong) = (key(), key());
        drop(with_sample(&path, &right));
        let before = std::fs::read(&path).unwrap();
        let e = GeoPackage::open_with(&path, wrong.clone()).err().unwrap();
        assert!(matches!(e, StoreError::WrongKey { .. }), "{e}");
        let msg = e.to_string();
        assert!(
            msg.contains(right.key_id().as_str()) && msg.contains(wrong.key_id().as_str()),
            "{msg}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), before, "nothing written");
        let d = GeoPackage::open_with(&path, right).unwrap().load().unwrap();
        assert_eq!(d.households[0].head_name, "张三");
    }

    #[test]
    fn after_a_rotation_only_the_new_key_opens_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.gpkg");
        let (old, new) = (key(), key());
        let g = with_sample(&path, &old);
        let before = g.load().unwrap();
        assert_eq!(g.rotate_key(new.clone()).unwrap(), 2);
        drop(g);
        assert_no_secret_in(&path);
        let e = GeoPackage::open_with(&path, old).err().unwrap();
        assert!(matches!(e, StoreError::WrongKey { .. }), "{e}");
        let g = GeoPackage::open_with(&path, new).unwrap();
        assert_eq!(g.load().unwrap(), before);
        assert_eq!(g.households_by_phone("13812345678").unwrap().len(), 1);
    }

    #[test]
    fn a_handle_opened_before_a_rotation_cannot_write_with_the_old_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.gpkg");
        let old = key();
        let a = with_sample(&path, &old);
        let b = GeoPackage::open_with(&path, old.clone()).unwrap();
        a.rotate_key(key()).unwrap();
        let e = b
            .import(&mut suite::sample().into_iter().map(Ok))
            .unwrap_err();
        assert!(matches!(e, StoreError::WrongKey { .. }), "{e}");
        assert_eq!(a.load().unwrap().households.len(), 1, "nothing written");
    }

    #[test]
    fn a_failed_rotation_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.gpkg");
        let (old, new) = (key(), key());
        let g = with_sample(&path, &old);
        // A value that does not open stops the rotation half way.
        g.lock()
            .execute("UPDATE people SET phone = 'v1:00000000:AAAA'", [])
            .unwrap();
        let households: Vec<String> = g
            .lock()
            .prepare("SELECT phone FROM households")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert!(g.rotate_key(new).is_err());
        assert_eq!(g.key_id(), *old.key_id(), "still the old key");
        let after: String = g
            .lock()
            .query_row("SELECT phone FROM households", [], |r| r.get(0))
            .unwrap();
        assert_eq!(vec![after], households, "rolled back");
        drop(g);
        assert!(GeoPackage::open_with(&path, old).is_ok());
    }

    /// A file as wangge wrote it before sealing (schema version 2): plain
    /// values, integer flags, no blind index, no key id.
    fn legacy_file(path: &Path) {
        let c = Connection::open(path).unwrap();
        c.execute_batch(&format!(
            "PRAGMA application_id = {}; PRAGMA user_version = {};",
            super::super::APPLICATION_ID,
            super::super::USER_VERSION
        ))
        .unwrap();
        c.execute_batch(super::super::SCHEMA).unwrap();
        c.execute_batch(super::super::accounts::SCHEMA).unwrap();
        let pt = blob::encode_point(geo_types::point!(x: 109.01, y: 32.61));
        c.execute(
            "INSERT INTO households (fid, geom, region, size, care, flags, building, address, head_name, phone, estimated)
             VALUES (42, ?1, '610902001001', 4, 2, 3, NULL, '兴安路12号3栋501', '张三', '13812345678', 0)",
            [&pt],
        )
        .unwrap();
        c.execute(
            "INSERT INTO people (fid, geom, region, name, phone, roles, team, skills, available, reserve, grids)
             VALUES (5, ?1, '610902001001', '李四', '13900001111', 'volunteer', NULL, '', 1, 1, '')",
            [&pt],
        )
        .unwrap();
    }

    #[test]
    fn a_file_written_before_sealing_is_sealed_when_first_opened() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.gpkg");
        legacy_file(&path);
        let s = key();
        let g = GeoPackage::open_with(&path, s.clone()).unwrap();
        let d = g.load().unwrap();
        let h = &d.households[0];
        assert_eq!(
            (h.head_name.as_str(), h.phone.as_str(), h.address.as_str()),
            ("张三", "13812345678", "兴安路12号3栋501")
        );
        assert_eq!(h.flags, SensitiveFlags(3));
        assert_eq!(d.people[0].name, "李四");
        assert_eq!(g.households_by_phone("13812345678").unwrap().len(), 1);
        let version: String = g
            .lock()
            .query_row(
                "SELECT value FROM wangge_meta WHERE key = 'schema_version'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(version, "3");
        drop(g);
        // No plain value left in a free page either (secure_delete).
        assert_no_secret_in(&path);
        // Opened again: no second upgrade, the same values.
        let again = GeoPackage::open_with(&path, s).unwrap().load().unwrap();
        assert_eq!(again, d);
    }
}
