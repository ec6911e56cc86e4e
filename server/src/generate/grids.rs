//! The grids a city drew by hand before it had wangge: each block (cut at
//! community lines) a level-1 grid, three strips of it level-2 grids, and
//! each strip's halves level-3 grids. A few defects are planted on purpose
//! (a block nobody gridded, a level-3 grid drawn 20 m into its neighbours)
//! so coverage analysis has known gaps to find.

use geo::{BooleanOps, BoundingRect};
use geo_types::{coord, MultiPolygon, Polygon, Rect};

use super::city::City;
use crate::domain::RegionCode;

/// A grid in local metres.
#[derive(Debug, Clone)]
pub struct DrawnGrid {
    pub region: RegionCode,
    pub level: u8,
    pub code: String,
    pub parent: Option<String>,
    pub polygon: MultiPolygon<f64>,
}

/// A defect planted on purpose.
#[derive(Debug, Clone, PartialEq)]
pub struct Planted {
    /// `gap` (a block in no grid) or `overlap` (a level-3 grid drawn into
    /// its neighbours, which also breaks nesting).
    pub kind: &'static str,
    pub region: RegionCode,
    /// For a gap, the land left out, m²; for an overlap, the grid's code.
    pub area_m2: f64,
    pub grid: Option<String>,
}

/// One community in this many leaves a block out of its grids; one in
/// `OVERLAP_EVERY` draws a grid into its neighbours.
const UNGRIDDED_EVERY: usize = 11;
const OVERLAP_EVERY: usize = 13;
const OVERLAP_M: f64 = 20.0;

fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> MultiPolygon<f64> {
    MultiPolygon(vec![Rect::new(
        coord! { x: x0, y: y0 },
        coord! { x: x1, y: y1 },
    )
    .to_polygon()])
}

/// Draws the grids. `community_of_cell` gives each lattice cell's community.
#[allow(
    clippy::too_many_lines,
    reason = "draws each community's grids in block order; split, the random draws would change order and the city with them"
)]
pub fn draw(city: &City, community_of_cell: &[RegionCode]) -> (Vec<DrawnGrid>, Vec<Planted>) {
    // Block pieces per community, in block order (west→east, south→north).
    let mut pieces: Vec<(RegionCode, MultiPolygon<f64>)> = Vec::new();
    for b in &city.blocks {
        let (i, j) = b.cell;
        let here = community_of_cell[j * city.width + i];
        let east = (i + 1 < city.width).then(|| community_of_cell[j * city.width + i + 1]);
        let spans_two = geo::Area::unsigned_area(&b.polygon)
            > geo::Area::unsigned_area(&city.cells_polygon(i, i + 1, j, j + 1)) * 1.2;
        let block = MultiPolygon(vec![b.polygon.clone()]);
        match east {
            Some(e) if spans_two && e != here => {
                for (k, code) in [(i, here), (i + 1, e)] {
                    let cell = MultiPolygon(vec![city.cells_polygon(k, k + 1, j, j + 1)]);
                    pieces.push((code, block.intersection(&cell)));
                }
            }
            _ => pieces.push((here, block)),
        }
    }
    let mut communities: Vec<RegionCode> = pieces.iter().map(|p| p.0).collect();
    communities.sort_unstable();
    communities.dedup();
    let ungridded: Vec<RegionCode> = communities
        .iter()
        .copied()
        .skip(5)
        .step_by(UNGRIDDED_EVERY)
        .collect();
    let overlapping: Vec<RegionCode> = communities
        .iter()
        .copied()
        .skip(2)
        .step_by(OVERLAP_EVERY)
        .collect();
    let mut grids = Vec::new();
    let mut planted = Vec::new();
    let mut seq: std::collections::HashMap<RegionCode, u32> = std::collections::HashMap::new();
    for (region, piece) in pieces {
        let n = seq.entry(region).or_default();
        *n += 1;
        if *n == 1 && ungridded.contains(&region) {
            planted.push(Planted {
                kind: "gap",
                region,
                area_m2: geo::Area::unsigned_area(&piece),
                grid: None,
            });
            continue;
        }
        let Some(bb) = piece.bounding_rect() else {
            continue;
        };
        let l1 = format!("{region}{n:03}");
        grids.push(DrawnGrid {
            region,
            level: 1,
            code: l1.clone(),
            parent: None,
            polygon: piece.clone(),
        });
        let w = bb.width() / 3.0;
        let ymid = bb.min().y + bb.height() / 2.0;
        for s in 0..3u32 {
            let x0 = bb.min().x + w * f64::from(s);
            let x1 = if s == 2 { bb.max().x } else { x0 + w };
            let (x0, x1) = (
                if s == 0 { x0 - 1.0 } else { x0 },
                if s == 2 { x1 + 1.0 } else { x1 },
            );
            let l2 = format!("{l1}{:02}", s + 1);
            let strip = piece.intersection(&rect(x0, bb.min().y - 1.0, x1, bb.max().y + 1.0));
            grids.push(DrawnGrid {
                region,
                level: 2,
                code: l2.clone(),
                parent: Some(l1.clone()),
                polygon: strip,
            });
            for half in 0..2u32 {
                let (y0, y1) = if half == 0 {
                    (bb.min().y - 1.0, ymid)
                } else {
                    (ymid, bb.max().y + 1.0)
                };
                let code = format!("{l2}{:02}", half + 1);
                let overlap = *n == 2 && s == 0 && half == 0 && overlapping.contains(&region);
                let cut = if overlap {
                    // Drawn 20 m into the next strip: overlaps its grids and
                    // leaves its own level-2 grid.
                    planted.push(Planted {
                        kind: "overlap",
                        region,
                        area_m2: 0.0,
                        grid: Some(code.clone()),
                    });
                    rect(x0, y0, x1 + OVERLAP_M, y1)
                } else {
                    rect(x0, y0, x1, y1)
                };
                grids.push(DrawnGrid {
                    region,
                    level: 3,
                    code,
                    parent: Some(l2.clone()),
                    polygon: piece.intersection(&cut),
                });
            }
        }
    }
    grids.retain(|g| geo::Area::unsigned_area(&g.polygon) > 0.0);
    (grids, planted)
}

/// Keeps only polygons (an intersection can leave slivers of zero area).
pub fn clean(m: MultiPolygon<f64>) -> MultiPolygon<f64> {
    MultiPolygon(
        m.0.into_iter()
            .filter(|p: &Polygon<f64>| geo::Area::unsigned_area(p) > 1e-6)
            .collect(),
    )
}
