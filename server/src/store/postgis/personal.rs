//! Households and people in PostGIS, whose personal fields are sealed
//! ([`crate::sealing`]) with each phone's blind index in an indexed
//! `phone_index` column and the key's id in `wangge_meta` (migration
//! `0003_sealed.sql`, which seals a database's existing values in its own
//! transaction).

use deadpool_postgres::ClientWrapper;
use tokio_postgres::GenericClient;

use super::{code_str, col, corrupt, encode, pg, point, region_code, small, Geom};
use crate::domain::{CareLevel, GridCode, Household, Person, Role, SensitiveFlags};
use crate::sealing::Sealer;
use crate::store::personal::{self, HouseholdCells, PersonCells, KEY_ID};
use crate::store::Result;
use geo_types::Geometry;

/// The name of the migration that seals; [`super::migrate`] runs
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
    Ok(c.query_opt("SELECT value FROM wangge_meta WHERE key = $1", &[&KEY_ID])
        .await
        .map_err(pg(op))?
        .map(|r| r.get(0)))
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
    let st = c
        .prepare_cached(
        "INSERT INTO people
         (fid, geom, region, name, phone, roles, team, skills, available, reserve, grids, phone_index)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         ON CONFLICT (fid) DO UPDATE SET geom = excluded.geom, region = excluded.region,
           name = excluded.name, phone = excluded.phone, roles = excluded.roles,
           team = excluded.team, skills = excluded.skills, available = excluded.available,
           reserve = excluded.reserve, grids = excluded.grids, phone_index = excluded.phone_index",
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
            &p.available,
            &p.reserve,
            &grids,
            &cells.phone_index,
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
        region: region
            .as_deref()
            .map(|s| region_code(s, "households.region"))
            .transpose()?,
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
        region: region
            .as_deref()
            .map(|s| region_code(s, "people.region"))
            .transpose()?,
        name: String::new(),
        phone: String::new(),
        roles: roles
            .iter()
            .map(|s| Role::parse(s).ok_or_else(|| corrupt("people.roles", s)))
            .collect::<Result<_>>()?,
        team: col(r, 6, "people.team")?,
        skills: col(r, 7, "people.skills")?,
        available: col(r, 8, "people.available")?,
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
        .query("SELECT fid, geom, region, name, phone, roles, team, skills, available, reserve, grids FROM people ORDER BY fid", &[])
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
