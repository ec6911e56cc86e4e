//! Findings: every gap of the analysis as a map feature or a table row.

use super::*;

/// Households (all, vulnerable) per region and level.
type Tally = BTreeMap<(RegionCode, u8), (u64, u64)>;
/// Unreached vulnerable households per region and hexagon cell.
type CellTally = BTreeMap<(RegionCode, hex::Cell), (u64, Vec<i64>)>;

/// What [`Analysis::household_findings`] counts.
struct HouseholdTally {
    no_grid: Tally,
    several: Tally,
    unreached_cells: CellTally,
}

impl Analysis {
    pub(super) fn findings(
        &self,
        codes: &HashSet<RegionCode>,
        grids: &[u32],
        in_view: &dyn Fn(Option<RegionCode>) -> bool,
    ) -> Vec<Finding> {
        let mut out: Vec<Finding> = Vec::new();
        for c in codes {
            if let Some(g) = self.region_geo.get(c) {
                out.extend(g.findings.iter().cloned());
            }
        }
        let tally = self.household_findings(in_view, &mut out);
        Self::placement_findings(tally.no_grid, tally.several, &mut out);
        self.unreached_cell_findings(tally.unreached_cells, &mut out);
        self.staffing_findings(grids, &mut out);
        self.overstretched_findings(codes, &mut out);
        out
    }

    /// Unreached vulnerable households (into `out`, one by one), and the
    /// households in no grid, in several and unreached, tallied.
    fn household_findings(
        &self,
        in_view: &dyn Fn(Option<RegionCode>) -> bool,
        out: &mut Vec<Finding>,
    ) -> HouseholdTally {
        // Households in no grid / several, per level, grouped per region.
        let mut no_grid: Tally = BTreeMap::new();
        let mut several: Tally = BTreeMap::new();
        let mut unreached_cells: CellTally = BTreeMap::new();
        for h in &self.hh {
            if !in_view(h.region) {
                continue;
            }
            let Some(region) = h.region else { continue };
            let v = u64::from(h.care > 0);
            for level in Level::ALL {
                let l = level.index();
                let level_used = self.trees[l].size() > 0;
                if h.grid[l].is_none() && (level_used || level == Level::ONE) {
                    let e = no_grid.entry((region, level.get())).or_default();
                    e.0 += 1;
                    e.1 += v;
                }
                if h.several & (1 << l) != 0 {
                    let e = several.entry((region, level.get())).or_default();
                    e.0 += 1;
                    e.1 += v;
                }
            }
            if h.care > 0 && !(h.reached && h.reached_by_road.unwrap_or(true)) {
                let proj = self.cell_projection();
                let cell = hex::cell_of(proj.forward(h.at), self.opts.cell_m);
                let e = unreached_cells.entry((region, cell)).or_default();
                e.0 += 1;
                e.1.push(h.id);
                out.push(Finding {
                    kind: FindingKind::Unreached,
                    severity: if h.care >= 2 {
                        Severity::High
                    } else {
                        Severity::Medium
                    },
                    region,
                    level: None,
                    grids: h
                        .grid
                        .iter()
                        .flatten()
                        .map(|&g| self.grids[g as usize].code.0.clone())
                        .collect(),
                    area_m2: 0.0,
                    households: 1,
                    vulnerable: 1,
                    geometry: Some(Geometry::Point(Point(h.at))),
                });
            }
        }
        HouseholdTally {
            no_grid,
            several,
            unreached_cells,
        }
    }

    /// Households in no grid and in several grids, per region and level.
    fn placement_findings(no_grid: Tally, several: Tally, out: &mut Vec<Finding>) {
        for (kind, map) in [
            (FindingKind::NoGrid, no_grid),
            (FindingKind::SeveralGrids, several),
        ] {
            for ((region, level), (n, v)) in map {
                out.push(Finding {
                    kind,
                    severity: if v > 0 {
                        Severity::High
                    } else {
                        Severity::Medium
                    },
                    region,
                    level: Level::new(level),
                    grids: Vec::new(),
                    area_m2: 0.0,
                    households: n,
                    vulnerable: v,
                    geometry: None,
                });
            }
        }
    }

    /// Hexagon cells holding unreached vulnerable households.
    fn unreached_cell_findings(&self, cells: CellTally, out: &mut Vec<Finding>) {
        let proj = self.cell_projection();
        for ((region, cell), (n, _)) in cells {
            let poly = proj.unproject(&hex::polygon(cell, self.opts.cell_m));
            out.push(Finding {
                kind: FindingKind::UnreachedCell,
                severity: if n >= 5 {
                    Severity::High
                } else {
                    Severity::Medium
                },
                region,
                level: None,
                grids: Vec::new(),
                area_m2: 0.0,
                households: n,
                vulnerable: n,
                geometry: Some(Geometry::Polygon(poly)),
            });
        }
    }

    /// Grids short of workers or a leader, or overloaded.
    fn staffing_findings(&self, grids: &[u32], out: &mut Vec<Finding>) {
        for &g in grids {
            let f = &self.figures[g as usize];
            let grid = &self.grids[g as usize];
            let total: u64 = f.households.iter().sum();
            for (flag, kind) in [
                (f.unstaffed, FindingKind::Unstaffed),
                (f.no_leader, FindingKind::NoLeader),
                (f.overloaded, FindingKind::Overloaded),
            ] {
                if flag {
                    out.push(Finding {
                        kind,
                        severity: if f.vulnerable > 0 {
                            Severity::High
                        } else {
                            Severity::Medium
                        },
                        region: grid.region,
                        level: Some(grid.level),
                        grids: vec![grid.code.0.clone()],
                        area_m2: f.area_m2,
                        households: total,
                        vulnerable: f.vulnerable,
                        geometry: Some(Geometry::MultiPolygon(grid.geometry.clone())),
                    });
                }
            }
        }
    }

    /// People assigned to more grids than the policy allows.
    fn overstretched_findings(&self, codes: &HashSet<RegionCode>, out: &mut Vec<Finding>) {
        let max = self.policy.staffing.max_grids_per_person as usize;
        for s in &self.staff {
            if s.grids.len() > max {
                let region = self.grids[s.grids[0] as usize].region;
                if codes.contains(&region) {
                    out.push(Finding {
                        kind: FindingKind::Overstretched,
                        severity: Severity::Medium,
                        region,
                        level: None,
                        grids: s
                            .grids
                            .iter()
                            .map(|&g| self.grids[g as usize].code.0.clone())
                            .collect(),
                        area_m2: 0.0,
                        households: 0,
                        vulnerable: 0,
                        geometry: None,
                    });
                }
            }
        }
    }

    /// One plane for hexagon cells over the whole analysis, so cells of
    /// neighbouring regions line up.
    pub(super) fn cell_projection(&self) -> LocalProjection {
        let c = self
            .regions
            .iter()
            .filter_map(|r| r.boundary.bounding_rect())
            .reduce(crate::spatial::cover)
            .map_or(Coord { x: 0.0, y: 0.0 }, |r| {
                // Rounded so the cells do not shift when a region is added.
                Coord {
                    x: r.center().x.round(),
                    y: r.center().y.round(),
                }
            });
        LocalProjection::new(c)
    }
}
