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

/// Atom ids are dense within a region, so regions repeat them; the atoms
/// layer's feature ids (OGC items, GeoJSON, the GeoPackage's fid, vector
/// tiles) are the 12-digit region code followed by six digits of atom id:
/// unique in the layer, stable while the region keeps its atoms, and
/// readable (`610902001001000005` is atom 5 of `610902001001`). Fits an
/// i64 (under 10^18).
pub const ATOM_IDS_PER_REGION: u64 = 1_000_000;

/// The layer-wide feature id of atom `id` of `region` (see
/// [`ATOM_IDS_PER_REGION`]); `None` when the atom id does not fit in six
/// digits.
pub fn atom_feature_id(region: RegionCode, id: AtomId) -> Option<i64> {
    (u64::from(id) < ATOM_IDS_PER_REGION)
        .then(|| (region.as_u64() * ATOM_IDS_PER_REGION + u64::from(id)) as i64)
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

impl Atom {
    /// The atom's id in the atoms layer (see [`ATOM_IDS_PER_REGION`]); an
    /// atom id beyond six digits (never made: a region has thousands) gets
    /// the region's last id rather than another region's.
    pub fn feature_id(&self) -> i64 {
        atom_feature_id(self.region, self.id).unwrap_or(
            (self.region.as_u64() * ATOM_IDS_PER_REGION + ATOM_IDS_PER_REGION - 1) as i64,
        )
    }
}

#[cfg(test)]
mod feature_id_test {
    use super::*;

    #[test]
    fn atom_feature_ids_are_unique_across_regions_and_readable() {
        let a: RegionCode = "610902001001".parse().unwrap();
        let b: RegionCode = "610902001002".parse().unwrap();
        assert_eq!(atom_feature_id(a, 5), Some(610_902_001_001_000_005));
        assert_ne!(atom_feature_id(a, 5), atom_feature_id(b, 5));
        assert_eq!(atom_feature_id(a, 1_000_000), None);
        let max: RegionCode = "999999999999".parse().unwrap();
        assert!(atom_feature_id(max, 999_999).unwrap() > 0);
    }
}
