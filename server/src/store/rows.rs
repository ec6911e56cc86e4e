//! Row → domain mapping both stores share. Each backend reads its columns
//! its own way (SQLite values, PostgreSQL types, GeoPackage blobs or EWKB)
//! and hands the values here, where they are checked and turned into
//! domain records: a bad value is [`StoreError::Corrupt`] naming its column,
//! whichever store it came from.

use geo_types::{Geometry, LineString, MultiPolygon, Point};

use super::{Result, StoreError};
use crate::domain::{
    Atom, AtomId, AtomKind, Availability, Building, Grade, GridCode, ImportedGrid, Level, Region,
    RegionCode, Road, RoadClass, Role, Water, WaterKind,
};

/// A stored value that does not make a domain value, with its column.
// Reasons are small values read once; taking them by value keeps calls short.
#[allow(clippy::needless_pass_by_value)]
pub(crate) fn corrupt(what: impl Into<String>, reason: impl ToString) -> StoreError {
    StoreError::Corrupt {
        what: what.into(),
        reason: reason.to_string(),
    }
}

pub(crate) fn code_str(c: RegionCode) -> String {
    c.to_string()
}

pub(crate) fn region_code(s: &str, what: &str) -> Result<RegionCode> {
    s.parse().map_err(|e| corrupt(what, e))
}

pub(crate) fn multipolygon(g: Geometry<f64>, what: &str) -> Result<MultiPolygon<f64>> {
    match g {
        Geometry::MultiPolygon(m) => Ok(m),
        Geometry::Polygon(p) => Ok(MultiPolygon(vec![p])),
        other => Err(corrupt(
            what,
            format!("expected a polygon, found {other:?}")
                .chars()
                .take(80)
                .collect::<String>(),
        )),
    }
}

// By value like its siblings, which move the geometry out.
#[allow(clippy::needless_pass_by_value)]
pub(crate) fn point(g: Geometry<f64>, what: &str) -> Result<Point<f64>> {
    match g {
        Geometry::Point(p) => Ok(p),
        _ => Err(corrupt(what, "expected a point")),
    }
}

pub(crate) fn linestring(g: Geometry<f64>, what: &str) -> Result<LineString<f64>> {
    match g {
        Geometry::LineString(l) => Ok(l),
        _ => Err(corrupt(what, "expected a linestring")),
    }
}

/// An optional region code column.
pub(crate) fn opt_region_code(s: Option<&str>, what: &str) -> Result<Option<RegionCode>> {
    s.map(|s| region_code(s, what)).transpose()
}

/// The `people.roles` words, each a [`Role`].
pub(crate) fn roles<'a>(words: impl IntoIterator<Item = &'a str>) -> Result<Vec<Role>> {
    words
        .into_iter()
        .map(|s| Role::parse(s).ok_or_else(|| corrupt("people.roles", s)))
        .collect()
}

/// A volunteer's status from `people.status`, or from `available` in
/// rows written before there was a status (`NULL`).
pub(crate) fn availability(status: Option<&str>, available: bool) -> Result<Availability> {
    status.map_or(Ok(Availability::from_available(available)), |s| {
        Availability::parse(s).ok_or_else(|| corrupt("people.status", s))
    })
}

/// The `water.kind` column's word for a kind.
pub(crate) fn water_kind_str(k: WaterKind) -> &'static str {
    match k {
        WaterKind::River => "river",
        WaterKind::Area => "area",
    }
}

/// A `regions` row: geom, code, name, parent.
pub(crate) fn region(
    boundary: Geometry<f64>,
    code: &str,
    name: String,
    parent: Option<&str>,
) -> Result<Region> {
    Ok(Region {
        code: region_code(code, "regions.code")?,
        name,
        parent: opt_region_code(parent, "regions.parent")?,
        boundary: multipolygon(boundary, "regions.geom")?,
    })
}

/// An `atoms` row: geom, region, atom_id, kind.
pub(crate) fn atom(geometry: Geometry<f64>, region: &str, id: AtomId, kind: &str) -> Result<Atom> {
    Ok(Atom {
        id,
        region: region_code(region, "atoms.region")?,
        kind: AtomKind::parse(kind).ok_or_else(|| corrupt("atoms.kind", kind))?,
        geometry: multipolygon(geometry, "atoms.geom")?,
    })
}

/// A `roads` row: fid, geom, class, name, grade.
pub(crate) fn road(
    id: i64,
    geometry: Geometry<f64>,
    class: &str,
    name: String,
    grade: &str,
) -> Result<Road> {
    Ok(Road {
        id,
        geometry: linestring(geometry, "roads.geom")?,
        class: RoadClass::parse(class).ok_or_else(|| corrupt("roads.class", class))?,
        name,
        grade: Grade::parse(grade).ok_or_else(|| corrupt("roads.grade", grade))?,
    })
}

/// A `buildings` row: fid, geom, levels, height_m, kind.
pub(crate) fn building(
    id: i64,
    geometry: Geometry<f64>,
    levels: Option<u16>,
    height_m: Option<f64>,
    kind: String,
) -> Result<Building> {
    Ok(Building {
        id,
        geometry: multipolygon(geometry, "buildings.geom")?,
        levels,
        height_m,
        kind,
    })
}

/// A `water` row: fid, geom, kind, name.
pub(crate) fn water(id: i64, geometry: Geometry<f64>, kind: &str, name: String) -> Result<Water> {
    Ok(Water {
        id,
        geometry,
        kind: match kind {
            "river" => WaterKind::River,
            "area" => WaterKind::Area,
            _ => return Err(corrupt("water.kind", kind)),
        },
        name,
    })
}

/// The text columns of a `grids` row: region, code, name, parent.
pub(crate) struct GridText {
    pub region: String,
    pub code: String,
    pub name: String,
    pub parent: Option<String>,
}

/// A `grids` row: fid, geom, level and the text columns.
pub(crate) fn grid(
    id: i64,
    geometry: Geometry<f64>,
    level: i64,
    t: GridText,
) -> Result<ImportedGrid> {
    Ok(ImportedGrid {
        id,
        geometry: multipolygon(geometry, "grids.geom")?,
        region: region_code(&t.region, "grids.region")?,
        level: u8::try_from(level)
            .ok()
            .and_then(Level::new)
            .ok_or_else(|| corrupt("grids.level", level))?,
        code: GridCode(t.code),
        name: t.name,
        parent: t.parent.map(GridCode),
    })
}

/// Appends a `plan_grids` row (level 1–3, grid ids dense from 0 per level)
/// to the plan's codes.
pub(crate) fn push_grid_code(
    codes: &mut [Vec<GridCode>; 3],
    level: i64,
    grid: i64,
    code: String,
) -> Result<()> {
    let v = usize::try_from(level - 1)
        .ok()
        .and_then(|l| codes.get_mut(l))
        .ok_or_else(|| corrupt("plan_grids.level", level))?;
    if usize::try_from(grid).ok() != Some(v.len()) {
        return Err(corrupt(
            "plan_grids.grid",
            format!("grid ids of level {level} are not dense at {grid}"),
        ));
    }
    v.push(GridCode(code));
    Ok(())
}
