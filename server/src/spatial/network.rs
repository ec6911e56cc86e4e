//! The walking network: road centre lines (railways and tunnels excluded)
//! as a graph in local metres, shared by coverage (reach of carers) and
//! emergency (volunteers on foot). Rivers and railways are not in it, so a walk
//! crosses them only where a road does (a bridge, a level crossing). Points join the
//! network at the nearest point of the nearest segment.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};

use geo_types::Coord;
use rstar::primitives::{GeomWithData, Line as RLine};
use rstar::{PointDistance, RTree};

use crate::domain::{Road, RoadClass};
use crate::spatial::projection::LocalProjection;

/// Average walking speed, m/s (4.3 km/h, a brisk walk with a household list).
pub const WALK_M_PER_S: f64 = 1.2;

type Segment = GeomWithData<RLine<[f64; 2]>, (u32, u32)>;

/// Where a point joins the network.
#[derive(Debug, Clone, Copy)]
pub struct Snap {
    /// The segment's end nodes and the distances along it to each.
    pub a: u32,
    pub b: u32,
    pub to_a: f64,
    pub to_b: f64,
    /// From the point to the segment.
    pub off: f64,
}

/// The graph.
#[derive(Debug)]
pub struct Network {
    /// Adjacency: (neighbour, metres).
    adj: Vec<Vec<(u32, f64)>>,
    /// Each node's place in metres, to draw a walk ([`Network::path`]).
    pos: Vec<Coord<f64>>,
    segments: RTree<Segment>,
}

/// A Dijkstra queue entry: the smallest distance pops first from
/// `BinaryHeap` (a max-heap), ties by node. Shared with
/// [`crate::emergency::dispatch`].
#[derive(PartialEq)]
pub(crate) struct State<N>(pub f64, pub N);
impl<N: Ord> Eq for State<N> {}
impl<N: Ord> Ord for State<N> {
    fn cmp(&self, o: &Self) -> Ordering {
        o.0.total_cmp(&self.0).then_with(|| o.1.cmp(&self.1))
    }
}
impl<N: Ord> PartialOrd for State<N> {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

/// The network with the plane it is drawn in: lon/lat in, metres out.
#[derive(Debug)]
pub struct Walking {
    pub proj: LocalProjection,
    pub network: Network,
}

impl Walking {
    /// `None` without a walkable road.
    pub fn build(roads: &[Road], proj: LocalProjection) -> Option<Self> {
        Some(Self {
            network: Network::build(roads, &proj)?,
            proj,
        })
    }

    /// Where a lon/lat point joins the network.
    pub fn snap_point(&self, at: Coord<f64>) -> Option<Snap> {
        self.network.snap(self.proj.forward(at))
    }

    /// Walking distances from `from` to the nodes within `limit` metres.
    pub fn walk_within(&self, from: &Snap, limit: f64) -> HashMap<u32, f64> {
        self.network.distances_within(from, limit)
    }

    /// Walking metres to `to` over the distances of [`Self::walk_within`].
    pub fn walk_to(&self, from: &Snap, dist: &HashMap<u32, f64>, to: &Snap) -> f64 {
        Network::distance_to_within(from, dist, to)
    }

    /// The shortest walk between two lon/lat points within `limit`
    /// metres, drawn in lon/lat, with its length: what a dispatch line on
    /// the map follows instead of a straight line across a river.
    ///
    /// ```
    /// use geo_types::{Coord, LineString};
    /// use wangge::domain::{Grade, Road, RoadClass};
    /// use wangge::spatial::{network::Walking, projection::LocalProjection};
    ///
    /// let road = |pts: &[(f64, f64)]| Road {
    ///     id: 0,
    ///     class: RoadClass::Residential,
    ///     name: String::new(),
    ///     grade: Grade::Surface,
    ///     geometry: LineString(pts.iter().map(|&(x, y)| Coord { x, y }).collect()),
    /// };
    /// // An L of streets: the walk turns the corner.
    /// let roads = [road(&[(116.400, 39.900), (116.410, 39.900), (116.410, 39.910)])];
    /// let w = Walking::build(&roads, LocalProjection::new(Coord { x: 116.405, y: 39.905 })).unwrap();
    /// let (line, m) = w
    ///     .path(Coord { x: 116.401, y: 39.900 }, Coord { x: 116.410, y: 39.909 }, 5000.0)
    ///     .unwrap();
    /// assert!(line.0.iter().any(|c| (c.x - 116.410).abs() < 1e-6 && (c.y - 39.900).abs() < 1e-6));
    /// assert!((1700.0..1900.0).contains(&m), "{m}");
    /// ```
    pub fn path(
        &self,
        from: Coord<f64>,
        to: Coord<f64>,
        limit: f64,
    ) -> Option<(geo_types::LineString<f64>, f64)> {
        let (p, q) = (self.proj.forward(from), self.proj.forward(to));
        let (a, b) = (self.network.snap(p)?, self.network.snap(q)?);
        let (pts, m) = self.network.path(p, &a, q, &b, limit)?;
        let line = pts.into_iter().map(|c| self.proj.inverse(c)).collect();
        Some((line, m))
    }
}

impl Network {
    /// Builds the graph from roads; vertices closer than 1 cm are one node.
    pub fn build(roads: &[Road], proj: &LocalProjection) -> Option<Self> {
        let mut ids: HashMap<(i64, i64), u32> = HashMap::new();
        let mut adj: Vec<Vec<(u32, f64)>> = Vec::new();
        let mut segs = Vec::new();
        // A tunnel is no walking link at street level (its portals join
        // the streets it leaves, which are lines of their own).
        for r in roads
            .iter()
            .filter(|r| r.class != RoadClass::Railway && r.grade.at_street_level())
        {
            let mut prev: Option<(u32, Coord<f64>)> = None;
            for c in &r.geometry.0 {
                let p = proj.forward(*c);
                let key = ((p.x * 100.0).round() as i64, (p.y * 100.0).round() as i64);
                let id = *ids.entry(key).or_insert_with(|| {
                    adj.push(Vec::new());
                    (adj.len() - 1) as u32
                });
                if let Some((pid, pp)) = prev {
                    if pid != id {
                        let len = (p.x - pp.x).hypot(p.y - pp.y);
                        adj[pid as usize].push((id, len));
                        adj[id as usize].push((pid, len));
                        segs.push(Segment::new(
                            RLine::new([pp.x, pp.y], [p.x, p.y]),
                            (pid, id),
                        ));
                    }
                }
                prev = Some((id, p));
            }
        }
        if segs.is_empty() {
            return None;
        }
        let segments = RTree::bulk_load(segs);
        // T-junctions: a line that ends on another line's side (no shared
        // vertex, as in tile-clipped or hand-drawn data) joins it there.
        // Lines that merely cross (bridges over roads) stay apart.
        let mut pos: Vec<Coord<f64>> = vec![Coord { x: 0.0, y: 0.0 }; adj.len()];
        // The node's place as keyed (to the centimetre).
        for ((x, y), id) in &ids {
            pos[*id as usize] = Coord {
                x: *x as f64 / 100.0,
                y: *y as f64 / 100.0,
            };
        }
        let ends: Vec<u32> = (0..adj.len() as u32)
            .filter(|&n| adj[n as usize].len() == 1)
            .collect();
        for n in ends {
            let p = pos[n as usize];
            for s in segments.locate_within_distance([p.x, p.y], 1.0) {
                let (a, b) = s.data;
                if a == n || b == n || adj[n as usize].iter().any(|(m, _)| *m == a || *m == b) {
                    continue;
                }
                let (pa, pb) = (s.geom().from, s.geom().to);
                let da = (p.x - pa[0]).hypot(p.y - pa[1]);
                let db = (p.x - pb[0]).hypot(p.y - pb[1]);
                for (m, d) in [(a, da), (b, db)] {
                    adj[n as usize].push((m, d));
                    adj[m as usize].push((n, d));
                }
            }
        }
        Some(Self { adj, pos, segments })
    }

    /// Where a snap joins its segment, in metres.
    fn snapped_at(&self, s: &Snap) -> Coord<f64> {
        let (a, b) = (self.pos[s.a as usize], self.pos[s.b as usize]);
        let len = s.to_a + s.to_b;
        let t = if len > 0.0 { s.to_a / len } else { 0.0 };
        Coord {
            x: a.x + (b.x - a.x) * t,
            y: a.y + (b.y - a.y) * t,
        }
    }

    /// The shortest walk from `p` (joined at `from`) to `q` (joined at
    /// `to`) within `limit` metres: its vertices in metres, from `p` to `q`,
    /// and its length, which equals [`Network::distance_to`]'s.
    pub fn path(
        &self,
        p: Coord<f64>,
        from: &Snap,
        q: Coord<f64>,
        to: &Snap,
        limit: f64,
    ) -> Option<(Vec<Coord<f64>>, f64)> {
        let (start, end) = (self.snapped_at(from), self.snapped_at(to));
        let mut d: HashMap<u32, f64> = HashMap::new();
        let mut prev: HashMap<u32, u32> = HashMap::new();
        let mut heap = BinaryHeap::new();
        for (n, x) in [
            (from.a, from.off + from.to_a),
            (from.b, from.off + from.to_b),
        ] {
            if x <= limit && x < d.get(&n).copied().unwrap_or(f64::INFINITY) {
                d.insert(n, x);
                heap.push(State(x, n));
            }
        }
        // Settled until both ends of the target's segment are: the walk
        // enters it through one of them.
        let mut open = 2;
        while let Some(State(du, u)) = heap.pop() {
            if du > d.get(&u).copied().unwrap_or(f64::INFINITY) {
                continue;
            }
            if u == to.a || u == to.b {
                open -= 1;
                if open == 0 || to.a == to.b {
                    break;
                }
            }
            for &(v, w) in &self.adj[u as usize] {
                let nd = du + w;
                if nd <= limit && nd < d.get(&v).copied().unwrap_or(f64::INFINITY) {
                    d.insert(v, nd);
                    prev.insert(v, u);
                    heap.push(State(nd, v));
                }
            }
        }
        let at = |n: u32| d.get(&n).copied().unwrap_or(f64::INFINITY);
        let (via_a, via_b) = (at(to.a) + to.to_a, at(to.b) + to.to_b);
        let (entry, via) = if via_a <= via_b {
            (to.a, via_a + to.off)
        } else {
            (to.b, via_b + to.off)
        };
        let same = (from.a == to.a && from.b == to.b)
            .then(|| from.off + (from.to_a - to.to_a).abs() + to.off);
        if let Some(m) = same.filter(|m| *m <= via && *m <= limit) {
            return Some((vec![p, start, end, q], m));
        }
        if via > limit {
            return None;
        }
        let mut nodes = vec![entry];
        while let Some(&u) = prev.get(nodes.last().expect("starts with the entry")) {
            nodes.push(u);
        }
        nodes.reverse();
        let mut pts = vec![p, start];
        pts.extend(nodes.iter().map(|&n| self.pos[n as usize]));
        pts.extend([end, q]);
        pts.dedup();
        Some((pts, via))
    }

    /// Joins a point (metres) to the network.
    pub fn snap(&self, p: Coord<f64>) -> Option<Snap> {
        let s = self.segments.nearest_neighbor(&[p.x, p.y])?;
        let (a, b) = (s.geom().from, s.geom().to);
        let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
        let len2 = dx * dx + dy * dy;
        let t = if len2 > 0.0 {
            (((p.x - a[0]) * dx + (p.y - a[1]) * dy) / len2).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let len = len2.sqrt();
        Some(Snap {
            a: s.data.0,
            b: s.data.1,
            to_a: t * len,
            to_b: (1.0 - t) * len,
            off: s.geom().distance_2(&[p.x, p.y]).sqrt(),
        })
    }

    /// Shortest walking distances from a snapped point to every node,
    /// up to `limit` metres (infinity beyond).
    pub fn distances(&self, from: &Snap, limit: f64) -> Vec<f64> {
        let mut d = vec![f64::INFINITY; self.adj.len()];
        let mut heap = BinaryHeap::new();
        for (n, x) in [
            (from.a, from.off + from.to_a),
            (from.b, from.off + from.to_b),
        ] {
            if x < d[n as usize] {
                d[n as usize] = x;
                heap.push(State(x, n));
            }
        }
        while let Some(State(du, u)) = heap.pop() {
            if du > d[u as usize] || du > limit {
                continue;
            }
            for &(v, w) in &self.adj[u as usize] {
                let nd = du + w;
                if nd < d[v as usize] {
                    d[v as usize] = nd;
                    heap.push(State(nd, v));
                }
            }
        }
        d
    }

    /// Like [`Network::distances`], but only the nodes within `limit`: a
    /// short search touches few nodes, so it keeps them in a map rather
    /// than a vector the size of the city.
    pub fn distances_within(&self, from: &Snap, limit: f64) -> HashMap<u32, f64> {
        let mut d: HashMap<u32, f64> = HashMap::new();
        let mut heap = BinaryHeap::new();
        for (n, x) in [
            (from.a, from.off + from.to_a),
            (from.b, from.off + from.to_b),
        ] {
            if x <= limit && x < d.get(&n).copied().unwrap_or(f64::INFINITY) {
                d.insert(n, x);
                heap.push(State(x, n));
            }
        }
        while let Some(State(du, u)) = heap.pop() {
            if du > d.get(&u).copied().unwrap_or(f64::INFINITY) {
                continue;
            }
            for &(v, w) in &self.adj[u as usize] {
                let nd = du + w;
                if nd <= limit && nd < d.get(&v).copied().unwrap_or(f64::INFINITY) {
                    d.insert(v, nd);
                    heap.push(State(nd, v));
                }
            }
        }
        d
    }

    /// [`Network::distance_to`] over the map of [`Network::distances_within`].
    pub fn distance_to_within(from: &Snap, dist: &HashMap<u32, f64>, to: &Snap) -> f64 {
        let at = |n: u32| dist.get(&n).copied().unwrap_or(f64::INFINITY);
        let via = (at(to.a) + to.to_a).min(at(to.b) + to.to_b) + to.off;
        let same = (from.a == to.a && from.b == to.b)
            .then(|| from.off + (from.to_a - to.to_a).abs() + to.off);
        same.map_or(via, |s| s.min(via))
    }

    /// Walking distance to a snapped target given the distances from a
    /// source snapped at `from`.
    pub fn distance_to(from: &Snap, dist: &[f64], to: &Snap) -> f64 {
        let via = (dist[to.a as usize] + to.to_a).min(dist[to.b as usize] + to.to_b) + to.off;
        // Both on the same segment: straight along it.
        let same = (from.a == to.a && from.b == to.b)
            .then(|| from.off + (from.to_a - to.to_a).abs() + to.off);
        same.map_or(via, |s| s.min(via))
    }

    pub fn node_count(&self) -> usize {
        self.adj.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::LineString;

    fn road(pts: &[(f64, f64)]) -> Road {
        Road {
            id: 0,
            class: RoadClass::Residential,
            name: String::new(),
            grade: crate::domain::Grade::Surface,
            geometry: LineString(pts.iter().map(|&(x, y)| Coord { x, y }).collect()),
        }
    }

    #[test]
    fn t_junctions_join_and_crossings_do_not() {
        let proj = LocalProjection::new(Coord {
            x: 116.41,
            y: 39.91,
        });
        // Two streets either side of a river, a bridge ending on their sides.
        let roads = [
            road(&[(116.400, 39.905), (116.410, 39.905), (116.420, 39.905)]),
            road(&[(116.400, 39.915), (116.410, 39.915), (116.420, 39.915)]),
            road(&[(116.419, 39.905), (116.419, 39.915)]),
        ];
        let net = Network::build(&roads, &proj).unwrap();
        let from = net
            .snap(proj.forward(Coord {
                x: 116.401,
                y: 39.905,
            }))
            .unwrap();
        let to = net
            .snap(proj.forward(Coord {
                x: 116.401,
                y: 39.915,
            }))
            .unwrap();
        let d = Network::distance_to(&from, &net.distances(&from, 1e9), &to);
        // 0.018° east and back (2 × ~1,536 m) plus 0.010° north (~1,110 m).
        assert!((4100.0..4250.0).contains(&d), "{d}");
        // Without the bridge the banks are apart.
        let net = Network::build(&roads[..2], &proj).unwrap();
        let from = net
            .snap(proj.forward(Coord {
                x: 116.401,
                y: 39.905,
            }))
            .unwrap();
        let to = net
            .snap(proj.forward(Coord {
                x: 116.401,
                y: 39.915,
            }))
            .unwrap();
        assert!(Network::distance_to(&from, &net.distances(&from, 1e9), &to).is_infinite());
        // A tunnel under the river is no walk at street level; a bridge is.
        for (grade, joined) in [
            (crate::domain::Grade::Tunnel, false),
            (crate::domain::Grade::Bridge, true),
        ] {
            let mut link = roads[2].clone();
            link.grade = grade;
            let roads = [roads[0].clone(), roads[1].clone(), link];
            let net = Network::build(&roads, &proj).unwrap();
            let from = net
                .snap(proj.forward(Coord {
                    x: 116.401,
                    y: 39.905,
                }))
                .unwrap();
            let to = net
                .snap(proj.forward(Coord {
                    x: 116.401,
                    y: 39.915,
                }))
                .unwrap();
            let d = Network::distance_to(&from, &net.distances(&from, 1e9), &to);
            assert_eq!(d.is_finite(), joined, "{grade:?}: {d}");
        }
    }

    /// A walk drawn over the bridge: as long as the distance search says,
    /// its own vertices add up to that length, and it crosses the river
    /// only on the bridge.
    #[test]
    fn a_path_follows_the_roads_and_measures_what_distances_measure() {
        let proj = LocalProjection::new(Coord {
            x: 116.41,
            y: 39.91,
        });
        let roads = [
            road(&[(116.400, 39.905), (116.410, 39.905), (116.420, 39.905)]),
            road(&[(116.400, 39.915), (116.410, 39.915), (116.420, 39.915)]),
            road(&[(116.419, 39.905), (116.419, 39.915)]),
        ];
        let net = Network::build(&roads, &proj).unwrap();
        let p = proj.forward(Coord {
            x: 116.401,
            y: 39.9052,
        });
        let q = proj.forward(Coord {
            x: 116.4015,
            y: 39.9148,
        });
        let (from, to) = (net.snap(p).unwrap(), net.snap(q).unwrap());
        let want = Network::distance_to(&from, &net.distances(&from, 1e9), &to);
        let (pts, m) = net.path(p, &from, q, &to, 1e9).unwrap();
        assert!((m - want).abs() < 1e-6, "{m} vs {want}");
        let drawn: f64 = pts
            .windows(2)
            .map(|w| (w[1].x - w[0].x).hypot(w[1].y - w[0].y))
            .sum();
        assert!((drawn - m).abs() < 0.05, "drawn {drawn} m, measured {m} m");
        assert_eq!((pts[0], *pts.last().unwrap()), (p, q));
        // Every vertex between the banks is on the bridge.
        let bridge_x = proj
            .forward(Coord {
                x: 116.419,
                y: 39.91,
            })
            .x;
        let (south, north) = (
            proj.forward(Coord {
                x: 116.41,
                y: 39.906,
            })
            .y,
            proj.forward(Coord {
                x: 116.41,
                y: 39.914,
            })
            .y,
        );
        for c in pts.iter().filter(|c| c.y > south && c.y < north) {
            assert!((c.x - bridge_x).abs() < 0.5, "{c:?} is off the bridge");
        }
        assert!(
            pts.iter().any(|c| (c.x - bridge_x).abs() < 0.5),
            "the walk takes the bridge: {pts:?}, bridge at x = {bridge_x}"
        );
        // Too short a limit: no walk.
        assert!(net.path(p, &from, q, &to, want - 1.0).is_none());
        // On one segment: straight along it.
        let r = proj.forward(Coord {
            x: 116.403,
            y: 39.9049,
        });
        let (pts, m) = net.path(p, &from, r, &net.snap(r).unwrap(), 1e9).unwrap();
        assert!(pts.len() <= 4 && (195.0..215.0).contains(&m), "{pts:?} {m}");
    }
}
