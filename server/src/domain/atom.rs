//! Atoms: the smallest pieces a grid is built from.

use geo_types::MultiPolygon;
use serde::{Deserialize, Serialize};

use super::RegionCode;

/// Dense atom index within one region's atom set.
pub type AtomId = u32;

/// What an atom was cut from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AtomKind {
    /// A face of the road/river/railway network inside the region.
    Block,
    /// A group of buildings split from a block too heavy for one level-3 grid.
    BuildingGroup,
    /// A lattice cell where no lines are known.
    Lattice,
}

impl AtomKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Block => "block",
            Self::BuildingGroup => "building_group",
            Self::Lattice => "lattice",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "block" => Some(Self::Block),
            "building_group" => Some(Self::BuildingGroup),
            "lattice" => Some(Self::Lattice),
            _ => None,
        }
    }
}

/// One atom. Atoms of a region tile it exactly; every household belongs to
/// exactly one atom.
#[derive(Debug, Clone, PartialEq)]
pub struct Atom {
    pub id: AtomId,
    pub region: RegionCode,
    pub kind: AtomKind,
    pub geometry: MultiPolygon<f64>,
}
