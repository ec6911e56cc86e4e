//! Suggestions: places for new carers that would reach the most unreached
//! vulnerable households (a maximal covering problem, [`super::mclp`]).

use super::*;

impl Analysis {
    /// The `n` places (buildings; households where no buildings are
    /// loaded) that would bring the most unreached vulnerable households
    /// of `region` within reach of a carer of their own grid.
    pub fn suggest(&self, region: Option<RegionCode>, scope: &Scope, n: usize) -> Vec<Suggestion> {
        let codes: HashSet<RegionCode> = match region {
            Some(c) => self.subtree(c),
            None => self.regions.iter().map(|r| r.code).collect(),
        }
        .into_iter()
        .filter(|c| scope.contains(*c))
        .collect();
        let demand: Vec<usize> = (0..self.hh.len())
            .filter(|&i| {
                let h = &self.hh[i];
                h.care > 0
                    && h.region.is_some_and(|c| codes.contains(&c))
                    && !(h.reached && h.reached_by_road.unwrap_or(true))
            })
            .collect();
        if demand.is_empty() {
            return Vec::new();
        }
        // By id: the same answer however the households came in.
        let mut demand = demand;
        demand.sort_by_key(|&i| self.hh[i].id);
        let radius = self.policy.reach.carer_radius_m;
        let finest = |i: usize| self.hh[i].grid.iter().rev().flatten().next().copied();
        // Candidates: buildings near the demand, else the households there.
        let dtree: RTree<Pt> = RTree::bulk_load(
            demand
                .iter()
                .enumerate()
                .map(|(k, &i)| Pt::new([self.hh[i].at.x, self.hh[i].at.y], k as u32))
                .collect(),
        );
        let candidates: Vec<(Option<i64>, Coord<f64>)> = if self.buildings.is_empty() {
            let mut homes: Vec<&Hh> = self
                .hh
                .iter()
                .filter(|h| h.region.is_some_and(|c| codes.contains(&c)))
                .collect();
            homes.sort_by_key(|h| h.id);
            homes.into_iter().map(|h| (None, h.at)).collect()
        } else {
            self.buildings
                .iter()
                .map(|(id, c)| (Some(*id), *c))
                .collect()
        };
        let deg = radius / 90_000.0; // generous: a degree of longitude ≥ 90 km below 35°N
        let mut cand: Vec<(Option<i64>, Coord<f64>, Option<u32>)> = Vec::new();
        let mut covers: Vec<Vec<u32>> = Vec::new();
        for (id, at) in candidates {
            let env = AABB::from_corners(
                [at.x - deg * 1.5, at.y - deg],
                [at.x + deg * 1.5, at.y + deg],
            );
            let proj = LocalProjection::new(at);
            let grid = self.grid_at(at);
            let reach: Vec<u32> = dtree
                .locate_in_envelope(&env)
                .filter(|e| {
                    let i = demand[e.data as usize];
                    let p = proj.forward(self.hh[i].at);
                    p.x.hypot(p.y) <= radius && grid.is_some() && finest(i) == grid
                })
                .map(|e| e.data)
                .collect();
            if !reach.is_empty() {
                cand.push((id, at, grid));
                covers.push(reach);
            }
        }
        let weights = vec![1.0; demand.len()];
        let s = mclp::solve(&weights, &covers, n);
        s.sites
            .iter()
            .zip(&s.gains)
            .enumerate()
            .map(|(k, (&c, &gain))| Suggestion {
                rank: k + 1,
                lon: cand[c].1.x,
                lat: cand[c].1.y,
                building: cand[c].0,
                grid: cand[c].2.map(|g| self.grids[g as usize].code.0.clone()),
                gain: gain as u64,
            })
            .collect()
    }
}
