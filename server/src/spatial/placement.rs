//! Placing points in regions: an R-tree over region bounding boxes, then an
//! exact point-in-polygon test.
//!
//! # The boundary rule
//!
//! A point belongs to every region whose *closed* polygon holds it (edges
//! and vertices included, holes excluded). When several do — the point lies
//! on a shared edge or vertex, or regions nest — the most specific region
//! wins (the longest significant code, e.g. a community before its street),
//! then the smallest code. So the answer never depends on import order, and
//! a household on the line between two communities always lands in the
//! same one.

use geo::{BoundingRect, Contains, Intersects};
use geo_types::{MultiPolygon, Point};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, AABB};

use crate::domain::RegionCode;

type Entry = GeomWithData<Rectangle<[f64; 2]>, usize>;

/// Regions indexed for placement. Build: O(n log n); a lookup: O(log n)
/// plus the exact tests on the few candidates.
///
/// # Examples
///
/// Two communities side by side: a household on the edge they share
/// lands in the one with the smaller code, whatever the order they came in.
///
/// ```
/// use geo_types::{point, MultiPolygon, Rect};
/// use wangge::domain::RegionCode;
/// use wangge::spatial::placement::RegionIndex;
///
/// let square = |x: f64| MultiPolygon(vec![Rect::new((x, 0.0), (x + 1.0, 1.0)).to_polygon()]);
/// let west: RegionCode = "610902001001".parse()?;
/// let east: RegionCode = "610902001002".parse()?;
/// let index = RegionIndex::new(&[(east, square(1.0)), (west, square(0.0))]);
/// assert_eq!(index.locate(point!(x: 1.5, y: 0.5)), Some(east));
/// assert_eq!(index.locate(point!(x: 1.0, y: 0.5)), Some(west)); // on the shared edge
/// assert_eq!(index.locate(point!(x: 5.0, y: 0.5)), None);
/// # Ok::<(), wangge::domain::RegionCodeError>(())
/// ```
pub struct RegionIndex {
    regions: Vec<(RegionCode, usize, MultiPolygon<f64>)>,
    tree: RTree<Entry>,
}

impl RegionIndex {
    pub fn new(regions: &[(RegionCode, MultiPolygon<f64>)]) -> Self {
        let regions: Vec<_> = regions
            .iter()
            .map(|(c, g)| (*c, c.significant().len(), g.clone()))
            .collect();
        let entries = regions
            .iter()
            .enumerate()
            .filter_map(|(i, (_, _, g))| {
                let r = g.bounding_rect()?;
                Some(Entry::new(
                    Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]),
                    i,
                ))
            })
            .collect();
        Self {
            regions,
            tree: RTree::bulk_load(entries),
        }
    }

    pub fn len(&self) -> usize {
        self.regions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.regions.is_empty()
    }

    /// The region `p` belongs to under the boundary rule, if any.
    pub fn locate(&self, p: Point<f64>) -> Option<RegionCode> {
        let q = AABB::from_point([p.x(), p.y()]);
        let mut best: Option<(usize, RegionCode)> = None;
        for e in self.tree.locate_in_envelope_intersecting(&q) {
            let (code, specificity, geom) = &self.regions[e.data];
            // `contains` excludes the boundary; `intersects` includes it, so
            // try the cheap common case first.
            if !(geom.contains(&p) || geom.intersects(&p)) {
                continue;
            }
            let better = match best {
                None => true,
                Some((s, c)) => *specificity > s || (*specificity == s && *code < c),
            };
            if better {
                best = Some((*specificity, *code));
            }
        }
        best.map(|(_, c)| c)
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use geo_types::{point, polygon};

    fn sq(x0: f64, y0: f64, size: f64) -> MultiPolygon<f64> {
        MultiPolygon(vec![polygon![
            (x: x0, y: y0), (x: x0 + size, y: y0), (x: x0 + size, y: y0 + size), (x: x0, y: y0 + size), (x: x0, y: y0)
        ]])
    }

    fn code(s: &str) -> RegionCode {
        s.parse().unwrap()
    }

    #[test]
    fn shared_edges_and_vertices_go_to_the_smallest_code() {
        let idx = RegionIndex::new(&[
            (code("610902002"), sq(1.0, 0.0, 1.0)),
            (code("610902001"), sq(0.0, 0.0, 1.0)),
            (code("610902003"), sq(0.0, 1.0, 1.0)),
        ]);
        assert_eq!(idx.locate(point!(x: 0.5, y: 0.5)), Some(code("610902001")));
        assert_eq!(idx.locate(point!(x: 1.5, y: 0.5)), Some(code("610902002")));
        // on the edge between 001 and 002
        assert_eq!(idx.locate(point!(x: 1.0, y: 0.5)), Some(code("610902001")));
        // on the vertex shared by all three
        assert_eq!(idx.locate(point!(x: 1.0, y: 1.0)), Some(code("610902001")));
        // on the outer boundary of 002 only
        assert_eq!(idx.locate(point!(x: 2.0, y: 0.5)), Some(code("610902002")));
        assert_eq!(idx.locate(point!(x: 3.0, y: 0.5)), None);
    }

    #[test]
    fn holes_multi_parts_and_nesting() {
        let with_hole = MultiPolygon(vec![
            polygon!(
                exterior: [(x: 0.0, y: 0.0), (x: 4.0, y: 0.0), (x: 4.0, y: 4.0), (x: 0.0, y: 4.0), (x: 0.0, y: 0.0)],
                interiors: [[(x: 1.0, y: 1.0), (x: 3.0, y: 1.0), (x: 3.0, y: 3.0), (x: 1.0, y: 3.0), (x: 1.0, y: 1.0)]],
            ),
            polygon![(x: 10.0, y: 0.0), (x: 11.0, y: 0.0), (x: 11.0, y: 1.0), (x: 10.0, y: 0.0)],
        ]);
        let street = code("610902001");
        let community = code("610902001005");
        let idx = RegionIndex::new(&[(street, with_hole), (community, sq(0.0, 0.0, 0.5))]);
        assert_eq!(idx.locate(point!(x: 2.0, y: 2.0)), None, "in the hole");
        assert_eq!(
            idx.locate(point!(x: 10.8, y: 0.2)),
            Some(street),
            "second part"
        );
        assert_eq!(
            idx.locate(point!(x: 0.25, y: 0.25)),
            Some(community),
            "the community is more specific"
        );
        assert_eq!(idx.locate(point!(x: 0.5, y: 3.5)), Some(street));
    }

    #[test]
    fn far_from_the_origin_stays_exact() {
        // Real coordinates: a point 1e-9° inside a region edge near Ankang.
        let a = code("610902001");
        let idx = RegionIndex::new(&[(a, sq(109.0, 32.6, 0.01))]);
        assert_eq!(idx.locate(point!(x: 109.000_000_001, y: 32.605)), Some(a));
        assert_eq!(idx.locate(point!(x: 108.999_999_999, y: 32.605)), None);
    }
}
