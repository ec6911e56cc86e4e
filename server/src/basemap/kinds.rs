//! Buildings and roads as [`Ground`]: their fields checked and applied,
//! what a write of each touches, and their audit detail.

use geo_types::Geometry;

use super::{changes, invalid, required, shape, BasemapError, BuildingFields, Ground, RoadFields};
use crate::access::Scope;
use crate::domain::{Building, Grade, Layer, Record, RegionCode, Road, RoadClass};
use crate::snapshot::Snapshot;

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

impl Ground for Building {
    const LAYER: Layer = Layer::Buildings;
    type Fields = BuildingFields;

    fn blank() -> Self {
        Self {
            id: 0,
            levels: None,
            height_m: None,
            kind: "yes".into(),
            geometry: geo_types::MultiPolygon(vec![]),
        }
    }

    fn required(f: &BuildingFields) -> Result<(), BasemapError> {
        required(&[(f.geometry.is_some(), "geometry")])
    }

    fn apply(&mut self, f: &BuildingFields) -> Result<(), BasemapError> {
        let crs = shape::crs(f.crs.as_deref())?;
        if let Some(g) = &f.geometry {
            self.geometry = shape::footprint(g, crs)?;
        }
        if let Some(l) = f.levels {
            self.levels = l.map(levels).transpose()?;
        }
        if let Some(h) = f.height_m {
            self.height_m = h.map(height).transpose()?;
        }
        if let Some(k) = &f.kind {
            self.kind = text(k, "kind")?;
        }
        Ok(())
    }

    fn geometry(&self) -> Geometry<f64> {
        Geometry::MultiPolygon(self.geometry.clone())
    }

    fn find(s: &Snapshot, id: i64) -> Option<&Self> {
        s.buildings.get(id, &Scope::all())
    }

    /// None: stored plans are evaluated without buildings (only a plan
    /// made afresh reads them).
    fn measured_in(&self, _: &Snapshot) -> Vec<RegionCode> {
        vec![]
    }

    fn detail(before: Option<&Self>, after: Option<&Self>) -> String {
        let f = |b: Option<&Self>| {
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
        let moved = before.map(|b| &b.geometry) != after.map(|b| &b.geometry);
        changes(
            [
                ("levels", x.0, y.0),
                ("height_m", x.1, y.1),
                ("kind", x.2, y.2),
            ],
            moved,
        )
    }

    fn into_record(self) -> Record {
        Record::Building(self)
    }
}

impl Ground for Road {
    const LAYER: Layer = Layer::Roads;
    type Fields = RoadFields;

    fn blank() -> Self {
        Self {
            id: 0,
            class: RoadClass::Residential,
            name: String::new(),
            grade: Grade::Surface,
            geometry: geo_types::LineString(vec![]),
        }
    }

    fn required(f: &RoadFields) -> Result<(), BasemapError> {
        required(&[
            (f.geometry.is_some(), "geometry"),
            (f.class.is_some(), "class"),
        ])
    }

    fn apply(&mut self, f: &RoadFields) -> Result<(), BasemapError> {
        let crs = shape::crs(f.crs.as_deref())?;
        if let Some(g) = &f.geometry {
            self.geometry = shape::centre_line(g, crs)?;
        }
        if let Some(c) = &f.class {
            self.class = RoadClass::parse(c).ok_or_else(|| {
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
            self.name = text(n, "name")?;
        }
        if let Some(g) = &f.grade {
            self.grade = Grade::parse(g).ok_or_else(|| {
                invalid(
                    "unknown_grade",
                    format!("grade {g:?}: surface, tunnel or bridge"),
                )
            })?;
        }
        Ok(())
    }

    fn geometry(&self) -> Geometry<f64> {
        Geometry::LineString(self.geometry.clone())
    }

    fn find(s: &Snapshot, id: i64) -> Option<&Self> {
        s.roads.get(id, &Scope::all())
    }

    /// The regions whose plans' ground holds it: boundaries follow roads.
    fn measured_in(&self, s: &Snapshot) -> Vec<RegionCode> {
        s.road_reach(self)
    }

    fn detail(before: Option<&Self>, after: Option<&Self>) -> String {
        let f = |r: Option<&Self>| {
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
        let moved = before.map(|r| &r.geometry) != after.map(|r| &r.geometry);
        changes(
            [("class", x.0, y.0), ("name", x.1, y.1), ("grade", x.2, y.2)],
            moved,
        )
    }

    fn into_record(self) -> Record {
        Record::Road(self)
    }
}
