//! Reach: is each vulnerable household within the carer radius of a
//! carer of its own grid, in a straight line and along the walking network.

use super::*;

impl Analysis {
    /// The carers who may look after household `i`: carers of any grid
    /// (any level) that holds it.
    pub(super) fn carers_of(&self, i: usize) -> Vec<u32> {
        let mut out: Vec<u32> = Vec::new();
        for g in self.hh[i].grid.iter().flatten() {
            for &s in &self.grid_staff[*g as usize] {
                if self.staff[s as usize].roles.iter().any(|r| r.is_carer()) && !out.contains(&s) {
                    out.push(s);
                }
            }
        }
        out
    }

    pub(super) fn compute_reach(&mut self, which: &[usize]) {
        let radius = self.policy.reach.carer_radius_m;
        for &i in which {
            if self.hh[i].care == 0 {
                continue;
            }
            if self.opts.cancel.is_cancelled() {
                return;
            }
            let carers = self.carers_of(i);
            let at = self.hh[i].at;
            let proj = LocalProjection::new(at);
            let reached = carers.iter().any(|&s| {
                let p = proj.forward(self.staff[s as usize].at);
                p.x.hypot(p.y) <= radius
            });
            let walking = self.walking.clone();
            let by_road = walking.as_deref().map(|e| {
                if self.hh[i].snap.is_none() {
                    self.hh[i].snap = e.snap_point(at);
                }
                let Some(from) = self.hh[i].snap else {
                    return false;
                };
                if carers.is_empty() {
                    return false;
                }
                let dist = e.walk_within(&from, radius);
                carers.iter().any(|&s| {
                    self.staff[s as usize]
                        .snap
                        .is_some_and(|to| e.walk_to(&from, &dist, &to) <= radius)
                })
            });
            let h = &mut self.hh[i];
            h.reached = reached;
            h.reached_by_road = by_road;
        }
    }

    /// Recomputes the reach of every vulnerable household (for benches:
    /// the reach pass alone); returns how many there are.
    pub fn reach_all(&mut self) -> usize {
        let all: Vec<usize> = (0..self.hh.len())
            .filter(|&i| self.hh[i].care > 0)
            .collect();
        self.compute_reach(&all);
        all.len()
    }
}
