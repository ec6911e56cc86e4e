//! Who goes where: an exact assignment of vulnerable households to
//! available volunteers, each taking at most `capacity`, by min-cost flow
//! (shortest augmenting paths with Dijkstra on reduced costs, one
//! household at a time, as the Hungarian method takes rows).
//!
//! Each household served earns a bonus of (care level + 1) × a step
//! larger than all travel together: the plan serves the most care weight
//! it can, then travels least. The weights add up, so two 关心户 (2 + 2)
//! outweigh one 连心户 (3); a strict order by level is not what it does.
//! Only each household's nearest
//! ⌈n / capacity⌉ + 1 eligible volunteers are candidates; that loses
//! nothing: if an optimum sent a household farther, one of those nearer
//! volunteers would have room (their capacity exceeds all other households
//! together) and moving it there would cost less. Of those, the flow
//! starts with a few and takes in more only where reduced costs prove
//! they could help ([`assign`]): a flood night's 2,000 households × 5,000
//! volunteers would otherwise be a graph of over a million edges.

use std::collections::BinaryHeap;

use crate::cancel::{Cancel, Cancelled};

/// One household to serve: its priority (higher first) and, per eligible
/// volunteer, the travel in metres (`None` = out of reach).
pub struct Demand {
    pub priority: u8,
    pub travel: Vec<(usize, f64)>,
}

/// Candidates each household starts with; pricing adds more while they
/// could improve the plan.
const FIRST_CANDIDATES: usize = 8;

/// Reduced costs below this (in cost units, metres) are negative: the
/// costs carry bonuses of about 10⁷, whose rounding is far below it.
const TOLERANCE: f64 = 1e-6;

/// The flow's answer: for each demand, the volunteer it got; or
/// [`Cancelled`] when `cancel` is set before it is done (checked at every
/// augmentation and every few thousand steps of each shortest path).
///
/// Each household starts with its `FIRST_CANDIDATES` (8) nearest
/// volunteers; after each solve, the potentials that prove the restricted
/// plan optimal (every residual reduced cost ≥ 0) are checked against
/// every candidate left out (up to the ⌈n / capacity⌉ + 1 nearest, see
/// the module), and the households with one whose reduced cost is
/// negative get more candidates, until none has: then no left-out edge
/// could lower the cost, and the plan is the exact optimum over all of
/// them.
///
/// ```
/// use wangge::cancel::Cancel;
/// use wangge::emergency::dispatch::{assign, Demand};
/// // Two households, two volunteers with room for one each: the nearer
/// // volunteer goes to the household that would otherwise walk 100 m.
/// let ds = [
///     Demand { priority: 1, travel: vec![(0, 1.0), (1, 2.0)] },
///     Demand { priority: 1, travel: vec![(0, 3.0), (1, 100.0)] },
/// ];
/// assert_eq!(assign(&ds, 2, 1, &Cancel::never()), Ok(vec![Some(1), Some(0)]));
/// ```
pub fn assign(
    demands: &[Demand],
    volunteers: usize,
    capacity: usize,
    cancel: &Cancel,
) -> Result<Vec<Option<usize>>, Cancelled> {
    assign_from(demands, volunteers, capacity, FIRST_CANDIDATES, cancel)
}

/// [`assign`], each household starting with `first` candidates.
fn assign_from(
    demands: &[Demand],
    volunteers: usize,
    capacity: usize,
    first: usize,
    cancel: &Cancel,
) -> Result<Vec<Option<usize>>, Cancelled> {
    let n = demands.len();
    if n == 0 || volunteers == 0 || capacity == 0 {
        return Ok(vec![None; n]);
    }
    let keep = n.div_ceil(capacity) + 1;
    let max_travel = demands
        .iter()
        .flat_map(|d| d.travel.iter().map(|t| t.1))
        .fold(0.0, f64::max);
    let step = (max_travel + 1.0) * (n as f64 + 1.0);
    let mut near: Vec<Vec<(usize, f64)>> = Vec::with_capacity(n);
    for d in demands {
        cancel.check()?;
        let mut c = d.travel.clone();
        let order = |a: &(usize, f64), b: &(usize, f64)| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0));
        // The nearest `keep` picked out first: only they are sorted.
        if c.len() > keep {
            c.select_nth_unstable_by(keep - 1, order);
            c.truncate(keep);
        }
        c.sort_unstable_by(order);
        near.push(c);
    }
    let bonus: Vec<f64> = demands
        .iter()
        .map(|d| step * f64::from(d.priority + 1))
        .collect();
    let mut take: Vec<usize> = near.iter().map(|c| c.len().min(first.max(1))).collect();
    loop {
        let flow = Rows::solve(&near, &take, &bonus, volunteers, capacity, cancel)?;
        // Pricing: a candidate left out whose reduced cost under the
        // solved potentials is negative could lower the cost.
        let mut grown = false;
        for (i, c) in near.iter().enumerate() {
            let last = c[take[i]..].iter().rposition(|&(v, m)| {
                m - bonus[i] + flow.pot[i] - flow.pot[near.len() + v] < -TOLERANCE
            });
            if let Some(j) = last {
                // Past the last one that could improve, and at least
                // double, so that few rounds are needed.
                take[i] = (take[i] + j + 1).max(2 * take[i]).min(c.len());
                grown = true;
            }
        }
        if !grown {
            return Ok(flow.assigned.iter().map(|a| a.map(|(v, _)| v)).collect());
        }
    }
}

/// The flow household by household: each household is routed, served
/// by one of its candidates (cost: travel − bonus) or left unserved
/// (cost 0), so the flow's value is fixed and households can be taken
/// one at a time (as the Hungarian method takes rows): a shortest path
/// from the new household, over reduced costs, to a volunteer with room
/// or to leaving, possibly moving others along it. Each search stops
/// where it ends, usually a few nodes from where it starts; one from a
/// common source would touch every volunteer every time.
struct Rows {
    /// Per household: its volunteer and the cost of that edge.
    assigned: Vec<Option<(usize, f64)>>,
    /// Potentials proving the flow optimal on its candidates: households
    /// `0..n`, volunteers `n..n + V`, the sink last.
    pot: Vec<f64>,
}

impl Rows {
    #[allow(
        clippy::too_many_lines,
        reason = "one Dijkstra and its augmentation, sharing the search's arrays"
    )]
    fn solve(
        near: &[Vec<(usize, f64)>],
        take: &[usize],
        bonus: &[f64],
        volunteers: usize,
        capacity: usize,
        cancel: &Cancel,
    ) -> Result<Self, Cancelled> {
        let n = near.len();
        let sink = n + volunteers;
        // Reduced costs start ≥ 0: each volunteer at its cheapest edge,
        // the sink below every volunteer and every household (at 0).
        let mut pot = vec![0.0; sink + 1];
        for (i, c) in near.iter().enumerate() {
            for &(v, m) in &c[..take[i]] {
                pot[n + v] = f64::min(pot[n + v], m - bonus[i]);
            }
        }
        pot[sink] = pot[n..sink].iter().copied().fold(0.0, f64::min);
        let mut assigned: Vec<Option<(usize, f64)>> = vec![None; n];
        let mut load: Vec<Vec<usize>> = vec![Vec::new(); volunteers];
        let mut dist = vec![f64::INFINITY; sink + 1];
        let mut prev = vec![usize::MAX; sink + 1];
        let mut touched: Vec<usize> = Vec::new();
        let mut heap = BinaryHeap::new();
        for root in 0..n {
            cancel.check()?;
            for &x in &touched {
                dist[x] = f64::INFINITY;
                prev[x] = usize::MAX;
            }
            touched.clear();
            heap.clear();
            dist[root] = 0.0;
            touched.push(root);
            heap.push(State(0.0, root));
            let mut steps = 0u32;
            while let Some(State(d, u)) = heap.pop() {
                steps = steps.wrapping_add(1);
                if steps % 4096 == 0 {
                    cancel.check()?;
                }
                if d > dist[u] {
                    continue;
                }
                if u == sink {
                    break;
                }
                let mut relax = |w: usize, c: f64| {
                    // Reduced costs are ≥ 0 up to rounding.
                    let nd = d + (c + pot[u] - pot[w]).max(0.0);
                    if nd < dist[w] - 1e-9 {
                        if dist[w].is_infinite() {
                            touched.push(w);
                        }
                        dist[w] = nd;
                        prev[w] = u;
                        heap.push(State(nd, w));
                    }
                };
                if u < n {
                    // A household: to a candidate it is not with, or it
                    // leaves (every household met here is served or new).
                    let mine = assigned[u].map(|a| a.0);
                    for &(v, m) in &near[u][..take[u]] {
                        if Some(v) != mine {
                            relax(n + v, m - bonus[u]);
                        }
                    }
                    relax(sink, 0.0);
                } else {
                    // A volunteer: room left, or one of theirs moves.
                    let v = u - n;
                    if load[v].len() < capacity {
                        relax(sink, 0.0);
                    }
                    for &h in &load[v] {
                        relax(h, -assigned[h].map_or(0.0, |a| a.1));
                    }
                }
            }
            // π + min(d, d(sink)) keeps every reduced cost ≥ 0, settled or not.
            let dt = dist[sink];
            for (p, d) in pot.iter_mut().zip(&dist) {
                *p += d.min(dt);
            }
            let mut path = vec![sink];
            while let Some(&x) = path.last().filter(|&&x| x != root) {
                path.push(prev[x]);
            }
            path.reverse();
            for w in path.windows(2) {
                let (a, b) = (w[0], w[1]);
                if a < n && b == sink {
                    assigned[a] = None;
                } else if a < n {
                    let v = b - n;
                    let m = near[a][..take[a]]
                        .iter()
                        .find(|c| c.0 == v)
                        .map_or(0.0, |c| c.1);
                    assigned[a] = Some((v, m - bonus[a]));
                    load[v].push(a);
                } else if b < n {
                    load[a - n].retain(|&h| h != b);
                }
            }
        }
        Ok(Self { assigned, pot })
    }
}

use crate::spatial::network::State;

#[cfg(test)]
mod tests {
    use super::*;

    fn run(ds: &[Demand], volunteers: usize, capacity: usize) -> Vec<Option<usize>> {
        assign(ds, volunteers, capacity, &Cancel::never()).expect("never cancelled")
    }

    /// Every household in reach of every volunteer: the flow has `n`
    /// augmentations over `n × v` edges, long enough to be stopped midway.
    fn dense(n: usize, v: usize) -> Vec<Demand> {
        (0..n)
            .map(|i| Demand {
                priority: (i % 3) as u8,
                travel: (0..v)
                    .map(|j| (j, ((i * 7919 + j * 104_729) % 5000) as f64))
                    .collect(),
            })
            .collect()
    }

    #[test]
    fn a_cancelled_flow_stops_at_once() {
        let ds = dense(50, 10);
        let cancel = Cancel::never();
        cancel.cancel();
        assert_eq!(assign(&ds, 10, 1, &cancel), Err(Cancelled));
    }

    #[test]
    fn cancelling_midway_stops_a_long_flow_quickly() {
        let ds = dense(3000, 400);
        let cancel = Cancel::never();
        let stopper = {
            let cancel = cancel.clone();
            std::thread::spawn(move || {
                std::thread::sleep(std::time::Duration::from_millis(100));
                cancel.cancel();
                std::time::Instant::now()
            })
        };
        let got = assign_from(&ds, 400, 1, usize::MAX, &cancel);
        let stopped = std::time::Instant::now();
        let asked = stopper.join().unwrap();
        assert_eq!(
            got,
            Err(Cancelled),
            "3000 × 400 runs far longer than 100 ms"
        );
        let late = stopped.saturating_duration_since(asked);
        assert!(
            late < std::time::Duration::from_millis(500),
            "stopped {late:?} after being asked"
        );
    }

    fn d(priority: u8, travel: &[(usize, f64)]) -> Demand {
        Demand {
            priority,
            travel: travel.to_vec(),
        }
    }

    #[test]
    fn known_optimum_beats_greedy() {
        // Greedy (nearest first) sends household 0 to volunteer 0 (1 m) and
        // household 1 to volunteer 1 (100 m): 101 m. The optimum is 0→1,
        // 1→0: 2 + 3 = 5 m.
        let ds = [d(1, &[(0, 1.0), (1, 2.0)]), d(1, &[(0, 3.0), (1, 100.0)])];
        assert_eq!(run(&ds, 2, 1), vec![Some(1), Some(0)]);
    }

    #[test]
    fn capacity_and_priority_decide_who_is_left() {
        // One volunteer with room for one: the 连心户 (priority 2) is served
        // although the 关心户 is nearer.
        let ds = [d(1, &[(0, 10.0)]), d(2, &[(0, 900.0)])];
        assert_eq!(run(&ds, 1, 1), vec![None, Some(0)]);
        // Room for two: both.
        assert_eq!(run(&ds, 1, 2), vec![Some(0), Some(0)]);
        // Unreachable households stay unserved.
        let ds = [d(1, &[]), d(1, &[(0, 5.0)])];
        assert_eq!(run(&ds, 1, 3), vec![None, Some(0)]);
    }

    /// Served per priority (highest first) and total travel: what the
    /// flow optimises, in its order.
    fn score(ds: &[Demand], a: &[Option<usize>]) -> (Vec<usize>, f64) {
        let mut served = vec![0; 3];
        let mut m = 0.0;
        for (i, x) in a.iter().enumerate() {
            if let Some(j) = x {
                served[2 - ds[i].priority as usize] += 1;
                m += ds[i].travel.iter().find(|t| t.0 == *j).unwrap().1;
            }
        }
        (served, m)
    }

    #[test]
    fn starting_from_one_candidate_reaches_the_same_optimum() {
        let mut seed = 11u64;
        let mut rnd = || {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (seed >> 33) as f64 / (1u64 << 31) as f64
        };
        for round in 0..40 {
            let (n, v, cap) = (60 + round, 25 + round % 7, 1 + round % 3);
            let spots: Vec<(f64, f64)> = (0..v).map(|_| (rnd() * 2000.0, rnd() * 2000.0)).collect();
            let ds: Vec<Demand> = (0..n)
                .map(|_| {
                    let (x, y) = (rnd() * 2000.0, rnd() * 2000.0);
                    Demand {
                        priority: (rnd() * 3.0) as u8,
                        travel: spots
                            .iter()
                            .enumerate()
                            .filter(|_| rnd() < 0.9)
                            .map(|(j, p)| (j, (p.0 - x).hypot(p.1 - y).round()))
                            .collect(),
                    }
                })
                .collect();
            let all = assign_from(&ds, v, cap, usize::MAX, &Cancel::never()).unwrap();
            let priced = assign_from(&ds, v, cap, 1, &Cancel::never()).unwrap();
            let (a, b) = (weighted(&ds, &all), weighted(&ds, &priced));
            assert_eq!(a.0, b.0, "round {round}: care weights served");
            assert!(
                (a.1 - b.1).abs() < 1e-6,
                "round {round}: {} vs {}",
                a.1,
                b.1
            );
            for j in 0..v {
                assert!(priced.iter().filter(|x| **x == Some(j)).count() <= cap);
            }
        }
    }

    /// What the flow maximises: the care weights served (priority + 1
    /// each, see the bonus in `assign_from`), then the least travel.
    fn weighted(ds: &[Demand], a: &[Option<usize>]) -> (u32, f64) {
        let (_, m) = score(ds, a);
        let w = a
            .iter()
            .enumerate()
            .filter(|(_, x)| x.is_some())
            .map(|(i, _)| u32::from(ds[i].priority) + 1)
            .sum();
        (w, m)
    }

    #[test]
    fn matches_brute_force_with_priorities() {
        let mut seed = 29u64;
        let mut rnd = || {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (seed >> 33) as f64 / (1u64 << 31) as f64
        };
        let (n, v, cap) = (6usize, 4usize, 2usize);
        for round in 0..60 {
            let ds: Vec<Demand> = (0..n)
                .map(|_| Demand {
                    priority: (rnd() * 3.0) as u8,
                    travel: (0..v)
                        .filter_map(|j| {
                            let (keep, m) = (rnd() < 0.7, (rnd() * 500.0).round());
                            keep.then_some((j, m))
                        })
                        .collect(),
                })
                .collect();
            let mut best: Option<(u32, f64)> = None;
            for code in 0..(v + 1).pow(n as u32) {
                let mut a = vec![None; n];
                let mut c = code;
                for slot in a.iter_mut() {
                    let x = c % (v + 1);
                    c /= v + 1;
                    *slot = (x < v).then_some(x);
                }
                let ok = a
                    .iter()
                    .enumerate()
                    .all(|(i, x)| x.is_none_or(|j| ds[i].travel.iter().any(|t| t.0 == j)))
                    && (0..v).all(|j| a.iter().filter(|x| **x == Some(j)).count() <= cap);
                if !ok {
                    continue;
                }
                let (served, m) = weighted(&ds, &a);
                let better = best
                    .as_ref()
                    .is_none_or(|(bs, bm)| served > *bs || (served == *bs && m < *bm - 1e-9));
                if better {
                    best = Some((served, m));
                }
            }
            let (bs, bm) = best.unwrap();
            for first in [1, usize::MAX] {
                let got = assign_from(&ds, v, cap, first, &Cancel::never()).unwrap();
                let (gs, gm) = weighted(&ds, &got);
                assert_eq!(gs, bs, "round {round}, first {first}: care weights served");
                assert!(
                    (gm - bm).abs() < 1e-6,
                    "round {round}, first {first}: {gm} vs {bm}"
                );
            }
        }
    }

    #[test]
    fn matches_brute_force_on_small_instances() {
        let mut seed = 7u64;
        let mut rnd = || {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (seed >> 33) as f64 / (1u64 << 31) as f64
        };
        for _ in 0..200 {
            let (n, v) = (4, 3);
            let mut ds: Vec<Demand> = Vec::new();
            for _ in 0..n {
                let mut travel = Vec::new();
                for j in 0..v {
                    if rnd() < 0.8 {
                        travel.push((j, (rnd() * 1000.0).round()));
                    }
                }
                ds.push(Demand {
                    priority: 1,
                    travel,
                });
            }
            let got = run(&ds, v, 2);
            let priced = assign_from(&ds, v, 2, 1, &Cancel::never()).unwrap();
            let cost = |a: &[Option<usize>]| -> (usize, f64) {
                let served = a.iter().filter(|x| x.is_some()).count();
                let m: f64 = a
                    .iter()
                    .enumerate()
                    .filter_map(|(i, x)| {
                        x.map(|j| ds[i].travel.iter().find(|t| t.0 == j).unwrap().1)
                    })
                    .sum();
                (served, m)
            };
            // Brute force over every assignment with capacity 2.
            let mut best = (0usize, f64::INFINITY);
            for code in 0..(v + 1).pow(n as u32) {
                let mut a = vec![None; n];
                let mut c = code;
                for slot in a.iter_mut() {
                    let x = c % (v + 1);
                    c /= v + 1;
                    *slot = (x < v).then_some(x);
                }
                let ok = a
                    .iter()
                    .enumerate()
                    .all(|(i, x)| x.is_none_or(|j| ds[i].travel.iter().any(|t| t.0 == j)))
                    && (0..v).all(|j| a.iter().filter(|x| **x == Some(j)).count() <= 2);
                if ok {
                    let (s, m) = cost(&a);
                    if s > best.0 || (s == best.0 && m < best.1) {
                        best = (s, m);
                    }
                }
            }
            for a in [&got, &priced] {
                let (s, m) = cost(a);
                assert_eq!(s, best.0);
                assert!((m - best.1).abs() < 1e-6, "{m} vs {}", best.1);
            }
        }
    }
}
