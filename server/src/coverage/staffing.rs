//! Staffing: who staffs which grid, each grid's figures against the
//! policy's staffing rules, and a person changed
//! ([`Analysis::update_person`]).

use super::*;

impl Analysis {
    pub(super) fn staff_of(&self, p: &Person) -> Staff {
        let mut grids = Vec::new();
        let mut unknown_grids = Vec::new();
        for c in &p.grids {
            match self.grid_pos.get(c.as_str()) {
                Some(&g) if !grids.contains(&g) => grids.push(g),
                Some(_) => {}
                None => unknown_grids.push(c.0.clone()),
            }
        }
        let snap = self.walking.as_deref().and_then(|e| e.snap_point(p.home.0));
        Staff {
            id: p.id,
            roles: p.roles.clone(),
            at: p.home.0,
            grids,
            unknown_grids,
            snap,
        }
    }

    pub(super) fn index_staff(&mut self) {
        for v in &mut self.grid_staff {
            v.clear();
        }
        for (i, s) in self.staff.iter().enumerate() {
            for &g in &s.grids {
                self.grid_staff[g as usize].push(i as u32);
            }
        }
    }

    pub(super) fn compute_figures(&mut self, which: &[u32]) {
        let st = &self.policy.staffing;
        let care_levels = self.policy.care_levels.len().max(1);
        for &g in which {
            let gi = g as usize;
            let grid = &self.grids[gi];
            let mut f = GridFigures {
                code: grid.code.0.clone(),
                name: grid.name.clone(),
                level: grid.level.get(),
                region: grid.region.to_string(),
                parent: grid.parent.as_ref().map(|p| p.0.clone()),
                area_m2: self.figures[gi].area_m2,
                households: vec![0; care_levels],
                ..GridFigures::default()
            };
            for &h in &self.grid_hh[gi] {
                let h = &self.hh[h as usize];
                let c = usize::from(h.care).min(care_levels - 1);
                f.households[c] += 1;
                if h.care > 0 {
                    f.vulnerable += 1;
                    f.reached += u64::from(h.reached);
                    if let Some(r) = h.reached_by_road {
                        *f.reached_by_road.get_or_insert(0) += u64::from(r);
                    }
                }
            }
            if self.walking.is_some() && f.reached_by_road.is_none() {
                f.reached_by_road = Some(0);
            }
            for &s in &self.grid_staff[gi] {
                for r in &self.staff[s as usize].roles {
                    *f.staff.entry(r.as_str()).or_default() += 1;
                    match r {
                        Role::FullTimeWorker => {
                            f.workers += 1;
                            f.full_time_workers += 1;
                        }
                        Role::PartTimeWorker => f.workers += 1,
                        Role::GridLeader => f.leaders += 1,
                        _ => {}
                    }
                }
            }
            let total: u64 = f.households.iter().sum();
            let within = self.staff_within(gi);
            for &p in &within {
                for r in &self.staff[p as usize].roles {
                    *f.staff_within.entry(r.as_str()).or_default() += 1;
                }
            }
            // Full-time workers of this grid and of the grids inside it.
            let full_time = within
                .iter()
                .filter(|&&p| self.staff[p as usize].roles.contains(&Role::FullTimeWorker))
                .count() as u64;
            f.households_per_full_time = (full_time > 0).then(|| total as f64 / full_time as f64);
            f.overloaded = full_time > 0
                && total as f64 / full_time as f64
                    > f64::from(st.max_households_per_full_time_worker);
            // A grid with no households needs no one.
            let needs_workers =
                total > 0 && grid.level == Level::THREE && st.min_workers_per_level3 > 0;
            let needs_leader =
                total > 0 && grid.level.get() == st.leader_level && st.min_leaders_per_grid > 0;
            f.needs_staff = needs_workers || needs_leader;
            f.unstaffed = needs_workers && f.workers < u64::from(st.min_workers_per_level3);
            f.no_leader = needs_leader && f.leaders < u64::from(st.min_leaders_per_grid);
            self.figures[gi] = f;
        }
    }

    /// People assigned to grid `g` or to grids nested in it, each once.
    pub(super) fn staff_within(&self, g: usize) -> BTreeSet<u32> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![g as u32];
        while let Some(x) = stack.pop() {
            seen.extend(self.grid_staff[x as usize].iter().copied());
            stack.extend(self.grid_children[x as usize].iter().copied());
        }
        seen
    }

    /// A person joined, left, or changed roles, grids or home. Returns the
    /// grids recomputed.
    pub fn update_person(&mut self, p: &Person) -> Vec<String> {
        let new = self.staff_of(p);
        let mut touched: BTreeSet<u32> = new.grids.iter().copied().collect();
        match self.staff_pos.get(&p.id) {
            Some(&i) => {
                touched.extend(self.staff[i].grids.iter().copied());
                for &g in &self.staff[i].grids {
                    self.grid_staff[g as usize].retain(|&s| s as usize != i);
                }
                for &g in &new.grids {
                    self.grid_staff[g as usize].push(i as u32);
                }
                self.staff[i] = new;
            }
            None => {
                let i = self.staff.len();
                for &g in &new.grids {
                    self.grid_staff[g as usize].push(i as u32);
                }
                self.staff.push(new);
                self.staff_pos.insert(p.id, i);
            }
        }
        self.refresh(&touched)
    }

    /// A person left: deleted, or no longer staff of the regions analysed.
    /// Their place is kept, empty, as [`Analysis::update_person`] may
    /// bring them back. Returns the grids recomputed.
    pub fn remove_person(&mut self, id: PersonId) -> Vec<String> {
        let Some(&i) = self.staff_pos.get(&id) else {
            return Vec::new();
        };
        let touched: BTreeSet<u32> = self.staff[i].grids.iter().copied().collect();
        for &g in &touched {
            self.grid_staff[g as usize].retain(|&s| s as usize != i);
        }
        let s = &mut self.staff[i];
        s.roles.clear();
        s.grids.clear();
        s.unknown_grids.clear();
        self.refresh(&touched)
    }
}
