//! Which atoms share a boundary, how long it is and what runs along it.

use std::collections::HashMap;

use geo_types::Polygon;
use rstar::primitives::{GeomWithData, Line as RLine};
use rstar::{PointDistance, RTree, AABB};

use super::{Cut, Edge, EdgeKind};

type Seg = GeomWithData<RLine<[f64; 2]>, (u32, u8)>;

/// Shared boundaries between polygons that meet along edges (not only at
/// points), with what runs along them; and the shared length per polygon.
pub(super) fn adjacency(polys: &[Polygon<f64>], cuts: &[&Cut]) -> (Vec<Edge>, Vec<f64>) {
    const EPS: f64 = 1e-3;
    let mut segs: Vec<Seg> = Vec::new();
    for (i, p) in polys.iter().enumerate() {
        for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
            for l in ring.lines() {
                if (l.end.x - l.start.x).hypot(l.end.y - l.start.y) > EPS {
                    segs.push(GeomWithData::new(
                        RLine::new([l.start.x, l.start.y], [l.end.x, l.end.y]),
                        (i as u32, 0),
                    ));
                }
            }
        }
    }
    let mut lines: Vec<Seg> = Vec::new();
    for c in cuts {
        for l in c.line.lines() {
            lines.push(GeomWithData::new(
                RLine::new([l.start.x, l.start.y], [l.end.x, l.end.y]),
                (0, c.kind as u8),
            ));
        }
    }
    let kinds = [
        EdgeKind::Open,
        EdgeKind::Path,
        EdgeKind::Minor,
        EdgeKind::Major,
        EdgeKind::River,
        EdgeKind::Railway,
    ];
    let line_tree = RTree::bulk_load(lines);
    let tree = RTree::bulk_load(segs.clone());
    // (a, b) -> length per kind
    let mut pairs: HashMap<(u32, u32), [f64; 6]> = HashMap::new();
    let mut shared = vec![0.0; polys.len()];
    for s in &segs {
        let (a, _) = s.data;
        let (p, q) = (s.geom().from, s.geom().to);
        let (dx, dy) = (q[0] - p[0], q[1] - p[1]);
        let len = dx.hypot(dy);
        let (ux, uy) = (dx / len, dy / len);
        let env = AABB::from_corners(
            [p[0].min(q[0]) - EPS, p[1].min(q[1]) - EPS],
            [p[0].max(q[0]) + EPS, p[1].max(q[1]) + EPS],
        );
        for t in tree.locate_in_envelope_intersecting(&env) {
            let b = t.data.0;
            if b == a {
                continue;
            }
            let (r, s2) = (t.geom().from, t.geom().to);
            let off = |c: [f64; 2]| ((c[0] - p[0]) * uy - (c[1] - p[1]) * ux).abs();
            if off(r) > EPS || off(s2) > EPS {
                continue;
            }
            let along = |c: [f64; 2]| (c[0] - p[0]) * ux + (c[1] - p[1]) * uy;
            let (u0, u1) = (along(r), along(s2));
            let lo = u0.min(u1).max(0.0);
            let hi = u0.max(u1).min(len);
            if hi - lo <= EPS {
                continue;
            }
            shared[a as usize] += hi - lo;
            if a < b {
                let mid = (lo + hi) / 2.0;
                let m = [p[0] + ux * mid, p[1] + uy * mid];
                let kind = line_tree
                    .locate_within_distance(m, 0.05 * 0.05)
                    .filter(|l| l.geom().distance_2(&m) <= 0.05 * 0.05)
                    .map(|l| l.data.1)
                    .max()
                    .unwrap_or(0);
                pairs.entry((a, b)).or_insert([0.0; 6])[kind as usize] += hi - lo;
            }
        }
    }
    let mut edges: Vec<Edge> = pairs
        .into_iter()
        .map(|((a, b), by)| {
            let total: f64 = by.iter().sum();
            let on_lines: f64 = by[1..].iter().sum();
            let kind = if on_lines * 2.0 >= total {
                let k = (1..6).max_by(|&i, &j| by[i].total_cmp(&by[j])).unwrap_or(0);
                kinds[k]
            } else {
                EdgeKind::Open
            };
            Edge {
                a,
                b,
                length_m: total,
                kind,
            }
        })
        .collect();
    edges.sort_by_key(|e| (e.a, e.b));
    (edges, shared)
}
