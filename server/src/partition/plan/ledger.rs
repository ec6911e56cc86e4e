//! Per-atom figures kept with an evaluated plan, and the measuring of a
//! grid from them.

use geo::{Area, BoundingRect, Validation};

use super::super::atoms::{self, Atoms};
use super::super::LevelSpec;
use super::circle::reock;
use super::ground::{Ground, Local};
use super::{Grid, GridMetrics, Settings};
use crate::domain::{GridCode, Household, Level, Plan};
use crate::spatial::projection::LocalProjection;

/// Whether a set of households all live in one building.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OneBuilding {
    /// No households.
    Empty,
    One(i64),
    /// Several buildings, or some household in none.
    Several,
}

impl OneBuilding {
    fn with(self, building: Option<i64>) -> Self {
        self.join(building.map_or(Self::Several, Self::One))
    }

    fn join(self, other: Self) -> Self {
        match (self, other) {
            (Self::Empty, x) | (x, Self::Empty) => x,
            (Self::One(a), Self::One(b)) if a == b => Self::One(a),
            _ => Self::Several,
        }
    }
}

/// What a grid's figures are made of, per atom, kept with an evaluated
/// plan so that the grids an edit touches are measured again without
/// placing a household or cutting an atom.
#[derive(Debug)]
pub struct Ledger {
    /// The atoms in the region's local plane.
    pub(super) set: Atoms,
    /// Households per atom by care level index.
    care: Vec<Vec<u32>>,
    /// The one building all of an atom's households live in, if they do
    /// (a tower cut between its households gives several such atoms).
    building: Vec<OneBuilding>,
    pub(super) proj: LocalProjection,
    pub(super) snap: atoms::Snap,
    degrees: atoms::Snap,
    levels: Vec<LevelSpec>,
    care_keys: Vec<String>,
    /// Households an atom holds at most before it counts as a tower.
    max_households: u32,
}

impl Ledger {
    pub(super) fn new(set: Atoms, loc: &Local, ground: &Ground<'_>, settings: &Settings) -> Self {
        let keys = settings.care_keys.len().max(3);
        let (care, building) = count(&set, &ground.households, keys);
        Self {
            snap: atoms::Snap::of(&loc.boundary),
            degrees: ground
                .region
                .boundary
                .bounding_rect()
                .map_or(atoms::Snap::within(180.0), |r| {
                    atoms::Snap::around(r.center(), r.width().max(r.height()))
                }),
            proj: loc.proj,
            care,
            building,
            levels: settings.levels.clone(),
            care_keys: settings.care_keys.clone(),
            max_households: settings.atoms.max_households,
            set,
        }
    }

    /// This ledger over `households` (the region's ground households, in
    /// layer order, after a write): each placed in its atom again as
    /// evaluating places it, the atoms' shapes, edges and projection
    /// kept. What a household write changes of a plan, without cutting an
    /// atom or drawing a grid.
    pub(super) fn recounted(&self, households: &[&Household]) -> Self {
        let dwellers: Vec<atoms::Dweller> = households
            .iter()
            .map(|h| atoms::Dweller {
                at: self.proj.forward(h.location.0),
                building: h.building,
            })
            .collect();
        let faces: Vec<&geo_types::Polygon<f64>> = self.set.geometry.iter().collect();
        let members = atoms::place_in(&faces, &dwellers);
        let mut set = self.set.clone();
        set.households = members.iter().map(|m| m.len() as u32).collect();
        set.of_household = vec![u32::MAX; dwellers.len()];
        set.towers.clear();
        for (i, m) in members.iter().enumerate() {
            for &h in m {
                set.of_household[h] = i as u32;
            }
            if m.len() as u32 > self.max_households {
                set.towers.push(i as u32);
            }
        }
        let (care, building) = count(&set, households, self.care.first().map_or(3, Vec::len));
        Self {
            set,
            care,
            building,
            proj: self.proj,
            snap: self.snap,
            degrees: self.degrees,
            levels: self.levels.clone(),
            care_keys: self.care_keys.clone(),
            max_households: self.max_households,
        }
    }

    /// Households in each atom.
    pub fn households(&self) -> &[u32] {
        &self.set.households
    }

    /// The atom of each household of the region's ground, in its order
    /// (`None` for one outside every atom).
    pub fn atom_of_household(&self, h: usize) -> Option<usize> {
        self.set
            .of_household
            .get(h)
            .filter(|&&a| a != u32::MAX)
            .map(|&a| a as usize)
    }

    /// Households of the atom by care level index.
    pub fn care(&self, atom: usize) -> &[u32] {
        &self.care[atom]
    }

    /// The local plane the atoms were cut in.
    pub fn projection(&self) -> &LocalProjection {
        &self.proj
    }

    /// Atom polygons in the local plane.
    pub fn local_atoms(&self) -> &[geo_types::Polygon<f64>] {
        &self.set.geometry
    }

    pub(super) fn members(labels: &[u32], n: usize) -> Vec<Vec<usize>> {
        let mut members = vec![Vec::new(); n];
        for (a, &g) in labels.iter().enumerate() {
            if let Some(m) = members.get_mut(g as usize) {
                m.push(a);
            }
        }
        members
    }

    /// Boundary of each grid with other grids, and the part of it along
    /// lines (roads, rivers, railways), metres.
    pub(super) fn cuts(&self, labels: &[u32], n: usize) -> (Vec<f64>, Vec<f64>) {
        let (mut cut, mut along) = (vec![0.0; n], vec![0.0; n]);
        for e in &self.set.edges {
            let (ga, gb) = (labels[e.a as usize] as usize, labels[e.b as usize] as usize);
            if ga != gb && ga < n && gb < n {
                for g in [ga, gb] {
                    cut[g] += e.length_m;
                    if e.kind.is_line() {
                        along[g] += e.length_m;
                    }
                }
            }
        }
        (cut, along)
    }

    /// Grid `g` of level index `l` with its atoms `members`, measured.
    pub(super) fn grid(
        &self,
        l: usize,
        g: usize,
        members: &[usize],
        labels: &[Vec<u32>],
        codes: &[Vec<GridCode>],
        (cut, along): (f64, f64),
    ) -> Grid {
        let shape = atoms::union(self.snap, members.iter().map(|&a| &self.set.geometry[a]));
        let area = shape.unsigned_area();
        let perimeter: f64 = shape.0.iter().map(atoms::perimeter).sum();
        let pp = if perimeter > 0.0 {
            4.0 * std::f64::consts::PI * area / (perimeter * perimeter)
        } else {
            0.0
        };
        let reock = reock(&shape, area);
        let mut wgs = self.proj.unproject(&shape);
        if !wgs.is_valid() {
            // A vertex on an edge in the plane can land a hair across
            // it in degrees: node the ring again there.
            wgs = atoms::union(self.degrees, wgs.0.iter());
        }
        let valid = wgs.is_valid();
        if !valid {
            tracing::warn!(grid = %codes[l][g], errors = ?wgs.validation_errors(), "grid geometry invalid");
        }
        let parent = (l > 0).then(|| {
            let a = members.first().copied().unwrap_or(0);
            codes[l - 1][labels[l - 1][a] as usize].clone()
        });
        Grid {
            level: Level::new(l as u8 + 1).unwrap_or(Level::THREE),
            id: g as u32,
            code: codes[l][g].clone(),
            parent,
            geometry: wgs,
            valid,
            metrics: self.figures(
                l,
                members,
                GridMetrics {
                    pieces: shape.0.len() as u32,
                    polsby_popper: pp,
                    reock,
                    road_share: if cut > 0.0 { along / cut } else { 1.0 },
                    area_m2: area,
                    atoms: members.len() as u32,
                    ..GridMetrics::default()
                },
            ),
        }
    }

    /// `shape`'s figures with the household ones (households, by care
    /// level, deviation, in range, tower) counted from the atoms
    /// `members` of a grid of level index `l`.
    pub(super) fn figures(&self, l: usize, members: &[usize], shape: GridMetrics) -> GridMetrics {
        let spec = self.levels[l];
        let households: u32 = members.iter().map(|&a| self.set.households[a]).sum();
        let mut by_care = vec![0u32; self.care.first().map_or(3, Vec::len)];
        for &a in members {
            for (t, n) in by_care.iter_mut().zip(&self.care[a]) {
                *t += n;
            }
        }
        // A grid is a tower when it holds an atom too heavy for its level,
        // or when all its households live in one building (a tower cut
        // between households into several grids).
        let tower = members
            .iter()
            .any(|&a| f64::from(self.set.households[a]) > spec.max)
            || matches!(
                members
                    .iter()
                    .fold(OneBuilding::Empty, |acc, &a| acc.join(self.building[a])),
                OneBuilding::One(_)
            );
        GridMetrics {
            households,
            by_care: self
                .care_keys
                .iter()
                .enumerate()
                .map(|(i, k)| (k.clone(), by_care.get(i).copied().unwrap_or(0)))
                .collect(),
            deviation: (f64::from(households) - spec.target) / spec.target,
            in_range: f64::from(households) >= spec.min && f64::from(households) <= spec.max,
            tower,
            ..shape
        }
    }

    /// The grids named in `which` (level index, grid id) of `plan`, a
    /// labelling of these same atoms, measured as [`evaluate`](super::evaluate) would.
    pub fn measure(&self, plan: &Plan, which: &[(usize, u32)]) -> Vec<Grid> {
        let levels = self.levels.len().min(3);
        let labels: Vec<Vec<u32>> = (0..levels)
            .map(|l| plan.labels.iter().map(|g| g.0[l]).collect())
            .collect();
        let codes: Vec<Vec<GridCode>> = (0..levels).map(|l| plan.codes[l].clone()).collect();
        let mut out = Vec::new();
        for l in 0..levels {
            let wanted: Vec<u32> = which.iter().filter(|w| w.0 == l).map(|w| w.1).collect();
            if wanted.is_empty() {
                continue;
            }
            let n = codes[l].len();
            let members = Self::members(&labels[l], n);
            let (cut, along) = self.cuts(&labels[l], n);
            for g in wanted {
                let g = g as usize;
                if g < n && !members[g].is_empty() {
                    out.push(self.grid(l, g, &members[g], &labels, &codes, (cut[g], along[g])));
                }
            }
        }
        out
    }
}

/// Households per atom by care level index (`keys` of them), and the one
/// building each atom's households live in, if they do.
fn count(set: &Atoms, households: &[&Household], keys: usize) -> (Vec<Vec<u32>>, Vec<OneBuilding>) {
    let mut care = vec![vec![0u32; keys]; set.len()];
    let mut building = vec![OneBuilding::Empty; set.len()];
    for (h, &a) in set.of_household.iter().enumerate() {
        if a != u32::MAX {
            let c = usize::from(households[h].care.0).min(keys - 1);
            care[a as usize][c] += 1;
            let b = &mut building[a as usize];
            *b = b.with(households[h].building);
        }
    }
    (care, building)
}
