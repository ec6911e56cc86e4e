//! Hexagon cells for mapping where uncovered households cluster: equal
//! area, no orientation bias, and neighbours all share an edge.

use geo_types::{Coord, LineString, Polygon};

/// A pointy-top hexagon cell in axial coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cell {
    pub q: i64,
    pub r: i64,
}

const SQRT3: f64 = 1.732_050_807_568_877_2;

/// The cell holding `p` (metres) for cells of circumradius `size`.
pub fn cell_of(p: Coord<f64>, size: f64) -> Cell {
    let q = (SQRT3 / 3.0 * p.x - p.y / 3.0) / size;
    let r = (2.0 / 3.0 * p.y) / size;
    // Cube rounding: round each coordinate, then fix the one that moved most.
    let s = -q - r;
    let (mut rq, mut rr, rs) = (q.round(), r.round(), s.round());
    let (dq, dr, ds) = ((rq - q).abs(), (rr - r).abs(), (rs - s).abs());
    if dq > dr && dq > ds {
        rq = -rr - rs;
    } else if dr > ds {
        rr = -rq - rs;
    }
    Cell {
        q: rq as i64,
        r: rr as i64,
    }
}

/// The cell's outline in metres.
pub fn polygon(c: Cell, size: f64) -> Polygon<f64> {
    let cx = size * SQRT3 * (c.q as f64 + c.r as f64 / 2.0);
    let cy = size * 1.5 * c.r as f64;
    let ring: Vec<Coord<f64>> = (0..=6)
        .map(|k| {
            let a = std::f64::consts::PI / 180.0 * (60.0 * f64::from(k % 6) - 30.0);
            Coord {
                x: cx + size * a.cos(),
                y: cy + size * a.sin(),
            }
        })
        .collect();
    Polygon::new(LineString(ring), Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::Area;

    #[test]
    fn every_point_falls_in_the_cell_drawn_for_it() {
        let size = 100.0;
        for i in 0..40 {
            for j in 0..40 {
                let p = Coord {
                    x: f64::from(i) * 13.7 - 250.0,
                    y: f64::from(j) * 11.3 - 200.0,
                };
                let c = cell_of(p, size);
                // The cell is the one whose centre is nearest.
                let d = |c: Cell| {
                    let cx = size * SQRT3 * (c.q as f64 + c.r as f64 / 2.0);
                    let cy = size * 1.5 * c.r as f64;
                    (p.x - cx).hypot(p.y - cy)
                };
                for (dq, dr) in [(1, 0), (-1, 0), (0, 1), (0, -1), (1, -1), (-1, 1)] {
                    let n = Cell {
                        q: c.q + dq,
                        r: c.r + dr,
                    };
                    assert!(d(c) <= d(n) + 1e-9, "{p:?}: {c:?} is not the nearest");
                }
            }
        }
        let a = polygon(Cell { q: 0, r: 0 }, size).unsigned_area();
        assert!((a - 1.5 * SQRT3 * size * size).abs() < 1e-6);
    }
}
