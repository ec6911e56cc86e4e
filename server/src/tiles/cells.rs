//! Households as k-anonymous counts, for roles that see no household one
//! by one (`viewer`, a public map): see [`crate::access::projection`].
//!
//! One set of cells is published for the whole map, so that no zoom shows
//! more than another: households are counted in the 32 × 32 cells of their
//! zoom-[`BASE_ZOOM`] tile (about 30 m a side in China); a cell holding
//! fewer than k households gives them to the cell twice as wide that holds
//! it, with its neighbours' leftovers, up to the whole zoom-15 tile; what
//! is still fewer than k there is not shown. Every zoom draws exactly these
//! published cells: from zoom 15 on each at its centre, below zoom 15
//! summed into the zoom's own cells (sums of counts of at least k). So a
//! count below k is never published, and no two zooms can be subtracted to
//! find one.

use std::collections::BTreeMap;

use geo_types::Coord;

use super::mvt::{mercator, Frame, Layer, LayerBuilder, EXTENT};
use crate::access::Scope;
use crate::snapshot::Snapshot;

/// The zoom whose tiles households are counted and merged within.
pub const BASE_ZOOM: u8 = 15;
/// Cells a base tile side is cut into: 2^5 = 32 (128 tile units each).
const DEPTH: u8 = 5;
/// First zoom the cells are drawn at (as `household_cells` always was).
pub const MIN_ZOOM: u8 = 10;
/// Cells of tiles below the base zoom, in tile units (32 a side).
const CELL: u32 = 128;

/// A published cell: its centre (Web Mercator unit square, see
/// [`mercator`]) and how many households it holds (at least k).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cell {
    pub centre: Coord<f64>,
    pub count: u32,
}

/// The finest cell (zoom `BASE_ZOOM + DEPTH` tile coordinates) holding a
/// Web Mercator position.
pub fn fine_cell(m: Coord<f64>) -> (u32, u32) {
    let n = f64::from(1u32 << (BASE_ZOOM + DEPTH));
    let at = |v: f64| (v * n).floor().clamp(0.0, n - 1.0) as u32;
    (at(m.x), at(m.y))
}

/// The cells published for households in these finest cells (one entry
/// per household): each cell of at least `k` as it is, the others merged
/// upwards within their base tile; leftovers of a base tile below `k` are
/// dropped. Sorted, so tiles and their ETags are stable.
pub fn publish(fine: impl IntoIterator<Item = (u32, u32)>, k: u32) -> Vec<Cell> {
    let k = k.max(1);
    let mut level: BTreeMap<(u32, u32), u32> = BTreeMap::new();
    for c in fine {
        *level.entry(c).or_default() += 1;
    }
    let mut out = Vec::new();
    for depth in (0..=DEPTH).rev() {
        let n = f64::from(1u32 << (BASE_ZOOM + depth));
        let mut up: BTreeMap<(u32, u32), u32> = BTreeMap::new();
        for ((x, y), count) in level {
            if count >= k {
                let centre = Coord {
                    x: (f64::from(x) + 0.5) / n,
                    y: (f64::from(y) + 0.5) / n,
                };
                out.push(Cell { centre, count });
            } else if depth > 0 {
                *up.entry((x >> 1, y >> 1)).or_default() += count;
            }
        }
        level = up;
    }
    out.sort_by(|a, b| {
        (a.centre.y, a.centre.x)
            .partial_cmp(&(b.centre.y, b.centre.x))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    out
}

/// The base tiles a tile's cells come from: its own zoom-15 ancestor, or
/// the zoom-15 tiles under it. `(x0, y0, span)` in zoom-15 tile numbers.
fn base_tiles(frame: &Frame) -> (u32, u32, u32) {
    if frame.z >= BASE_ZOOM {
        let d = frame.z - BASE_ZOOM;
        (frame.x >> d, frame.y >> d, 1)
    } else {
        let d = BASE_ZOOM - frame.z;
        (frame.x << d, frame.y << d, 1 << d)
    }
}

/// The tile whose households a tile's cells depend on: the zoom-15
/// ancestor from zoom 15 on, the tile itself below (for cache checks).
pub fn source_frame(frame: &Frame) -> Frame {
    if frame.z > BASE_ZOOM {
        let d = frame.z - BASE_ZOOM;
        Frame::new(BASE_ZOOM, frame.x >> d, frame.y >> d).unwrap_or(*frame)
    } else {
        *frame
    }
}

/// The published cells of the households in `scope` under a tile.
pub fn cells_under(s: &Snapshot, frame: &Frame, scope: &Scope, k: u32) -> Vec<Cell> {
    let (x0, y0, span) = base_tiles(frame);
    let query = source_frame(frame).bounds();
    let fine = s
        .households
        .query(Some(query), scope, 0, usize::MAX)
        .items
        .into_iter()
        .map(|h| fine_cell(mercator(h.location.0)))
        .filter(|&(x, y)| {
            let (bx, by) = (x >> DEPTH, y >> DEPTH);
            bx >= x0 && bx < x0 + span && by >= y0 && by < y0 + span
        });
    publish(fine, k)
}

/// The `household_cells` layer of a tile for a counts-only caller, or
/// `None` below [`MIN_ZOOM`].
pub fn layer(s: &Snapshot, frame: &Frame, scope: &Scope, min_count: u32) -> Option<Layer> {
    if frame.z < MIN_ZOOM {
        return None;
    }
    let extent = f64::from(EXTENT);
    let inside = |p: Coord<f64>| p.x >= 0.0 && p.x < extent && p.y >= 0.0 && p.y < extent;
    let mut l = LayerBuilder::new("household_cells");
    let cells = cells_under(s, frame, scope, min_count);
    if frame.z >= BASE_ZOOM {
        for (i, c) in cells.iter().enumerate() {
            let p = frame.place(c.centre);
            if inside(p) {
                l.add(
                    Some(i as u64),
                    Frame::tile_point((p.x as u32, p.y as u32)),
                    &[("count", c.count.into())],
                );
            }
        }
    } else {
        let mut sums: BTreeMap<(u32, u32), u32> = BTreeMap::new();
        for c in &cells {
            let p = frame.place(c.centre);
            if inside(p) {
                *sums
                    .entry((p.x as u32 / CELL, p.y as u32 / CELL))
                    .or_default() += c.count;
            }
        }
        for ((cx, cy), n) in sums {
            let centre = (cx * CELL + CELL / 2, cy * CELL + CELL / 2);
            l.add(
                Some(u64::from(cy * (EXTENT / CELL) + cx)),
                Frame::tile_point(centre),
                &[("count", n.into())],
            );
        }
    }
    Some(l.finish())
}

#[cfg(test)]
mod test {
    use super::*;

    /// `n` households in finest cell (x, y).
    fn at(x: u32, y: u32, n: usize) -> impl Iterator<Item = (u32, u32)> {
        std::iter::repeat_n((x, y), n)
    }

    #[test]
    fn a_cell_of_four_is_not_shown_and_one_of_five_is() {
        // Base tile (1000, 1000) at zoom 15: finest cells 32000.. a side.
        let (x, y) = (1000 << DEPTH, 1000 << DEPTH);
        assert!(publish(at(x, y, 4), 5).is_empty(), "4 < k: suppressed");
        let five = publish(at(x, y, 5), 5);
        assert_eq!(five.len(), 1);
        assert_eq!(five[0].count, 5);
        // Shown at its own (finest) cell's centre.
        assert_eq!(fine_cell(five[0].centre), (x, y));
    }

    #[test]
    fn small_cells_merge_upwards_and_leftovers_vanish() {
        let (x, y) = (1000 << DEPTH, 1000 << DEPTH);
        // 3 + 2 in two neighbouring finest cells: neither shown alone, their
        // parent (twice as wide) holds 5.
        let cells = publish(at(x, y, 3).chain(at(x + 1, y, 2)), 5);
        assert_eq!(cells.len(), 1);
        assert_eq!(cells[0].count, 5);
        let parent = fine_cell(cells[0].centre);
        assert_eq!((parent.0 >> 1, parent.1 >> 1), (x >> 1, y >> 1));
        // 6 in one cell, 1 far away in the same base tile: the 6 shown,
        // the single household never (not even merged into the tile).
        let cells = publish(at(x, y, 6).chain(at(x + 31, y + 31, 1)), 5);
        assert_eq!(cells.iter().map(|c| c.count).collect::<Vec<_>>(), [6]);
        // Households of two base tiles are never merged together.
        let other = (1001 << DEPTH, 1000 << DEPTH);
        assert!(publish(at(x, y, 3).chain(at(other.0, other.1, 3)), 5).is_empty());
        // Every published count is at least k; the total never exceeds the input.
        let many: Vec<(u32, u32)> = (0..200u32)
            .map(|i| (x + i % 29, y + (i * 7) % 31))
            .collect();
        let cells = publish(many, 5);
        assert!(cells.iter().all(|c| c.count >= 5));
        assert!(cells.iter().map(|c| c.count).sum::<u32>() <= 200);
    }
}
