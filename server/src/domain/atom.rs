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
/// tiles) are the 12-digit region code followed by four digits of atom id:
/// unique in the layer, stable while the region keeps its atoms, readable
/// (`6109020010010005` is atom 5 of `610902001001`) and below 2^53 for every
/// Chinese region code (under 83 × 10^10), so JavaScript clients, which
/// read JSON numbers as doubles, keep them exact. The rare atom of a region
/// with 10,000 atoms or more takes six digits instead (from 1.1 × 10^17 up,
/// apart from every four-digit id): still unique, exact for GDAL and QGIS.
pub const ATOM_IDS_PER_REGION: u64 = 10_000;

/// The six-digit form for atoms past [`ATOM_IDS_PER_REGION`].
pub const ATOM_IDS_PER_REGION_WIDE: u64 = 1_000_000;

/// The layer-wide feature id of atom `id` of `region` (see
/// [`ATOM_IDS_PER_REGION`]); `None` when the atom id does not fit in six
/// digits.
pub fn atom_feature_id(region: RegionCode, id: AtomId) -> Option<i64> {
    let id = u64::from(id);
    if id < ATOM_IDS_PER_REGION {
        Some((region.as_u64() * ATOM_IDS_PER_REGION + id) as i64)
    } else if id < ATOM_IDS_PER_REGION_WIDE {
        Some((region.as_u64() * ATOM_IDS_PER_REGION_WIDE + id) as i64)
    } else {
        None
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

impl Atom {
    /// The atom's id in the atoms layer (see [`ATOM_IDS_PER_REGION`]); an
    /// atom id beyond six digits (never made: a region has thousands) gets
    /// the region's last id rather than another region's.
    pub fn feature_id(&self) -> i64 {
        atom_feature_id(self.region, self.id).unwrap_or(
            (self.region.as_u64() * ATOM_IDS_PER_REGION_WIDE + ATOM_IDS_PER_REGION_WIDE - 1) as i64,
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
        assert_eq!(atom_feature_id(a, 5), Some(6_109_020_010_010_005));
        assert_ne!(atom_feature_id(a, 5), atom_feature_id(b, 5));
        assert_eq!(atom_feature_id(a, 1_000_000), None);
        let max: RegionCode = "999999999999".parse().unwrap();
        assert!(atom_feature_id(max, 999_999).unwrap() > 0);
        // Exact as a JavaScript number for any Chinese code (provinces 11-82).
        let macau: RegionCode = "829999999999".parse().unwrap();
        assert!(atom_feature_id(macau, 9_999).unwrap() < (1 << 53));
        // Past 9,999 atoms: six digits, apart from every four-digit id.
        let wide = atom_feature_id(a, 10_000).unwrap();
        assert_eq!(wide, 610_902_001_001_010_000);
        assert!(wide > atom_feature_id(max, 9_999).unwrap());
    }
}
