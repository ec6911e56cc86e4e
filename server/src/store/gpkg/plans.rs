//! Plan versions: reading one with its labels and codes, writing one.

use rusqlite::{params, Connection, OptionalExtension};

use super::sql;
use crate::domain::{GridCode, GridLabel, Plan, PlanVersion};
use crate::store::rows::{code_str, push_grid_code, region_code};
use crate::store::{Result, StoreError};

/// A `plan_versions` row as [`VERSION_COLS`] select it.
pub(super) fn version_row(
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

pub(super) fn to_version(
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

pub(super) const VERSION_COLS: &str =
    "id, region, number, parent, author, created_at, message, published";

pub(super) fn load_plan(c: &Connection, id: i64) -> Result<Option<Plan>> {
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
        let code: String = r.get(2).map_err(sql(op))?;
        push_grid_code(&mut codes, level, grid, code)?;
    }
    Ok(Some(Plan {
        version,
        atoms,
        labels,
        codes,
    }))
}

/// Writes a plan version with its labels and codes: a new id and the
/// region's next number, with its change row, or (`keep`, a copy) the
/// plan's own id and number.
pub(super) fn save_plan_in(
    tx: &rusqlite::Transaction<'_>,
    plan: &Plan,
    keep: bool,
) -> Result<PlanVersion> {
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
    let saved = PlanVersion {
        id,
        number,
        ..plan.version.clone()
    };
    // A copy logs the plan versions once, as an import (see `restore`).
    if !keep {
        super::changes::append(tx, &crate::store::changes::plan_saved(&saved))?;
    }
    Ok(saved)
}
