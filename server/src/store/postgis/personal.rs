//! Households and people in PostGIS, whose personal fields are sealed
//! ([`crate::sealing`]) with each phone's blind index in an indexed
//! `phone_index` column and the key's id in `wangge_meta` (migration
//! `0004_sealed.sql`, which seals a database's existing values in its own
//! transaction).

use deadpool_postgres::ClientWrapper;
use tokio_postgres::GenericClient;

use super::ewkb::{encode, Geom};
use super::load::{col, small};
use super::pg;
use crate::domain::{CareLevel, GridCode, Household, Person, SensitiveFlags};
use crate::sealing::Sealer;
use crate::store::personal::{self, HouseholdCells, PersonCells, KEY_ID};
use crate::store::rows::{self, code_str, opt_region_code, point};
use crate::store::Result;
use geo_types::Geometry;

/// The name of the migration that seals; [`super::migrations`] runs
/// [`seal_existing`] after its SQL.
pub(super) const SEALED_MIGRATION: &str = "personal fields sealed";

/// Rows re-sealed per statement.
const CHUNK: usize = 5000;

/// The key id the database records, when it records one (the meta table
/// is looked up in the store's own schema only).
pub(super) async fn stored_key<C: GenericClient>(c: &C) -> Result<Option<String>> {
    let op = "read the key id";
    let has = c
        .query_one(
            "SELECT to_regclass(quote_ident(current_schema()) || '.wangge_meta') IS NOT NULL",
            &[],
        )
        .await
        .map_err(pg(op))?
        .get::<_, bool>(0);
    if !has {
        return Ok(None);
    }
    Ok(
        c.query_opt("SELECT value FROM wangge_meta WHERE key = $1", &[&KEY_ID])
            .await
            .map_err(pg(op))?
            .map(|r| r.get(0)),
    )
}

/// Fails when the database is sealed with another key than `s`.
pub(super) async fn check_key<C: GenericClient>(c: &C, s: &Sealer) -> Result<()> {
    match stored_key(c).await? {
        Some(k) if k != s.key_id().as_str() => Err(personal::wrong_key(&k, s)),
        _ => Ok(()),
    }
}

async fn set_key<C: GenericClient>(c: &C, s: &Sealer) -> Result<()> {
    c.execute(
        "INSERT INTO wangge_meta (key, value) VALUES ($1, $2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        &[&KEY_ID, &s.key_id().as_str()],
    )
    .await
    .map_err(pg("record the key id"))?;
    Ok(())
}

/// The sealing migration's own step: the values written before it are
/// plain text; seal them with `s` and record its id.
pub(super) async fn seal_existing<C: GenericClient>(c: &C, s: &Sealer) -> Result<()> {
    reseal(c, None, s).await?;
    set_key(c, s).await
}

/// Re-seals everything with `to` and records its id; the caller holds the
/// write lock and commits.
pub(super) async fn rotate<C: GenericClient>(c: &C, from: &Sealer, to: &Sealer) -> Result<u64> {
    check_key(c, from).await?;
    let n = reseal(c, Some(from), to).await?;
    set_key(c, to).await?;
    Ok(n)
}

/// Re-seals every personal cell (`from` `None`: they are plain text).
async fn reseal<C: GenericClient>(c: &C, from: Option<&Sealer>, to: &Sealer) -> Result<u64> {
    let op = "re-seal households";
    let rows = c
        .query(
            "SELECT fid, head_name, phone, address, flags FROM households",
            &[],
        )
        .await
        .map_err(pg(op))?;
    let mut n = 0;
    for chunk in rows.chunks(CHUNK) {
        let mut cols: [Vec<String>; 4] = Default::default();
        let mut ids = vec![];
        let mut index = vec![];
        for r in chunk {
            let id: i64 = col(r, 0, "households.fid")?;
            let cells = HouseholdCells {
                head_name: col(r, 1, "households.head_name")?,
                phone: col(r, 2, "households.phone")?,
                address: col(r, 3, "households.address")?,
                flags: col(r, 4, "households.flags")?,
                phone_index: None,
            }
            .reseal(from, to, id)?;
            ids.push(id);
            cols[0].push(cells.head_name);
            cols[1].push(cells.phone);
            cols[2].push(cells.address);
            cols[3].push(cells.flags);
            index.push(cells.phone_index);
        }
        c.execute(
            "UPDATE households h SET head_name = u.head_name, phone = u.phone,
               address = u.address, flags = u.flags, phone_index = u.phone_index
             FROM unnest($1::int8[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
               AS u(fid, head_name, phone, address, flags, phone_index)
             WHERE h.fid = u.fid",
            &[&ids, &cols[0], &cols[1], &cols[2], &cols[3], &index],
        )
        .await
        .map_err(pg(op))?;
        n += ids.len() as u64;
    }
    let op = "re-seal people";
    let rows = c
        .query("SELECT fid, name, phone FROM people", &[])
        .await
        .map_err(pg(op))?;
    for chunk in rows.chunks(CHUNK) {
        let (mut ids, mut names, mut phones, mut index) = (vec![], vec![], vec![], vec![]);
        for r in chunk {
            let id: i64 = col(r, 0, "people.fid")?;
            let cells = PersonCells {
                name: col(r, 1, "people.name")?,
                phone: col(r, 2, "people.phone")?,
                phone_index: None,
            }
            .reseal(from, to, id)?;
            ids.push(id);
            names.push(cells.name);
            phones.push(cells.phone);
            index.push(cells.phone_index);
        }
        c.execute(
            "UPDATE people p SET name = u.name, phone = u.phone, phone_index = u.phone_index
             FROM unnest($1::int8[], $2::text[], $3::text[], $4::text[])
               AS u(fid, name, phone, phone_index)
             WHERE p.fid = u.fid",
            &[&ids, &names, &phones, &index],
        )
        .await
        .map_err(pg(op))?;
        n += ids.len() as u64;
    }
    Ok(n)
}

pub(super) async fn insert_household(
    c: &ClientWrapper,
    h: &Household,
    s: &Sealer,
) -> std::result::Result<u64, tokio_postgres::Error> {
    let cells = HouseholdCells::of(s, h);
    let g = encode(&Geometry::Point(h.location));
    let st = c
        .prepare_cached(
        "INSERT INTO households
         (fid, geom, region, size, care, flags, building, address, head_name, phone, estimated, phone_index)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         ON CONFLICT (fid) DO UPDATE SET geom = excluded.geom, region = excluded.region,
           size = excluded.size, care = excluded.care, flags = excluded.flags,
           building = excluded.building, address = excluded.address,
           head_name = excluded.head_name, phone = excluded.phone, estimated = excluded.estimated,
           phone_index = excluded.phone_index",
        )
        .await?;
    c.execute(
        &st,
        &[
            &h.id,
            &g,
            &h.region.map(code_str),
            &i32::from(h.size),
            &i32::from(h.care.0),
            &cells.flags,
            &h.building,
            &cells.address,
            &cells.head_name,
            &cells.phone,
            &h.estimated,
            &cells.phone_index,
        ],
    )
    .await
}

pub(super) async fn insert_person(
    c: &ClientWrapper,
    p: &Person,
    s: &Sealer,
) -> std::result::Result<u64, tokio_postgres::Error> {
    let cells = PersonCells::of(s, p);
    let g = encode(&Geometry::Point(p.home));
    let roles: Vec<&str> = p.roles.iter().map(|r| r.as_str()).collect();
    let grids: Vec<&str> = p.grids.iter().map(GridCode::as_str).collect();
    let checkin = p.checkin.map(|c| encode(&Geometry::Point(c)));
    let st = c
        .prepare_cached(
        "INSERT INTO people
         (fid, geom, region, name, phone, roles, team, skills, available, reserve, grids, phone_index,
          status, checkin)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
         ON CONFLICT (fid) DO UPDATE SET geom = excluded.geom, region = excluded.region,
           name = excluded.name, phone = excluded.phone, roles = excluded.roles,
           team = excluded.team, skills = excluded.skills, available = excluded.available,
           reserve = excluded.reserve, grids = excluded.grids, phone_index = excluded.phone_index,
           status = excluded.status, checkin = excluded.checkin",
        )
        .await?;
    c.execute(
        &st,
        &[
            &p.id,
            &g,
            &p.region.map(code_str),
            &cells.name,
            &cells.phone,
            &roles,
            &p.team,
            &p.skills,
            &p.available(),
            &p.reserve,
            &grids,
            &cells.phone_index,
            &p.status.as_str(),
            &checkin,
        ],
    )
    .await
}

const HOUSEHOLD_COLS: &str =
    "fid, geom, region, size, care, flags, building, address, head_name, phone, estimated";

fn household_row(r: &tokio_postgres::Row) -> Result<(Household, HouseholdCells)> {
    let region: Option<String> = col(r, 2, "households.region")?;
    let cells = HouseholdCells {
        flags: col(r, 5, "households.flags")?,
        address: col(r, 7, "households.address")?,
        head_name: col(r, 8, "households.head_name")?,
        phone: col(r, 9, "households.phone")?,
        phone_index: None,
    };
    let h = Household {
        id: col(r, 0, "households.fid")?,
        location: point(col::<Geom>(r, 1, "households.geom")?.0, "households.geom")?,
        region: opt_region_code(region.as_deref(), "households.region")?,
        size: small(col(r, 3, "households.size")?, "households.size")?,
        care: CareLevel(small(col(r, 4, "households.care")?, "households.care")?),
        flags: SensitiveFlags::default(),
        building: col(r, 6, "households.building")?,
        address: String::new(),
        head_name: String::new(),
        phone: String::new(),
        estimated: col(r, 10, "households.estimated")?,
    };
    Ok((h, cells))
}

fn person_row(r: &tokio_postgres::Row) -> Result<(Person, PersonCells)> {
    let region: Option<String> = col(r, 2, "people.region")?;
    let roles: Vec<String> = col(r, 5, "people.roles")?;
    let grids: Vec<String> = col(r, 10, "people.grids")?;
    let cells = PersonCells {
        name: col(r, 3, "people.name")?,
        phone: col(r, 4, "people.phone")?,
        phone_index: None,
    };
    let p = Person {
        id: col(r, 0, "people.fid")?,
        home: point(col::<Geom>(r, 1, "people.geom")?.0, "people.geom")?,
        region: opt_region_code(region.as_deref(), "people.region")?,
        name: String::new(),
        phone: String::new(),
        roles: rows::roles(roles.iter().map(String::as_str))?,
        team: col(r, 6, "people.team")?,
        skills: col(r, 7, "people.skills")?,
        status: rows::availability(
            col::<Option<String>>(r, 11, "people.status")?.as_deref(),
            col(r, 8, "people.available")?,
        )?,
        checkin: col::<Option<Geom>>(r, 12, "people.checkin")?
            .map(|g| point(g.0, "people.checkin"))
            .transpose()?,
        reserve: col(r, 9, "people.reserve")?,
        grids: grids.into_iter().map(GridCode).collect(),
    };
    Ok((p, cells))
}

/// Every household and person, opened.
pub(super) async fn load<C: GenericClient>(
    c: &C,
    s: &Sealer,
) -> Result<(Vec<Household>, Vec<Person>)> {
    let op = "load";
    let mut hs = c
        .query(
            &format!("SELECT {HOUSEHOLD_COLS} FROM households ORDER BY fid"),
            &[],
        )
        .await
        .map_err(pg(op))?
        .iter()
        .map(household_row)
        .collect::<Result<Vec<_>>>()?;
    let mut ps = c
        .query(
            "SELECT fid, geom, region, name, phone, roles, team, skills, available, reserve, grids,
             status, checkin FROM people ORDER BY fid",
            &[],
        )
        .await
        .map_err(pg(op))?
        .iter()
        .map(person_row)
        .collect::<Result<Vec<_>>>()?;
    personal::open_all(s, &mut hs, &mut ps)?;
    Ok((
        hs.into_iter().map(|(h, _)| h).collect(),
        ps.into_iter().map(|(p, _)| p).collect(),
    ))
}

/// The households with this phone, through the blind index.
pub(super) async fn by_phone<C: GenericClient>(
    c: &C,
    s: &Sealer,
    phone: &str,
) -> Result<Vec<Household>> {
    let Some(index) = s.phone_index(phone) else {
        return Ok(vec![]);
    };
    let mut hs = c
        .query(
            &format!("SELECT {HOUSEHOLD_COLS} FROM households WHERE phone_index = $1 ORDER BY fid"),
            &[&index],
        )
        .await
        .map_err(pg("find households by phone"))?
        .iter()
        .map(household_row)
        .collect::<Result<Vec<_>>>()?;
    personal::open_all(s, &mut hs, &mut [])?;
    Ok(personal::same_phone(hs.into_iter().map(|(h, _)| h), phone))
}

#[cfg(test)]
mod test {
    use std::sync::Arc;

    use super::super::{split_schema, testdb, PostGis, MIGRATIONS};
    use super::*;
    use crate::sealing::{is_sealed, Key};
    use crate::store::{suite, Store, StoreError};

    fn key() -> Arc<Sealer> {
        Arc::new(Sealer::new(&Key::generate().unwrap()))
    }

    /// Runs `sql` on the schema of `url` with a connection of its own.
    fn raw(url: &str, sql: &str) -> Vec<tokio_postgres::Row> {
        let (base, schema) = split_schema(url).unwrap();
        let schema = schema.unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let (c, conn) = tokio_postgres::connect(&base, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(conn);
            c.batch_execute(&format!(
                "CREATE SCHEMA IF NOT EXISTS {schema}; SET search_path = {schema}, public"
            ))
            .await
            .unwrap();
            // Parts split by ";;": scripts run as batches, the last part
            // is a query whose rows come back.
            let parts: Vec<&str> = sql.split(";;").collect();
            let (last, scripts) = parts.split_last().unwrap();
            for part in scripts {
                c.batch_execute(part)
                    .await
                    .unwrap_or_else(|e| panic!("{part}: {e:?}"));
            }
            c.query(*last, &[])
                .await
                .unwrap_or_else(|e| panic!("{last}: {e:?}"))
        })
    }

    fn cells(url: &str) -> (String, String, String, String, Option<String>) {
        let r = &raw(
            url,
            "SELECT head_name, phone, address, flags, phone_index FROM households",
        )[0];
        (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4))
    }

    #[test]
    fn stored_cells_are_sealed_and_indexed() {
        let url = testdb::fresh_url("cells");
        let s = key();
        let pg = PostGis::open_with(&url, s.clone()).unwrap();
        pg.import(&mut suite::sample().into_iter().map(Ok)).unwrap();
        let (name, phone, address, flags, index) = cells(&url);
        for v in [&name, &phone, &address, &flags] {
            assert!(is_sealed(v), "{v}");
        }
        assert_eq!(index, s.phone_index("13812345678"));
        let r = &raw(&url, "SELECT name, phone FROM people")[0];
        assert!(is_sealed(&r.get::<_, String>(0)) && is_sealed(&r.get::<_, String>(1)));
        let idx = raw(
            &url,
            "SELECT count(*) FROM pg_indexes WHERE schemaname = current_schema() AND indexname LIKE '%phone_index'",
        );
        assert_eq!(idx[0].get::<_, i64>(0), 2);
    }

    #[test]
    fn a_wrong_key_is_refused_before_any_change_and_a_rotation_moves_to_the_new_key() {
        let url = testdb::fresh_url("key");
        let (old, new, wrong) = (key(), key(), key());
        let pg = PostGis::open_with(&url, old.clone()).unwrap();
        pg.import(&mut suite::sample().into_iter().map(Ok)).unwrap();
        let before = pg.load().unwrap();
        let stored = cells(&url);
        let e = PostGis::open_with(&url, wrong.clone()).err().unwrap();
        assert!(matches!(e, StoreError::WrongKey { .. }), "{e}");
        let msg = e.to_string();
        assert!(msg.contains(old.key_id().as_str()) && msg.contains(wrong.key_id().as_str()));
        assert_eq!(cells(&url), stored, "nothing changed");

        assert_eq!(pg.rotate_key(new.clone()).unwrap(), 2);
        drop(pg);
        let e = PostGis::open_with(&url, old).err().unwrap();
        assert!(matches!(e, StoreError::WrongKey { .. }), "{e}");
        let pg = PostGis::open_with(&url, new).unwrap();
        assert_eq!(pg.load().unwrap(), before);
        assert_eq!(pg.households_by_phone("13812345678").unwrap().len(), 1);
        assert_ne!(cells(&url).1, stored.1);
    }

    #[test]
    fn a_database_written_before_sealing_is_sealed_by_its_migration() {
        use std::fmt::Write;
        let url = testdb::fresh_url("legacy");
        // The schema as migrations 1 and 2 left it, with plain values.
        let mut sql = String::from(
            "CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL,
               applied_at timestamptz NOT NULL DEFAULT now())",
        );
        for (v, name, script) in &MIGRATIONS[..2] {
            sql += ";;";
            sql += script;
            let _ = write!(
                sql,
                ";;INSERT INTO schema_migrations (version, name) VALUES ({v}, '{name}')"
            );
        }
        sql += ";;INSERT INTO households VALUES (42, ST_SetSRID(ST_MakePoint(109.01, 32.61), 4326),
              '610902001001', 4, 2, 3, NULL, '兴安路12号3栋501', '张三', '13812345678', false)";
        sql += ";;INSERT INTO people VALUES (5, ST_SetSRID(ST_MakePoint(109.02, 32.62), 4326),
              '610902001001', '李四', '13900001111', ARRAY['volunteer'], NULL, ARRAY[]::text[],
              true, true, ARRAY[]::text[])";
        sql += ";;SELECT 1";
        raw(&url, &sql);
        let s = key();
        let pg = PostGis::open_with(&url, s.clone()).unwrap();
        let d = pg.load().unwrap();
        let h = &d.households[0];
        assert_eq!(
            (
                h.head_name.as_str(),
                h.phone.as_str(),
                h.address.as_str(),
                h.flags.0
            ),
            ("张三", "13812345678", "兴安路12号3栋501", 3)
        );
        assert_eq!(d.people[0].name, "李四");
        assert_eq!(pg.households_by_phone("13812345678").unwrap().len(), 1);
        let (name, phone, _, flags, index) = cells(&url);
        assert!(is_sealed(&name) && is_sealed(&phone) && is_sealed(&flags));
        assert_eq!(index, s.phone_index("13812345678"));
        assert_eq!(pg.migrations().unwrap().len(), MIGRATIONS.len());
    }
}
