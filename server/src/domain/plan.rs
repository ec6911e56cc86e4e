//! Plans: versioned labellings of atoms with grid ids at three levels.
//!
//! A grid's geometry is the union of its atoms, so a plan has no gaps, no
//! overlaps and perfect nesting by construction.

use serde::{Deserialize, Serialize};

use super::{AtomId, GridCode, RegionCode};

/// The grid ids of one atom at levels 1, 2 and 3. Ids are dense per level
/// within a plan; codes are kept separately so they survive re-numbering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GridLabel(pub [u32; 3]);

/// Version metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanVersion {
    /// Store-wide id of this version.
    pub id: i64,
    pub region: RegionCode,
    /// 1, 2, 3... per region.
    pub number: u32,
    /// The version this one was derived from.
    pub parent: Option<i64>,
    pub author: String,
    /// RFC 3339 UTC.
    pub created_at: String,
    pub message: String,
    pub published: bool,
}

impl PlanVersion {
    /// A version not yet saved: the store gives it its id, number and time.
    pub fn unsaved(region: RegionCode, author: &str, message: &str, parent: Option<i64>) -> Self {
        Self {
            id: 0,
            region,
            number: 0,
            parent,
            author: author.to_string(),
            created_at: String::new(),
            message: message.to_string(),
            published: false,
        }
    }
}

/// A plan: one label per atom, plus the code of every grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub version: PlanVersion,
    /// `labels[i]` belongs to atom `atoms[i]`.
    pub atoms: Vec<AtomId>,
    pub labels: Vec<GridLabel>,
    /// Codes per level, indexed by grid id.
    pub codes: [Vec<GridCode>; 3],
}

impl Plan {
    /// Number of grids at each level.
    pub fn grid_counts(&self) -> [usize; 3] {
        [
            self.codes[0].len(),
            self.codes[1].len(),
            self.codes[2].len(),
        ]
    }
}
