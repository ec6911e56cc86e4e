//! Hand edits of a plan and the rules they must keep.
//!
//! A plan labels every atom with its grid at each level, so an edit is a
//! change of labels: nothing is ever drawn, and grids stay exact unions of
//! atoms. Before an edit is applied its result is checked: every grid it
//! touches stays one piece, no locked grid gains or loses an atom, no grid
//! is emptied; a refusal names the rule and the atoms that break it (their
//! union is the offending geometry a caller draws). Balance is not a rule
//! here: figures after an edit come from evaluating the new plan.
//!
//! Every edit a planner makes goes through [`perform`]: the label edits
//! ([`apply`]), a split along a drawn line, the grids under a parent solved
//! again, a version restored; [`figures`] says what each did to the grids it
//! touched and to their staff. Clients name grids by code ([`named`]).

mod diff;
pub mod figures;
mod labels;
pub mod named;
mod perform;
mod publish;

use std::collections::HashSet;

pub use diff::{diff, Diff, LevelDiff, Moved};
pub use labels::{apply, touched};
pub use perform::{perform, Context, Edited, Owned};
pub use publish::publish;

#[cfg(test)]
use crate::domain::GridLabel;
use crate::domain::{AtomId, GridCode, Plan};
#[cfg(test)]
use labels::pieces;

/// One hand edit. Atoms are indices into the plan's `atoms`; grids are
/// ids per level (`level` 1, 2 or 3).
#[derive(Debug, Clone, PartialEq)]
pub enum Edit {
    /// The atoms join level-3 grid `to`, and with it `to`'s parents.
    Reassign { atoms: Vec<usize>, to: u32 },
    /// Grid `gone` joins its neighbour `keep` of the same parent; `gone`'s
    /// code is retired.
    Merge { level: u8, keep: u32, gone: u32 },
    /// Grid `grid` (level 2 or 3) moves under `parent` of the level above,
    /// with everything below it.
    MoveGrid { level: u8, grid: u32, parent: u32 },
    /// Level-3 grid `grid` cut in two along `line` (WGS-84): the atoms the
    /// line crosses are cut, the part right of the line becomes a new grid.
    Split {
        grid: u32,
        line: geo_types::LineString<f64>,
    },
    /// Everything under grid `parent` (level 1 or 2) but its locked
    /// children solved again by the partitioner.
    Resolve { level: u8, parent: u32 },
    /// The labels and codes of another version of the same region, as they
    /// were (undo and redo).
    Restore { version: Box<Plan> },
}

impl Edit {
    /// Whether the edit is work for the heavy pool: it cuts atoms, runs
    /// the partitioner, or (a restore across a split) evaluates the plan
    /// afresh. The label edits are quick.
    pub fn heavy(&self, plan: &Plan) -> bool {
        match self {
            Self::Split { .. } | Self::Resolve { .. } => true,
            Self::Restore { version } => version.atoms != plan.atoms,
            Self::Reassign { .. } | Self::Merge { .. } | Self::MoveGrid { .. } => false,
        }
    }
}

/// Why an edit cannot be made: the request names what the plan does not
/// have, or an edit breaks a rule.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EditError {
    /// The request is not an edit of this plan (an unknown grid or atom,
    /// a bad line or polygon).
    #[error("{0}")]
    Invalid(String),
    /// Something the edit needs is gone (the plan's region).
    #[error("{0}")]
    Missing(String),
    /// Refused by a rule, with what a caller draws.
    #[error("{}", .0.detail)]
    Refused(Box<Broken>),
}

/// A rule an edit would break, the grid it names, and the atoms (by id)
/// that break it with their union.
#[derive(Debug, Clone, PartialEq)]
pub struct Broken {
    pub detail: String,
    /// `locked`, `one_piece`, `not_empty`, `same_parent`, `invalid` or
    /// `split`.
    pub rule: &'static str,
    pub grid: Option<GridCode>,
    pub atoms: Vec<AtomId>,
    /// The offending atoms' union, when there are any.
    pub geometry: Option<geo_types::MultiPolygon<f64>>,
}

impl EditError {
    /// A refusal of `plan` (evaluated as `evaluated`) with its atoms drawn.
    pub fn refused(
        evaluated: &crate::partition::plan::RegionPlan,
        plan: &Plan,
        r: &Refusal,
    ) -> Self {
        let (rule, grid, atoms): (&str, Option<&GridCode>, &[usize]) = match r {
            Refusal::Locked { code, atoms } => ("locked", Some(code), atoms),
            Refusal::Disconnects { code, atoms, .. } => ("one_piece", Some(code), atoms),
            Refusal::Empties { code } => ("not_empty", Some(code), &[]),
            Refusal::CrossParent { a, .. } => ("same_parent", Some(a), &[]),
            Refusal::UnknownGrid { .. } | Refusal::UnknownAtom(_) | Refusal::Invalid(_) => {
                ("invalid", None, &[])
            }
        };
        let shape = geo_types::MultiPolygon(
            atoms
                .iter()
                .filter_map(|&i| evaluated.atoms.get(i))
                .flat_map(|a| a.geometry.0.iter().cloned())
                .collect(),
        );
        Self::Refused(Box::new(Broken {
            detail: r.to_string(),
            rule,
            grid: grid.cloned(),
            atoms: atoms
                .iter()
                .filter_map(|&i| plan.atoms.get(i))
                .copied()
                .collect(),
            geometry: (!shape.0.is_empty()).then_some(shape),
        }))
    }

    /// A refusal with no atoms to draw (a locked grid a split names, a
    /// line that does not cut it in two).
    pub fn broken(rule: &'static str, grid: &GridCode, detail: String) -> Self {
        Self::Refused(Box::new(Broken {
            detail,
            rule,
            grid: Some(grid.clone()),
            atoms: Vec::new(),
            geometry: None,
        }))
    }
}

/// Why an edit is refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refusal {
    #[error("level {level} has no grid {grid}")]
    UnknownGrid { level: u8, grid: u32 },
    #[error("the plan has no atom {0}")]
    UnknownAtom(usize),
    #[error("grid {code} is locked")]
    Locked { code: GridCode, atoms: Vec<usize> },
    #[error("grid {code} would fall into {pieces} pieces")]
    Disconnects {
        code: GridCode,
        pieces: usize,
        /// The atoms of every piece but the largest.
        atoms: Vec<usize>,
    },
    #[error("grid {code} would be left with no atom (merge it instead)")]
    Empties { code: GridCode },
    #[error("{a} and {b} have different parents; move one first")]
    CrossParent { a: GridCode, b: GridCode },
    #[error("{0}")]
    Invalid(String),
}

/// What the edit must respect besides the plan itself.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    /// Pairs of atoms (plan indices) that share a boundary.
    pub adjacency: Vec<(usize, usize)>,
    /// Locked grids by code, at any level.
    pub locked: HashSet<GridCode>,
}

impl Rules {
    /// The rules of an evaluated plan: its atoms' shared boundaries, and
    /// the grids locked by code.
    pub fn of(
        plan: &crate::partition::plan::RegionPlan,
        locked: impl IntoIterator<Item = GridCode>,
    ) -> Self {
        Self {
            adjacency: plan.adjacency.clone(),
            locked: locked.into_iter().collect(),
        }
    }
}

#[cfg(test)]
mod tests;
