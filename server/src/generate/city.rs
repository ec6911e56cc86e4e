//! The physical city, in metres on a local plane: a jittered lattice of
//! streets with arterials, merged blocks and cul-de-sacs, a river crossed
//! only by a few bridges, a railway crossed only by arterials, blocks and
//! the buildings in them.

use geo::{Contains, Distance, Euclidean};
use geo_types::{coord, Coord, LineString, Point, Polygon};
use rand::Rng;
use rand_pcg::Pcg64Mcg;

use crate::domain::RoadClass;

/// Lattice spacing: a block is about this wide.
pub const CELL_M: f64 = 200.0;
const JITTER_M: f64 = 35.0;
/// Local streets stop this far short of the railway and the river.
const SHORT_M: f64 = 15.0;
/// Households a block holds on average; sets the size of the city.
const HOUSEHOLDS_PER_BLOCK: f64 = 350.0;

/// A street, railway or bridge line.
#[derive(Debug, Clone)]
pub struct Street {
    pub class: RoadClass,
    pub name: String,
    pub line: LineString<f64>,
    /// Crosses the river.
    pub bridge: bool,
}

/// What a block is used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockUse {
    Towers,
    MidRise,
    Courtyards,
    Commercial,
    School,
    Park,
}

/// A block: one lattice cell, or two merged.
#[derive(Debug, Clone)]
pub struct Block {
    pub polygon: Polygon<f64>,
    /// The lattice cell (column, row) of its south-west corner.
    pub cell: (usize, usize),
    pub use_: BlockUse,
    /// Name of the road along its south side, for addresses.
    pub road: String,
}

/// A building footprint with its storeys and the dwellings it may hold.
#[derive(Debug, Clone)]
pub struct House {
    pub block: usize,
    pub footprint: Polygon<f64>,
    pub levels: u16,
    pub kind: &'static str,
    /// Relative capacity: residential floor area / dwelling size.
    pub dwellings: f64,
}

/// The whole physical city.
#[derive(Debug, Clone)]
pub struct City {
    /// Cells across and up; the river fills row `river_row`.
    pub width: usize,
    pub height: usize,
    pub river_row: usize,
    pub rail_col: usize,
    nodes: Vec<Coord<f64>>,
    pub streets: Vec<Street>,
    pub river: Polygon<f64>,
    pub river_line: LineString<f64>,
    pub blocks: Vec<Block>,
    pub houses: Vec<House>,
}

impl City {
    /// The position of lattice node (column `i`, row `j`).
    pub fn node(&self, i: usize, j: usize) -> Coord<f64> {
        self.nodes[j * (self.width + 1) + i]
    }

    /// The polygon of the cells `[i0, i1) × [j0, j1)`, along the lattice.
    pub fn cells_polygon(&self, i0: usize, i1: usize, j0: usize, j1: usize) -> Polygon<f64> {
        let mut ring = Vec::new();
        ring.extend((i0..=i1).map(|i| self.node(i, j0)));
        ring.extend((j0 + 1..=j1).map(|j| self.node(i1, j)));
        ring.extend((i0..i1).rev().map(|i| self.node(i, j1)));
        ring.extend((j0 + 1..j1).rev().map(|j| self.node(i0, j)));
        ring.push(ring[0]);
        Polygon::new(LineString(ring), vec![])
    }

    /// Lays out a city for about `households`.
    pub fn generate(households: u64, rng: &mut Pcg64Mcg) -> Self {
        let cells = (households as f64 / HOUSEHOLDS_PER_BLOCK * 1.12)
            .ceil()
            .max(16.0);
        let width = (cells.sqrt().ceil() as usize).max(4);
        let height = width + 1;
        let river_row = height / 2;
        let rail_col = (width * 3 / 4).max(2);
        let mut nodes = Vec::with_capacity((width + 1) * (height + 1));
        for j in 0..=height {
            for i in 0..=width {
                let edge = i == 0 || j == 0 || i == width || j == height;
                let (jx, jy) = if edge {
                    (0.0, 0.0)
                } else {
                    (
                        rng.random_range(-JITTER_M..JITTER_M),
                        rng.random_range(-JITTER_M..JITTER_M),
                    )
                };
                // The railway runs straight.
                let jx = if i == rail_col { 0.0 } else { jx };
                nodes.push(coord! { x: i as f64 * CELL_M + jx, y: j as f64 * CELL_M + jy });
            }
        }
        let mut city = City {
            width,
            height,
            river_row,
            rail_col,
            nodes,
            streets: Vec::new(),
            river: Polygon::new(LineString(vec![]), vec![]),
            river_line: LineString(vec![]),
            blocks: Vec::new(),
            houses: Vec::new(),
        };
        city.river = city.cells_polygon(0, width, river_row, river_row + 1);
        city.river_line = LineString(
            (0..=width)
                .map(|i| {
                    let (a, b) = (city.node(i, river_row), city.node(i, river_row + 1));
                    coord! { x: (a.x + b.x) / 2.0, y: (a.y + b.y) / 2.0 }
                })
                .collect(),
        );
        let merged = city.merges(rng);
        city.lay_streets(&merged, rng);
        city.lay_blocks(&merged, rng);
        city.build_houses(rng);
        city
    }

    fn arterial(k: usize) -> bool {
        k % 4 == 0
    }

    /// Which vertical edges (column `i`, row `j`) are removed to merge the
    /// cells on either side into one block (same community chunk only).
    fn merges(&self, rng: &mut Pcg64Mcg) -> Vec<bool> {
        let mut merged = vec![false; (self.width + 1) * self.height];
        for j in 0..self.height {
            let mut i = 1;
            while i < self.width {
                let ok = j != self.river_row
                    && !Self::arterial(i)
                    && i != self.rail_col
                    && i % super::COMMUNITY_CELLS != 0
                    && rng.random_bool(0.15);
                if ok {
                    merged[j * (self.width + 1) + i] = true;
                    i += 2; // a block merges at most two cells
                } else {
                    i += 1;
                }
            }
        }
        merged
    }

    fn lay_streets(&mut self, merged: &[bool], rng: &mut Pcg64Mcg) {
        let (w, h) = (self.width, self.height);
        let class_of = |k: usize, outer: bool| {
            if k % 8 == 0 && !outer {
                RoadClass::Primary
            } else if Self::arterial(k) {
                RoadClass::Secondary
            } else if outer {
                RoadClass::Tertiary
            } else {
                RoadClass::Residential
            }
        };
        let mut streets = Vec::new();
        // Cul-de-sacs go into a third of the blocks, from the south side;
        // the street they leave is split there so the network has the node.
        let mut culdesac = vec![false; w * h];
        for j in 0..h {
            for i in 0..w {
                culdesac[j * w + i] = j != self.river_row
                    && i + 1 != self.rail_col
                    && i != self.rail_col
                    && rng.random_bool(0.3);
            }
        }
        let mid =
            |a: Coord<f64>, b: Coord<f64>| coord! { x: (a.x + b.x) / 2.0, y: (a.y + b.y) / 2.0 };
        // East-west streets along each row of nodes.
        for j in 0..=h {
            let outer = j == 0 || j == h;
            let class = class_of(j, outer);
            let name = super::names::road(j, true);
            for i in 0..w {
                let (mut a, mut b) = (self.node(i, j), self.node(i + 1, j));
                let through = Self::arterial(j) || outer;
                if !through && i + 1 == self.rail_col {
                    b = towards(b, a, SHORT_M);
                }
                if !through && i == self.rail_col {
                    a = towards(a, b, SHORT_M);
                }
                let line = if j < h && culdesac[j * w + i] {
                    vec![a, mid(a, b), b]
                } else {
                    vec![a, b]
                };
                streets.push(Street {
                    class,
                    name: name.clone(),
                    line: LineString(line),
                    bridge: false,
                });
            }
        }
        // North-south streets along each column, except the railway's.
        for i in 0..=w {
            if i == self.rail_col {
                continue;
            }
            let outer = i == 0 || i == w;
            let class = class_of(i, outer);
            let name = super::names::road(i + 100, false);
            for j in 0..h {
                if merged[j * (w + 1) + i] {
                    continue;
                }
                let bridge = j == self.river_row;
                // Few crossings: every 8th column, and the middle one so that
                // a small city has a bridge too.
                if bridge && !((i % 8 == 0 || i == w / 2) && i != 0 && i != w) {
                    continue;
                }
                let (a, b) = (self.node(i, j), self.node(i, j + 1));
                let class = if bridge { RoadClass::Primary } else { class };
                streets.push(Street {
                    class,
                    name: name.clone(),
                    line: LineString(vec![a, b]),
                    bridge,
                });
            }
        }
        for j in 0..h {
            for i in 0..w {
                if !culdesac[j * w + i] {
                    continue;
                }
                let m = mid(self.node(i, j), self.node(i + 1, j));
                let end = coord! { x: m.x, y: m.y + CELL_M * 0.4 };
                streets.push(Street {
                    class: RoadClass::Service,
                    name: format!("{}{}巷", super::names::place(j), i + 1),
                    line: LineString(vec![m, end]),
                    bridge: false,
                });
            }
        }
        // The railway, straight along its column.
        streets.push(Street {
            class: RoadClass::Railway,
            name: "阳安铁路".into(),
            line: LineString((0..=h).map(|j| self.node(self.rail_col, j)).collect()),
            bridge: false,
        });
        self.streets = streets;
    }

    fn lay_blocks(&mut self, merged: &[bool], rng: &mut Pcg64Mcg) {
        let (w, h) = (self.width, self.height);
        let centre = coord! { x: w as f64 * CELL_M / 2.0, y: h as f64 * CELL_M / 2.0 };
        let radius = centre.x.hypot(centre.y);
        for j in 0..h {
            if j == self.river_row {
                continue;
            }
            let mut i = 0;
            while i < w {
                let span = if i + 1 < w && merged[j * (w + 1) + i + 1] {
                    2
                } else {
                    1
                };
                let polygon = self.cells_polygon(i, i + span, j, j + 1);
                let c = self.node(i, j);
                let d = (c.x - centre.x).hypot(c.y - centre.y) / radius;
                let roll: f64 = rng.random();
                let use_ = if roll < 0.03 {
                    BlockUse::Park
                } else if roll < 0.06 {
                    BlockUse::School
                } else if roll < 0.10 {
                    BlockUse::Commercial
                } else if d < 0.3 {
                    BlockUse::Towers
                } else if d < 0.65 {
                    BlockUse::MidRise
                } else {
                    BlockUse::Courtyards
                };
                self.blocks.push(Block {
                    polygon,
                    cell: (i, j),
                    use_,
                    road: super::names::road(j, true),
                });
                i += span;
            }
        }
    }

    fn build_houses(&mut self, rng: &mut Pcg64Mcg) {
        for (bi, block) in self.blocks.iter().enumerate() {
            // (footprint w × d, spacing x × y, levels range, kind, residential share)
            let (w, d, sx, sy, levels, kind, share) = match block.use_ {
                BlockUse::Park => continue,
                BlockUse::Towers => (26.0, 22.0, 48.0, 46.0, (18, 33), "apartments", 0.95),
                BlockUse::MidRise => (48.0, 14.0, 60.0, 34.0, (6, 11), "apartments", 0.95),
                BlockUse::Courtyards => (24.0, 10.0, 30.0, 22.0, (2, 5), "residential", 1.0),
                BlockUse::Commercial => (40.0, 30.0, 60.0, 50.0, (3, 12), "commercial", 0.1),
                BlockUse::School => (50.0, 16.0, 80.0, 60.0, (3, 5), "school", 0.0),
            };
            let rect =
                geo::BoundingRect::bounding_rect(&block.polygon).expect("a block has corners");
            let setback = 9.0;
            let mut y = rect.min().y + setback;
            while y + d <= rect.max().y - setback {
                let mut x = rect.min().x + setback;
                while x + w <= rect.max().x - setback {
                    let corners = [
                        coord! { x: x, y: y },
                        coord! { x: x + w, y: y },
                        coord! { x: x + w, y: y + d },
                        coord! { x: x, y: y + d },
                    ];
                    let inside = corners.iter().all(|c| {
                        let p = Point(*c);
                        block.polygon.contains(&p)
                            && Euclidean.distance(&p, block.polygon.exterior()) >= setback
                    });
                    if inside {
                        let levels = rng.random_range(levels.0..=levels.1);
                        let mut ring = corners.to_vec();
                        ring.push(corners[0]);
                        self.houses.push(House {
                            block: bi,
                            footprint: Polygon::new(LineString(ring), vec![]),
                            levels,
                            kind,
                            dwellings: w * d * f64::from(levels) * share / 90.0,
                        });
                    }
                    x += sx;
                }
                y += sy;
            }
        }
    }
}

/// `from` moved `metres` towards `to`.
fn towards(from: Coord<f64>, to: Coord<f64>, metres: f64) -> Coord<f64> {
    let (dx, dy) = (to.x - from.x, to.y - from.y);
    let len = dx.hypot(dy);
    coord! { x: from.x + dx / len * metres, y: from.y + dy / len * metres }
}
