//! Roll-ups: the report of a region (or a scope) with its figures summed
//! over its subtree.

use super::*;

impl Analysis {
    /// Regions under `code` (itself included).
    pub(super) fn subtree(&self, code: RegionCode) -> Vec<RegionCode> {
        let mut out = vec![code];
        let mut i = 0;
        while i < out.len() {
            if let Some(c) = self.children.get(&out[i]) {
                out.extend(c.iter().copied());
            }
            i += 1;
        }
        out
    }

    /// The report for a region (or every region in scope when `None`).
    pub fn report(&self, region: Option<RegionCode>, scope: &Scope) -> Report {
        let codes: Vec<RegionCode> = match region {
            Some(c) => self.subtree(c),
            None => self.regions.iter().map(|r| r.code).collect(),
        };
        let codes: HashSet<RegionCode> = codes.into_iter().filter(|c| scope.contains(*c)).collect();
        let in_view = |c: Option<RegionCode>| c.is_some_and(|c| codes.contains(&c));
        let grids: Vec<u32> = (0..self.grids.len() as u32)
            .filter(|&g| codes.contains(&self.grids[g as usize].region))
            .collect();
        let mut findings = self.findings(&codes, &grids, &in_view);
        // A total order: the same findings come out in the same order
        // however the analysis met its households (fresh, or followed
        // write by write).
        findings.sort_by(|a, b| {
            (
                a.severity,
                a.kind,
                a.region,
                &a.grids,
                a.households,
                a.vulnerable,
            )
                .cmp(&(
                    b.severity,
                    b.kind,
                    b.region,
                    &b.grids,
                    b.households,
                    b.vulnerable,
                ))
                .then_with(|| a.area_m2.total_cmp(&b.area_m2))
                .then_with(|| {
                    let (x, y) = (anchor(a), anchor(b));
                    x.0.total_cmp(&y.0).then_with(|| x.1.total_cmp(&y.1))
                })
        });
        let rollup_of = |root: RegionCode| {
            let sub: HashSet<RegionCode> = self
                .subtree(root)
                .into_iter()
                .filter(|c| codes.contains(c))
                .collect();
            self.rollup(root, &sub, &findings)
        };
        let (top, children) = match region {
            Some(c) => (
                rollup_of(c),
                self.children
                    .get(&c)
                    .map(|v| {
                        v.iter()
                            .filter(|c| codes.contains(c))
                            .map(|c| rollup_of(*c))
                            .collect()
                    })
                    .unwrap_or_default(),
            ),
            None => {
                let mut all = self.rollup_set(&codes, &findings);
                all.code = String::new();
                all.name = "全部".into();
                let roots: Vec<Rollup> = self
                    .regions
                    .iter()
                    .filter(|r| codes.contains(&r.code))
                    .filter(|r| self.parent.get(&r.code).is_none_or(|p| !codes.contains(p)))
                    .map(|r| rollup_of(r.code))
                    .collect();
                (all, roots)
            }
        };
        Report {
            region: top,
            children,
            grids: grids
                .iter()
                .map(|&g| self.figures[g as usize].clone())
                .collect(),
            findings,
            radius_m: self.policy.reach.carer_radius_m,
            by_road: self.walking.is_some(),
        }
    }

    pub(super) fn rollup(
        &self,
        root: RegionCode,
        sub: &HashSet<RegionCode>,
        findings: &[Finding],
    ) -> Rollup {
        let mut r = self.rollup_set(sub, findings);
        r.code = root.to_string();
        r.name = self
            .region_pos
            .get(&root)
            .map(|&i| self.regions[i].name.clone())
            .unwrap_or_default();
        r
    }

    pub(super) fn rollup_set(&self, sub: &HashSet<RegionCode>, findings: &[Finding]) -> Rollup {
        let care_levels = self.policy.care_levels.len().max(1);
        let mut r = Rollup {
            households: vec![0; care_levels],
            ..Rollup::default()
        };
        for h in self
            .hh
            .iter()
            .filter(|h| h.region.is_some_and(|c| sub.contains(&c)))
        {
            r.households[usize::from(h.care).min(care_levels - 1)] += 1;
            if h.care > 0 {
                r.vulnerable += 1;
                r.reached += u64::from(h.reached);
                if let Some(x) = h.reached_by_road {
                    *r.reached_by_road.get_or_insert(0) += u64::from(x);
                }
            }
        }
        let mut counted = HashSet::new();
        for (g, f) in self.grids.iter().zip(&self.figures) {
            if !sub.contains(&g.region) {
                continue;
            }
            r.grids += 1;
            if f.needs_staff {
                r.grids_needing_staff += 1;
                r.grids_staffed += u64::from(!f.unstaffed && !f.no_leader);
            }
        }
        for (i, s) in self.staff.iter().enumerate() {
            if s.grids
                .iter()
                .any(|&g| sub.contains(&self.grids[g as usize].region))
                && counted.insert(i)
            {
                for role in &s.roles {
                    *r.staff.entry(role.as_str()).or_default() += 1;
                }
            }
        }
        for c in sub {
            if !self.leaves.contains(c) {
                continue;
            }
            if let Some(g) = self.region_geo.get(c) {
                r.land_m2 += g.land_m2;
                r.covered_m2 += g.covered_m2;
            }
        }
        for f in findings.iter().filter(|f| sub.contains(&f.region)) {
            *r.findings.entry(f.kind).or_default() += 1;
        }
        let pct = |a: f64, b: f64| {
            if b > 0.0 {
                (a / b * 1000.0).round() / 10.0
            } else {
                100.0
            }
        };
        r.land_covered_pct = pct(r.covered_m2, r.land_m2);
        // No grid needing staff is nothing to staff: 100%, as for land.
        r.grids_staffed_pct = pct(r.grids_staffed as f64, r.grids_needing_staff as f64);
        r.reached_pct = pct(r.reached as f64, r.vulnerable as f64);
        if self.walking.is_some() {
            let n = r.reached_by_road.unwrap_or(0);
            r.reached_by_road = Some(n);
            r.reached_by_road_pct = Some(pct(n as f64, r.vulnerable as f64));
        }
        r.land_m2 = r.land_m2.round();
        r.covered_m2 = r.covered_m2.round();
        r
    }
}

/// Where a finding lies, for ordering: the corner of its bounding box.
fn anchor(f: &Finding) -> (f64, f64) {
    f.geometry
        .as_ref()
        .and_then(BoundingRect::bounding_rect)
        .map_or((0.0, 0.0), |r| (r.min().x, r.min().y))
}
