//! The basemap as planners keep it: buildings and roads created, changed
//! and deleted one by one over HTTP (issue 20: "planner writes ground").
//! This module holds the rules of such a write, with no I/O: who may
//! write, what a valid feature is ([`shape`]), which leaf regions it lies
//! in (all of them must be in the writer's scope, before and after), and
//! which region its change row names. The store applies the write
//! ([`crate::store::Store::write_record`]); the snapshot follows
//! ([`crate::snapshot::Snapshot::with_building`],
//! [`crate::snapshot::Snapshot::with_road`]). The rules are generic over
//! [`Ground`], which buildings and roads implement ([`kinds`]).
//!
//! Buildings and roads carry no region: they are placed by where they
//! lie. A feature that meets no region of the deployment is refused
//! (`outside_regions`): that is where swapped or far-off coordinates end.

pub mod kinds;
pub mod shape;

use geo::{BoundingRect, Intersects};
use geo_types::{Geometry, Point};
use serde::Deserialize;
use serde_json::Value;

use crate::access::{Caller, Role, Scope};
use crate::domain::{Layer, RegionCode};
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

pub(crate) fn invalid(code: &'static str, detail: impl Into<String>) -> BasemapError {
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

pub(crate) fn required(given: &[(bool, &str)]) -> Result<(), BasemapError> {
    match given.iter().find(|(g, _)| !g) {
        Some((_, name)) => Err(invalid("missing_field", format!("{name} is required"))),
        None => Ok(()),
    }
}

/// A basemap feature planners write (a [`Building`](crate::domain::Building) or a [`Road`](crate::domain::Road)): what
/// the generic rules below need of it. The impls are in [`kinds`].
pub trait Ground: Clone + Send + Sync + 'static {
    const LAYER: Layer;
    /// What a client sends for it.
    type Fields: serde::de::DeserializeOwned + Send + 'static;
    /// A new feature before its fields are applied (id 0: the store's).
    fn blank() -> Self;
    /// The fields a create must give.
    fn required(f: &Self::Fields) -> Result<(), BasemapError>;
    /// `f` applied, each field checked.
    fn apply(&mut self, f: &Self::Fields) -> Result<(), BasemapError>;
    fn geometry(&self) -> Geometry<f64>;
    /// Feature `id` in the snapshot.
    fn find(s: &Snapshot, id: i64) -> Option<&Self>;
    /// The regions whose stored plan grid shapes were measured on it.
    fn measured_in(&self, s: &Snapshot) -> Vec<RegionCode>;
    /// The audit detail of a write: what changed.
    fn detail(before: Option<&Self>, after: Option<&Self>) -> String;
    fn into_record(self) -> crate::domain::Record;
}

/// A new feature from `f`, placed; its id is the store's to give.
pub fn create<T: Ground>(
    s: &Snapshot,
    caller: &Caller,
    f: &T::Fields,
) -> Result<(T, Placed), BasemapError> {
    may_write(caller)?;
    T::required(f)?;
    let mut x = T::blank();
    x.apply(f)?;
    let at = place(s, caller, &x.geometry())?;
    Ok((x, at))
}

/// Feature `id` as the caller may write it, with where it lies now (in
/// their scope: a write may not move a feature out of it, nor delete one
/// outside it).
pub fn current<T: Ground>(
    s: &Snapshot,
    caller: &Caller,
    id: i64,
) -> Result<(T, Placed), BasemapError> {
    may_write(caller)?;
    let x = T::find(s, id)
        .ok_or(BasemapError::NotFound(T::LAYER, id))?
        .clone();
    let at = place(s, caller, &x.geometry())?;
    Ok((x, at))
}

/// `current` with `f` applied, placed again.
pub fn update<T: Ground>(
    s: &Snapshot,
    caller: &Caller,
    current: &T,
    f: &T::Fields,
) -> Result<(T, Placed), BasemapError> {
    may_write(caller)?;
    let mut x = current.clone();
    x.apply(f)?;
    let at = place(s, caller, &x.geometry())?;
    Ok((x, at))
}

/// "name: before → after" for each of `fields` that differs, and
/// "geometry: changed" when it did.
pub(crate) fn changes(fields: [(&str, String, String); 3], moved: bool) -> String {
    let mut out: Vec<String> = fields
        .into_iter()
        .filter(|(_, a, b)| a != b)
        .map(|(name, a, b)| format!("{name}: {a} → {b}"))
        .collect();
    if moved {
        out.push("geometry: changed".into());
    }
    out.join("; ")
}

#[cfg(test)]
mod test;
