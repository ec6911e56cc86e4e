//! Plan versions: reading one with its labels and codes, writing one.

use deadpool_postgres::ClientWrapper;
use tokio_postgres::Row;

use super::load::{col, small};
use super::pg;
use crate::domain::{GridCode, GridLabel, Plan, PlanVersion};
use crate::store::rows::{code_str, corrupt, push_grid_code, region_code};
use crate::store::{Result, StoreError};

/// A `plan_versions` row as `sql/plan_version*.sql` select it.
pub(super) fn to_version(r: &Row) -> Result<PlanVersion> {
    let region: String = col(r, 1, "plan_versions.region")?;
    let number: i32 = col(r, 2, "plan_versions.number")?;
    Ok(PlanVersion {
        id: col(r, 0, "plan_versions.id")?,
        region: region_code(&region, "plan_versions.region")?,
        number: small(number, "plan_versions.number")?,
        parent: col(r, 3, "plan_versions.parent")?,
        author: col(r, 4, "plan_versions.author")?,
        created_at: col(r, 5, "plan_versions.created_at")?,
        message: col(r, 6, "plan_versions.message")?,
        published: col(r, 7, "plan_versions.published")?,
    })
}

pub(super) async fn load_plan(c: &ClientWrapper, id: i64) -> Result<Option<Plan>> {
    let op = "load plan";
    let Some(v) = c
        .query_opt(include_str!("sql/plan_version.sql"), &[&id])
        .await
        .map_err(pg(op))?
    else {
        return Ok(None);
    };
    let version = to_version(&v)?;
    let mut atoms = vec![];
    let mut labels = vec![];
    let rows = c
        .query(include_str!("sql/plan_labels.sql"), &[&id])
        .await
        .map_err(pg(op))?;
    for r in &rows {
        let atom: i64 = col(r, 0, "plan_labels.atom")?;
        atoms.push(u32::try_from(atom).map_err(|_| corrupt("plan_labels.atom", atom))?);
        let l = |i| -> Result<u32> {
            let v: i32 = col(r, i, "plan_labels.label")?;
            small(v, "plan_labels.label")
        };
        labels.push(GridLabel([l(1)?, l(2)?, l(3)?]));
    }
    let mut codes: [Vec<GridCode>; 3] = Default::default();
    let rows = c
        .query(include_str!("sql/plan_grids.sql"), &[&id])
        .await
        .map_err(pg(op))?;
    for r in &rows {
        let level: i16 = col(r, 0, "plan_grids.level")?;
        let grid: i32 = col(r, 1, "plan_grids.grid")?;
        let code = col(r, 2, "plan_grids.code")?;
        push_grid_code(&mut codes, level.into(), grid.into(), code)?;
    }
    Ok(Some(Plan {
        version,
        atoms,
        labels,
        codes,
    }))
}

/// Writes a plan version with its labels and codes. `id` keeps a given id
/// (a copy); otherwise the identity assigns one, the number is the
/// region's next and the save's change row is appended.
pub(super) async fn save_plan_in(
    c: &ClientWrapper,
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
    let v = &plan.version;
    let region = code_str(v.region);
    let (id, number) = if keep {
        let row = c
            .query_one(
                include_str!("sql/insert_plan_version_as_is.sql"),
                &[
                    &v.id,
                    &region,
                    &(v.number as i32),
                    &v.parent,
                    &v.author,
                    &v.created_at,
                    &v.message,
                    &v.published,
                ],
            )
            .await
            .map_err(pg("insert plan version"))?;
        (row.get::<_, i64>(0), row.get::<_, i32>(1))
    } else {
        let row = c
            .query_one(
                include_str!("sql/insert_plan_version.sql"),
                &[
                    &region,
                    &v.parent,
                    &v.author,
                    &v.created_at,
                    &v.message,
                    &v.published,
                ],
            )
            .await
            .map_err(pg("insert plan version"))?;
        (row.get::<_, i64>(0), row.get::<_, i32>(1))
    };
    let atoms: Vec<i64> = plan.atoms.iter().map(|&a| i64::from(a)).collect();
    let l = |k: usize| -> Vec<i32> { plan.labels.iter().map(|g| g.0[k] as i32).collect() };
    c.execute(
        include_str!("sql/insert_plan_labels.sql"),
        &[&id, &atoms, &l(0), &l(1), &l(2)],
    )
    .await
    .map_err(pg("insert plan labels"))?;
    let mut levels: Vec<i16> = vec![];
    let mut grids: Vec<i32> = vec![];
    let mut codes: Vec<&str> = vec![];
    for (li, cs) in plan.codes.iter().enumerate() {
        for (g, code) in cs.iter().enumerate() {
            levels.push(li as i16 + 1);
            grids.push(g as i32);
            codes.push(code.as_str());
        }
    }
    c.execute(
        include_str!("sql/insert_plan_grids.sql"),
        &[&id, &levels, &grids, &codes],
    )
    .await
    .map_err(pg("insert plan grids"))?;
    let saved = PlanVersion {
        id,
        number: number as u32,
        ..plan.version.clone()
    };
    // A copy logs the plan versions once, as an import (see `restore`).
    if !keep {
        super::changes::append(c, &crate::store::changes::plan_saved(&saved)).await?;
    }
    Ok(saved)
}
