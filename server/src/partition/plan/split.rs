//! A level-3 grid cut in two along a line drawn on the map.

use std::collections::{HashMap, HashSet};

use geo::{BooleanOps, InteriorPoint};
use geo_types::{Coord, LineString, MultiLineString, MultiPolygon, Polygon};

use super::super::atoms;
use super::ground::{local, local_pieces, Ground, Local};
use super::ledger::Ledger;
use super::{PlanError, Settings};
use crate::domain::{Atom, AtomKind, GridCode, GridLabel, Plan, RegionCode};

/// Why a grid cannot be split along a line.
#[derive(Debug, thiserror::Error)]
pub enum SplitError {
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error("level 3 has no grid {0}")]
    UnknownGrid(u32),
    #[error("the line does not cross grid {0}")]
    Misses(GridCode),
    #[error("the line must cut grid {code} into two pieces, not {pieces}")]
    Pieces { code: GridCode, pieces: usize },
}

/// A level-3 grid split along a line: the atoms the line crosses cut into
/// new atoms (exact pieces on the region's grid), households placed in
/// them again, the grid's atoms on the line's right-hand side made a new
/// grid of the same parent with the next free code.
#[derive(Debug, Clone)]
pub struct Split {
    /// The new atoms (WGS-84), with ids after the highest in `atoms`.
    pub added: Vec<Atom>,
    /// The plan over the region's atoms after the cut.
    pub plan: Plan,
    /// The atoms of `plan`, in its order.
    pub atoms: Vec<Atom>,
    /// The cut atoms' figures, to measure the two grids without placing
    /// every household again.
    pub ledger: std::sync::Arc<Ledger>,
    /// The two level-3 grids (level index, id) the split made of one.
    pub touched: Vec<(usize, u32)>,
}

/// Splits level-3 grid `grid` of `plan` (over `atoms`, as stored) along
/// `line` (WGS-84).
pub fn split(
    ground: &Ground<'_>,
    settings: &Settings,
    plan: &Plan,
    atoms: &[Atom],
    grid: u32,
    line: &LineString<f64>,
) -> Result<Split, SplitError> {
    let region = ground.region.code;
    let loc = local(ground).ok_or(PlanError::EmptyRegion(region))?;
    let pieces = local_pieces(&loc, atoms);
    if pieces.len() != plan.labels.len() || atoms.len() != plan.labels.len() {
        return Err(PlanError::Mismatch.into());
    }
    let gcode = plan.codes[2]
        .get(grid as usize)
        .cloned()
        .ok_or(SplitError::UnknownGrid(grid))?;
    let s = Splitting {
        loc: &loc,
        snap: atoms::Snap::of(&loc.boundary),
        region,
        pieces: &pieces,
        atoms,
        plan,
        grid,
    };
    let line = loc.proj.project(line);
    let inside = s.inside(&line);
    if inside.0.is_empty() {
        return Err(SplitError::Misses(gcode));
    }
    let cut = s.cut(&line, &inside);
    let mine: Vec<usize> = (0..cut.labels.len())
        .filter(|&i| cut.labels[i].0[2] == grid)
        .collect();
    if cut.right.is_empty() || cut.right.len() == mine.len() {
        return Err(SplitError::Pieces {
            code: gcode,
            pieces: 1,
        });
    }
    let set = atoms::rebuild(
        cut.pieces,
        &loc.cuts,
        &loc.dwellers,
        settings.atoms.max_households,
    );
    one_piece_each_side(&mine, &cut.right, &set.edges, &gcode)?;
    let mut labels = cut.labels;
    let new_id = plan.codes[2].len() as u32;
    for &i in &cut.right {
        labels[i].0[2] = new_id;
    }
    let mut codes = plan.codes.clone();
    codes[2].push(next_code(&plan.codes[2], &gcode, settings.code_widths[2]));
    Ok(Split {
        added: cut.added,
        plan: Plan {
            version: plan.version.clone(),
            atoms: cut.atoms.iter().map(|a| a.id).collect(),
            labels,
            codes,
        },
        atoms: cut.atoms,
        ledger: std::sync::Arc::new(Ledger::new(set, &loc, ground, settings)),
        touched: vec![(2, grid), (2, new_id)],
    })
}

/// The grid being split, with the plan and atoms it is part of.
struct Splitting<'a> {
    loc: &'a Local,
    snap: atoms::Snap,
    region: RegionCode,
    /// The atoms in the region's local plane.
    pieces: &'a [(Polygon<f64>, AtomKind)],
    atoms: &'a [Atom],
    plan: &'a Plan,
    grid: u32,
}

/// The region's atoms after the cut, in order, with the labels they had.
struct Cut {
    pieces: Vec<(Polygon<f64>, AtomKind)>,
    atoms: Vec<Atom>,
    labels: Vec<GridLabel>,
    /// The new atoms (pieces of a cut one).
    added: Vec<Atom>,
    /// Positions of the grid's atoms right of the line.
    right: Vec<usize>,
}

impl Splitting<'_> {
    fn mine(&self, a: usize) -> bool {
        self.plan.labels[a].0[2] == self.grid
    }

    /// The part of `line` (local plane) inside the grid: only that cuts,
    /// so its neighbours stay whole.
    fn inside(&self, line: &LineString<f64>) -> MultiLineString<f64> {
        let members: Vec<usize> = (0..self.pieces.len()).filter(|&a| self.mine(a)).collect();
        let shape = atoms::union(self.snap, members.iter().map(|&a| &self.pieces[a].0));
        shape.clip(&MultiLineString(vec![line.clone()]), false)
    }

    /// Cuts the grid's atoms along `inside`; a cut atom's pieces become new
    /// atoms with ids after the highest stored.
    fn cut(&self, line: &LineString<f64>, inside: &MultiLineString<f64>) -> Cut {
        let n = self.pieces.len() + 8;
        let mut next_id = self.atoms.iter().map(|a| a.id).max().map_or(0, |m| m + 1);
        let mut out = Cut {
            pieces: Vec::with_capacity(n),
            atoms: Vec::with_capacity(n),
            labels: Vec::with_capacity(n),
            added: Vec::new(),
            right: Vec::new(),
        };
        for (a, (poly, kind)) in self.pieces.iter().enumerate() {
            let mine = self.mine(a);
            let parts = if mine {
                let mut parts = vec![poly.clone()];
                for l in &inside.0 {
                    parts = parts
                        .iter()
                        .flat_map(|p| atoms::cut(self.snap, p, l))
                        .collect();
                }
                parts
            } else {
                vec![poly.clone()]
            };
            let whole = parts.len() == 1;
            for p in parts {
                if mine {
                    let at = p.interior_point().map_or(Coord { x: 0.0, y: 0.0 }, |q| q.0);
                    if right_of(line, at) {
                        out.right.push(out.pieces.len());
                    }
                }
                let atom = if whole {
                    self.atoms[a].clone()
                } else {
                    let n = Atom {
                        id: next_id,
                        region: self.region,
                        kind: *kind,
                        geometry: self.loc.proj.unproject(&MultiPolygon(vec![p.clone()])),
                    };
                    next_id += 1;
                    out.added.push(n.clone());
                    n
                };
                out.atoms.push(atom);
                out.labels.push(self.plan.labels[a]);
                out.pieces.push((p, *kind));
            }
        }
        out
    }
}

/// Each side of the line must be one piece, or the line wandered in and
/// out of the grid.
fn one_piece_each_side(
    mine: &[usize],
    right: &[usize],
    edges: &[atoms::Edge],
    gcode: &GridCode,
) -> Result<(), SplitError> {
    let left: Vec<usize> = mine
        .iter()
        .copied()
        .filter(|i| !right.contains(i))
        .collect();
    for part in [&left[..], right] {
        let n = components(part, edges);
        if n != 1 {
            return Err(SplitError::Pieces {
                code: gcode.clone(),
                pieces: n + 1,
            });
        }
    }
    Ok(())
}

/// Whether `p` lies right of the polyline, judged by its nearest segment.
fn right_of(line: &LineString<f64>, p: Coord<f64>) -> bool {
    let mut best = (f64::INFINITY, false);
    for s in line.lines() {
        let (d, q) = (s.delta(), p - s.start);
        let len2 = d.x * d.x + d.y * d.y;
        let t = if len2 > 0.0 {
            ((q.x * d.x + q.y * d.y) / len2).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let (ex, ey) = (q.x - t * d.x, q.y - t * d.y);
        let dist = ex * ex + ey * ey;
        if dist < best.0 {
            best = (dist, d.x * q.y - d.y * q.x < 0.0);
        }
    }
    best.1
}

/// Connected parts of `atoms` over `edges`.
fn components(atoms: &[usize], edges: &[atoms::Edge]) -> usize {
    let set: HashSet<usize> = atoms.iter().copied().collect();
    let mut next: HashMap<usize, Vec<usize>> = HashMap::new();
    for e in edges {
        let (a, b) = (e.a as usize, e.b as usize);
        if set.contains(&a) && set.contains(&b) {
            next.entry(a).or_default().push(b);
            next.entry(b).or_default().push(a);
        }
    }
    let mut seen = HashSet::new();
    let mut n = 0;
    for &s in atoms {
        if !seen.insert(s) {
            continue;
        }
        n += 1;
        let mut stack = vec![s];
        while let Some(a) = stack.pop() {
            for &b in next.get(&a).into_iter().flatten() {
                if seen.insert(b) {
                    stack.push(b);
                }
            }
        }
    }
    n
}

/// The next code beside `sibling` (same parent prefix): one more than the
/// highest sequence number among `codes` under that prefix.
fn next_code(codes: &[GridCode], sibling: &GridCode, width: usize) -> GridCode {
    let s = sibling.as_str();
    let prefix = &s[..s.len().saturating_sub(width)];
    let high = codes
        .iter()
        .filter(|c| c.0.len() == s.len() && c.0.starts_with(prefix))
        .filter_map(|c| c.0[prefix.len()..].parse::<u32>().ok())
        .max()
        .unwrap_or(0);
    GridCode(format!("{prefix}{:0width$}", high + 1))
}
