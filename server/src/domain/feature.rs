//! Basemap features: roads, buildings and water. Roads, rivers and railways
//! are where grid boundaries should run.

use geo_types::{LineString, MultiPolygon};
use serde::{Deserialize, Serialize};

use super::BuildingUse;

/// Road class, coarse enough for cut weights and rendering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoadClass {
    Motorway,
    Primary,
    Secondary,
    Tertiary,
    Residential,
    Service,
    Path,
    Railway,
}

impl RoadClass {
    pub const ALL: [RoadClass; 8] = [
        Self::Motorway,
        Self::Primary,
        Self::Secondary,
        Self::Tertiary,
        Self::Residential,
        Self::Service,
        Self::Path,
        Self::Railway,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Motorway => "motorway",
            Self::Primary => "primary",
            Self::Secondary => "secondary",
            Self::Tertiary => "tertiary",
            Self::Residential => "residential",
            Self::Service => "service",
            Self::Path => "path",
            Self::Railway => "railway",
        }
    }

    /// Maps our names, OSM `highway=*`/`railway=*` values and Tilezen `kind`s.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.trim() {
            "motorway" | "motorway_link" | "trunk" | "trunk_link" | "highway" => Self::Motorway,
            "primary" | "primary_link" | "major_road" => Self::Primary,
            "secondary" | "secondary_link" => Self::Secondary,
            "tertiary" | "tertiary_link" => Self::Tertiary,
            "residential" | "living_street" | "unclassified" | "minor_road" | "road" => {
                Self::Residential
            }
            "service" | "track" => Self::Service,
            "path" | "footway" | "pedestrian" | "cycleway" | "steps" | "bridleway" => Self::Path,
            "railway" | "rail" | "light_rail" | "subway" | "tram" | "narrow_gauge" => Self::Railway,
            _ => return None,
        })
    }
}

/// Where a road or railway runs relative to the street: on it, under it
/// or over it. Only lines at street level bound blocks, bar a walk or
/// carry one; a tunnel is kept to be drawn (dashed), a bridge's deck is a
/// crossing like any street.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grade {
    /// On the ground (also covered streets and passages through buildings).
    #[default]
    Surface,
    /// Underground: a road or metro tunnel, an underpass.
    Tunnel,
    /// On a bridge or viaduct.
    Bridge,
}

impl Grade {
    pub const ALL: [Grade; 3] = [Self::Surface, Self::Tunnel, Self::Bridge];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Surface => "surface",
            Self::Tunnel => "tunnel",
            Self::Bridge => "bridge",
        }
    }

    /// Our names (`surface`, `tunnel`, `bridge`; `ground` too).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.trim() {
            "surface" | "ground" | "" => Self::Surface,
            "tunnel" | "underground" => Self::Tunnel,
            "bridge" => Self::Bridge,
            _ => return None,
        })
    }

    /// True for lines one meets at street level: block boundaries,
    /// barriers and walking links. A tunnel is none of them (its portals
    /// join the streets it leaves, which are lines of their own).
    pub fn at_street_level(self) -> bool {
        self != Self::Tunnel
    }
}

/// A road or railway centre line.
#[derive(Debug, Clone, PartialEq)]
pub struct Road {
    pub id: i64,
    pub class: RoadClass,
    pub name: String,
    pub grade: Grade,
    pub geometry: LineString<f64>,
}

/// A building footprint.
#[derive(Debug, Clone, PartialEq)]
pub struct Building {
    pub id: i64,
    /// Storeys above ground, when known.
    pub levels: Option<u16>,
    /// Height in metres, when known.
    pub height_m: Option<f64>,
    /// OSM-style use as resolved at import (`residential`, `apartments`,
    /// `university`, `library`, ...): its `building=*` value, or when that
    /// says nothing (`yes`), what its other tags, its name or the land it
    /// stands in say. See [`BuildingUse::of_kind`].
    pub kind: String,
    pub geometry: MultiPolygon<f64>,
}

impl Building {
    /// What the building is used for, from its kind.
    pub fn building_use(&self) -> BuildingUse {
        BuildingUse::of_kind(&self.kind)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WaterKind {
    /// A river or stream centre line.
    River,
    /// A water area (river bank, lake, sea).
    Area,
}

impl WaterKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::River => "river",
            Self::Area => "area",
        }
    }
}

/// Water as a line (rivers) or an area.
#[derive(Debug, Clone, PartialEq)]
pub struct Water {
    pub id: i64,
    pub kind: WaterKind,
    pub name: String,
    pub geometry: geo_types::Geometry<f64>,
}
