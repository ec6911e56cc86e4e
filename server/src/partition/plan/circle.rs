//! Compactness against the smallest circle around a shape (Reock).

use geo::ConvexHull;
use geo_types::{Coord, MultiPolygon};

/// Area over the area of the smallest circle around the shape.
pub(super) fn reock(shape: &MultiPolygon<f64>, area: f64) -> f64 {
    let hull = shape.convex_hull();
    let pts: Vec<Coord<f64>> = hull.exterior().0.clone();
    let r = smallest_circle(&pts).2;
    if r > 0.0 {
        area / (std::f64::consts::PI * r * r)
    } else {
        0.0
    }
}

/// Smallest enclosing circle (Welzl, iterative form) of a few points:
/// `(cx, cy, r)`.
pub(super) fn smallest_circle(pts: &[Coord<f64>]) -> (f64, f64, f64) {
    let inside = |c: (f64, f64, f64), p: Coord<f64>| {
        (p.x - c.0).hypot(p.y - c.1) <= c.2 * (1.0 + 1e-12) + 1e-9
    };
    let two = |a: Coord<f64>, b: Coord<f64>| {
        (
            (a.x + b.x) / 2.0,
            (a.y + b.y) / 2.0,
            (a.x - b.x).hypot(a.y - b.y) / 2.0,
        )
    };
    let three = |a: Coord<f64>, b: Coord<f64>, c: Coord<f64>| {
        let d = 2.0 * (a.x * (b.y - c.y) + b.x * (c.y - a.y) + c.x * (a.y - b.y));
        if d.abs() < 1e-12 {
            // Collinear: the widest pair.
            let mut best = two(a, b);
            for cand in [two(a, c), two(b, c)] {
                if cand.2 > best.2 {
                    best = cand;
                }
            }
            return best;
        }
        let (a2, b2, c2) = (
            a.x * a.x + a.y * a.y,
            b.x * b.x + b.y * b.y,
            c.x * c.x + c.y * c.y,
        );
        let ux = (a2 * (b.y - c.y) + b2 * (c.y - a.y) + c2 * (a.y - b.y)) / d;
        let uy = (a2 * (c.x - b.x) + b2 * (a.x - c.x) + c2 * (b.x - a.x)) / d;
        (ux, uy, (a.x - ux).hypot(a.y - uy))
    };
    let mut c = (0.0, 0.0, 0.0);
    let Some(&first) = pts.first() else {
        return c;
    };
    c = (first.x, first.y, 0.0);
    for i in 1..pts.len() {
        if inside(c, pts[i]) {
            continue;
        }
        c = (pts[i].x, pts[i].y, 0.0);
        for j in 0..i {
            if inside(c, pts[j]) {
                continue;
            }
            c = two(pts[i], pts[j]);
            for k in 0..j {
                if !inside(c, pts[k]) {
                    c = three(pts[i], pts[j], pts[k]);
                }
            }
        }
    }
    c
}
