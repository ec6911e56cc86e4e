//! Grid levels, grid codes and grids imported from elsewhere.

use std::fmt;

use geo_types::MultiPolygon;
use serde::{Deserialize, Serialize};

use super::RegionCode;

/// Grid level: 1 (一级, comprehensive), 2 (二级), 3 (三级, micro / building).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Level(u8);

impl Level {
    pub const ONE: Level = Level(1);
    pub const TWO: Level = Level(2);
    pub const THREE: Level = Level(3);
    pub const ALL: [Level; 3] = [Self::ONE, Self::TWO, Self::THREE];

    pub fn new(n: u8) -> Option<Self> {
        (1..=3).contains(&n).then_some(Self(n))
    }

    pub fn get(self) -> u8 {
        self.0
    }

    /// Zero-based index, for arrays of three.
    pub fn index(self) -> usize {
        usize::from(self.0 - 1)
    }
}

impl TryFrom<u8> for Level {
    type Error = String;
    fn try_from(n: u8) -> Result<Self, Self::Error> {
        Self::new(n).ok_or_else(|| format!("grid level must be 1, 2 or 3, not {n}"))
    }
}

impl From<Level> for u8 {
    fn from(l: Level) -> u8 {
        l.0
    }
}

/// A grid code: the region's 12 digits followed by a sequence number per
/// level (default widths 3 / 2 / 2), e.g. `610902001001` + `003` + `02`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct GridCode(pub String);

impl GridCode {
    /// Builds the code for `seqs` (one sequence number per level down to the
    /// grid's own) with the given digit widths.
    pub fn new(region: RegionCode, seqs: &[u32], widths: [usize; 3]) -> Self {
        use fmt::Write;
        let mut s = region.to_string();
        for (i, n) in seqs.iter().enumerate() {
            let _ = write!(s, "{:0w$}", n, w = widths[i]);
        }
        Self(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for GridCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A grid polygon drawn elsewhere. It may have gaps and overlaps; finding
/// them is part of coverage analysis.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedGrid {
    pub id: i64,
    pub region: RegionCode,
    pub level: Level,
    pub code: GridCode,
    pub name: String,
    /// The code of the parent grid, when the source says.
    pub parent: Option<GridCode>,
    pub geometry: MultiPolygon<f64>,
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn grid_code_pads_each_level() {
        let r: RegionCode = "610902001001".parse().unwrap();
        assert_eq!(
            GridCode::new(r, &[3, 2], [3, 2, 2]).as_str(),
            "61090200100100302"
        );
        assert_eq!(
            GridCode::new(r, &[12, 1, 7], [3, 2, 2]).as_str(),
            "6109020010010120107"
        );
    }

    #[test]
    fn level_is_one_to_three() {
        assert!(Level::new(0).is_none());
        assert!(Level::new(4).is_none());
        assert_eq!(Level::new(2).unwrap().index(), 1);
    }
}
