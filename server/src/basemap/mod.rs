//! The basemap as planners keep it: buildings and roads created, changed
//! and deleted one by one over HTTP (issue 20: "planner writes ground").
//! This module holds the rules of such a write, with no I/O: who may
//! write, what a valid feature is ([`shape`]), which leaf regions it lies
//! in (all of them must be in the writer's scope, before and after), and
//! which region its change row names. The store applies the write
//! ([`crate::store::Store::write_record`]); the snapshot follows
//! ([`crate::snapshot::Snapshot::with_building`],
//! [`crate::snapshot::Snapshot::with_road`]).
//!
//! Buildings and roads carry no region: they are placed by where they
//! lie. A feature that meets no region of the deployment is refused
//! (`outside_regions`): that is where swapped or far-off coordinates end.

pub mod shape;

use geo::{BoundingRect, Intersects};
use geo_types::{Geometry, Point};
use serde::Deserialize;
use serde_json::Value;

use crate::access::{Caller, Role, Scope};
use crate::domain::{Building, Grade, Layer, RegionCode, Road, RoadClass};
use crate::snapshot::Snapshot;

/// Why a basemap write is refused. Each has a stable code for clients.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BasemapError {
    /// The role writes no buildings or roads (office, emergency, viewer).
    #[error("role {0} may not write buildings or roads; planner and admin may")]
    Role(&'static str),
    /// The feature lies, or would lie, in a region outside the writer's scope.
    #[error("outside your scope: {0}")]
    OutOfScope(String),
    #[error("{0} {1} not found")]
    NotFound(Layer, i64),
    /// A field or the geometry is wrong; nothing was stored.
    #[error("{detail}")]
    Invalid {
        code: &'static str,
        detail: String,
        /// Where in the geometry (`{polygon, ring, vertex}`), when known.
        at: Value,
    },
}

fn invalid(code: &'static str, detail: impl Into<String>) -> BasemapError {
    BasemapError::Invalid {
        code,
        detail: detail.into(),
        at: Value::Null,
    }
}

impl From<shape::Fault> for BasemapError {
    fn from(f: shape::Fault) -> Self {
        Self::Invalid {
            code: f.code,
            detail: f.detail,
            at: f.at,
        }
    }
}

/// Planners and admins write the basemap; everyone else is refused.
pub fn may_write(caller: &Caller) -> Result<(), BasemapError> {
    match caller.role {
        Role::Admin | Role::Planner => Ok(()),
        r => Err(BasemapError::Role(r.as_str())),
    }
}

/// A building as a client sends it: all of geometry to create, any field
/// to update. `levels: null` / `height_m: null` clear them.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildingFields {
    /// GeoJSON Polygon or MultiPolygon, in `crs`.
    pub geometry: Option<geojson::Geometry>,
    /// `wgs84` (default), `cgcs2000`, `gcj02` or `bd09`, as imports take.
    pub crs: Option<String>,
    #[serde(default, with = "double_option")]
    #[allow(clippy::option_option, reason = "absent keeps, null clears")]
    pub levels: Option<Option<f64>>,
    #[serde(default, with = "double_option")]
    #[allow(clippy::option_option, reason = "absent keeps, null clears")]
    pub height_m: Option<Option<f64>>,
    /// Its use (`residential`, `apartments`, `school`, …; OSM `building=*`).
    #[serde(alias = "use")]
    pub kind: Option<String>,
}

/// A road as a client sends it: geometry and class to create.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoadFields {
    /// GeoJSON LineString, in `crs`.
    pub geometry: Option<geojson::Geometry>,
    pub crs: Option<String>,
    /// `primary`, `residential`, `path`, … (OSM `highway=*` values too).
    pub class: Option<String>,
    pub name: Option<String>,
    /// `surface` (default), `tunnel` or `bridge`.
    pub grade: Option<String>,
}

#[allow(
    clippy::option_option,
    reason = "absent, null and a value are three different requests"
)]
mod double_option {
    use serde::{Deserialize, Deserializer};

    // Called only when the field is present: `null` is `Some(None)`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<f64>>, D::Error> {
        Option::<f64>::deserialize(d).map(Some)
    }
}

/// Where a written feature lies: the leaf regions it meets (all in the
/// writer's scope) and the one its change row names.
#[derive(Debug, Clone, PartialEq)]
pub struct Placed {
    pub regions: Vec<RegionCode>,
    /// The leaf region holding the feature's interior point, else the
    /// first it meets.
    pub region: RegionCode,
}

/// The leaf regions `g` meets (the most specific ones: a street is
/// dropped when one of its communities is met).
pub fn regions_met(s: &Snapshot, g: &Geometry<f64>) -> Vec<RegionCode> {
    let Some(bbox) = g.bounding_rect() else {
        return vec![];
    };
    let met: Vec<crate::domain::Region> = s
        .regions
        .query(Some(bbox), &Scope::all(), 0, usize::MAX)
        .items
        .into_iter()
        .filter(|r| r.boundary.intersects(g))
        .cloned()
        .collect();
    let parents = crate::domain::region::parents(&met);
    let mut out: Vec<RegionCode> = met
        .iter()
        .map(|r| r.code)
        .filter(|c| !parents.values().any(|p| p == c))
        .collect();
    out.sort_unstable();
    out
}

/// Places `g` and checks that the writer's scope holds every region it meets.
pub fn place(s: &Snapshot, caller: &Caller, g: &Geometry<f64>) -> Result<Placed, BasemapError> {
    use geo::InteriorPoint;
    let regions = regions_met(s, g);
    let Some(first) = regions.first().copied() else {
        return Err(invalid(
            "outside_regions",
            "the geometry lies in no region of this deployment (coordinates swapped, or far off?)",
        ));
    };
    if let Some(r) = regions.iter().find(|r| !caller.scope.contains(**r)) {
        return Err(BasemapError::OutOfScope(format!(
            "the geometry lies in region {r}"
        )));
    }
    let inner = g
        .interior_point()
        .and_then(|p: Point<f64>| crate::ledger::place(s, p))
        .filter(|r| regions.contains(r));
    Ok(Placed {
        region: inner.unwrap_or(first),
        regions,
    })
}

fn text(v: &str, what: &str) -> Result<String, BasemapError> {
    if v.chars().count() > 200 {
        return Err(invalid(
            "too_long",
            format!("{what} has at most 200 characters"),
        ));
    }
    Ok(v.trim().to_string())
}

fn levels(v: f64) -> Result<u16, BasemapError> {
    if v.fract() == 0.0 && (1.0..=300.0).contains(&v) {
        Ok(v as u16)
    } else {
        Err(invalid(
            "levels_out_of_range",
            format!("levels {v}: a whole number of storeys, 1 to 300"),
        ))
    }
}

fn height(v: f64) -> Result<f64, BasemapError> {
    if v.is_finite() && v > 0.0 && v <= 1000.0 {
        Ok(v)
    } else {
        Err(invalid(
            "height_out_of_range",
            format!("height_m {v}: more than 0, at most 1000 metres"),
        ))
    }
}

fn apply_building(b: &mut Building, f: &BuildingFields) -> Result<(), BasemapError> {
    let crs = shape::crs(f.crs.as_deref())?;
    if let Some(g) = &f.geometry {
        b.geometry = shape::footprint(g, crs)?;
    }
    if let Some(l) = f.levels {
        b.levels = l.map(levels).transpose()?;
    }
    if let Some(h) = f.height_m {
        b.height_m = h.map(height).transpose()?;
    }
    if let Some(k) = &f.kind {
        b.kind = text(k, "kind")?;
    }
    Ok(())
}

fn apply_road(r: &mut Road, f: &RoadFields) -> Result<(), BasemapError> {
    let crs = shape::crs(f.crs.as_deref())?;
    if let Some(g) = &f.geometry {
        r.geometry = shape::centre_line(g, crs)?;
    }
    if let Some(c) = &f.class {
        r.class = RoadClass::parse(c).ok_or_else(|| {
            invalid(
                "unknown_class",
                format!(
                    "road class {c:?}: one of {}",
                    RoadClass::ALL.map(RoadClass::as_str).join(", ")
                ),
            )
        })?;
    }
    if let Some(n) = &f.name {
        r.name = text(n, "name")?;
    }
    if let Some(g) = &f.grade {
        r.grade = Grade::parse(g).ok_or_else(|| {
            invalid(
                "unknown_grade",
                format!("grade {g:?}: surface, tunnel or bridge"),
            )
        })?;
    }
    Ok(())
}

fn required(given: &[(bool, &str)]) -> Result<(), BasemapError> {
    match given.iter().find(|(g, _)| !g) {
        Some((_, name)) => Err(invalid("missing_field", format!("{name} is required"))),
        None => Ok(()),
    }
}

/// A new building from `f` (geometry required), placed; its id is the store's.
pub fn create_building(
    s: &Snapshot,
    caller: &Caller,
    f: &BuildingFields,
) -> Result<(Building, Placed), BasemapError> {
    may_write(caller)?;
    required(&[(f.geometry.is_some(), "geometry")])?;
    let mut b = Building {
        id: 0,
        levels: None,
        height_m: None,
        kind: "yes".into(),
        geometry: geo_types::MultiPolygon(vec![]),
    };
    apply_building(&mut b, f)?;
    let at = place(s, caller, &Geometry::MultiPolygon(b.geometry.clone()))?;
    Ok((b, at))
}

/// A new road from `f` (geometry and class required), placed.
pub fn create_road(
    s: &Snapshot,
    caller: &Caller,
    f: &RoadFields,
) -> Result<(Road, Placed), BasemapError> {
    may_write(caller)?;
    required(&[
        (f.geometry.is_some(), "geometry"),
        (f.class.is_some(), "class"),
    ])?;
    let mut r = Road {
        id: 0,
        class: RoadClass::Residential,
        name: String::new(),
        grade: Grade::Surface,
        geometry: geo_types::LineString(vec![]),
    };
    apply_road(&mut r, f)?;
    let at = place(s, caller, &Geometry::LineString(r.geometry.clone()))?;
    Ok((r, at))
}

/// Building `id` as the caller may write it, with where it lies now (in
/// their scope: a write may not move a feature out of it, nor delete one
/// outside it).
pub fn current_building(
    s: &Snapshot,
    caller: &Caller,
    id: i64,
) -> Result<(Building, Placed), BasemapError> {
    may_write(caller)?;
    let b = s
        .buildings
        .get(id, &Scope::all())
        .ok_or(BasemapError::NotFound(Layer::Buildings, id))?
        .clone();
    let at = place(s, caller, &Geometry::MultiPolygon(b.geometry.clone()))?;
    Ok((b, at))
}

/// Road `id` as the caller may write it (see [`current_building`]).
pub fn current_road(
    s: &Snapshot,
    caller: &Caller,
    id: i64,
) -> Result<(Road, Placed), BasemapError> {
    may_write(caller)?;
    let r = s
        .roads
        .get(id, &Scope::all())
        .ok_or(BasemapError::NotFound(Layer::Roads, id))?
        .clone();
    let at = place(s, caller, &Geometry::LineString(r.geometry.clone()))?;
    Ok((r, at))
}

/// `current` with `f` applied, placed again.
pub fn update_building(
    s: &Snapshot,
    caller: &Caller,
    current: &Building,
    f: &BuildingFields,
) -> Result<(Building, Placed), BasemapError> {
    may_write(caller)?;
    let mut b = current.clone();
    apply_building(&mut b, f)?;
    let at = place(s, caller, &Geometry::MultiPolygon(b.geometry.clone()))?;
    Ok((b, at))
}

/// `current` with `f` applied, placed again.
pub fn update_road(
    s: &Snapshot,
    caller: &Caller,
    current: &Road,
    f: &RoadFields,
) -> Result<(Road, Placed), BasemapError> {
    may_write(caller)?;
    let mut r = current.clone();
    apply_road(&mut r, f)?;
    let at = place(s, caller, &Geometry::LineString(r.geometry.clone()))?;
    Ok((r, at))
}

/// The audit detail of a building write: what changed (no personal field
/// exists on the basemap).
pub fn building_detail(before: Option<&Building>, after: Option<&Building>) -> String {
    let mut out = vec![];
    let f = |b: Option<&Building>| {
        b.map(|b| {
            (
                b.levels.map_or_else(|| "-".into(), |l| l.to_string()),
                b.height_m.map_or_else(|| "-".into(), |h| h.to_string()),
                b.kind.clone(),
            )
        })
        .unwrap_or_default()
    };
    let (x, y) = (f(before), f(after));
    for (name, a, b) in [
        ("levels", x.0, y.0),
        ("height_m", x.1, y.1),
        ("kind", x.2, y.2),
    ] {
        if a != b {
            out.push(format!("{name}: {a} → {b}"));
        }
    }
    if before.map(|b| &b.geometry) != after.map(|b| &b.geometry) {
        out.push("geometry: changed".into());
    }
    out.join("; ")
}

/// The audit detail of a road write: what changed.
pub fn road_detail(before: Option<&Road>, after: Option<&Road>) -> String {
    let mut out = vec![];
    let f = |r: Option<&Road>| {
        r.map(|r| {
            (
                r.class.as_str().to_string(),
                r.name.clone(),
                r.grade.as_str().to_string(),
            )
        })
        .unwrap_or_default()
    };
    let (x, y) = (f(before), f(after));
    for (name, a, b) in [("class", x.0, y.0), ("name", x.1, y.1), ("grade", x.2, y.2)] {
        if a != b {
            out.push(format!("{name}: {a} → {b}"));
        }
    }
    if before.map(|r| &r.geometry) != after.map(|r| &r.geometry) {
        out.push("geometry: changed".into());
    }
    out.join("; ")
}

#[cfg(test)]
mod test;
