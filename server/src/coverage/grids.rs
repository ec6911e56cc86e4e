//! Grids in the analysis: their indexes, how they nest, which grid of
//! each level holds each household, their geometric checks, and a grid
//! redrawn ([`Analysis::update_grid`]).

use super::*;

impl Analysis {
    pub(super) fn set_grids(&mut self, grids: Vec<Grid>) {
        self.grids = grids;
        self.grid_pos = self
            .grids
            .iter()
            .enumerate()
            .map(|(i, g)| (g.code.0.clone(), i as u32))
            .collect();
        for level in Level::ALL {
            self.rebuild_tree(level);
        }
        self.grid_hh = vec![Vec::new(); self.grids.len()];
        self.grid_staff = vec![Vec::new(); self.grids.len()];
        self.figures = vec![GridFigures::default(); self.grids.len()];
        self.link_children();
    }

    pub(super) fn link_children(&mut self) {
        self.grid_children = vec![Vec::new(); self.grids.len()];
        for g in 0..self.grids.len() {
            if let Some(p) = self.parent_grid(g) {
                self.grid_children[p as usize].push(g as u32);
            }
        }
    }

    /// The grid a grid nests in: the one it names, else the grid of a
    /// higher level whose code is the longest prefix of its own.
    pub(super) fn parent_grid(&self, g: usize) -> Option<u32> {
        let grid = &self.grids[g];
        if let Some(p) = &grid.parent {
            return self.grid_pos.get(p.as_str()).copied();
        }
        let code = grid.code.as_str();
        (12..code.len()).rev().find_map(|n| {
            let p = *self.grid_pos.get(&code[..n])?;
            (self.grids[p as usize].level < grid.level).then_some(p)
        })
    }

    pub(super) fn rebuild_tree(&mut self, level: Level) {
        self.trees[level.index()] = RTree::bulk_load(
            self.grids
                .iter()
                .enumerate()
                .filter(|(_, g)| g.level == level)
                .filter_map(|(i, g)| Some(rect_entry(g.geometry.bounding_rect()?, i as u32)))
                .collect(),
        );
    }

    /// The grid of each level holding each household. The boundary rule
    /// of placement applies: a household on the line between two grids
    /// belongs to the one with the smaller code; only inside two grids'
    /// interiors is it in several.
    pub(super) fn place_households(&mut self, which: &[usize]) {
        for &i in which {
            let p = Point(self.hh[i].at);
            let mut several = 0u8;
            let mut grid = [None; 3];
            for level in Level::ALL {
                let mut inside: Vec<u32> = Vec::new();
                let mut on_edge: Vec<u32> = Vec::new();
                for e in self.trees[level.index()]
                    .locate_in_envelope_intersecting(&AABB::from_point([p.x(), p.y()]))
                {
                    let g = &self.grids[e.data as usize].geometry;
                    if g.contains(&p) {
                        inside.push(e.data);
                    } else if g.intersects(&p) {
                        on_edge.push(e.data);
                    }
                }
                if inside.len() > 1 {
                    several |= 1 << level.index();
                }
                let by_code = |v: &mut Vec<u32>| {
                    v.sort_by(|a, b| {
                        self.grids[*a as usize]
                            .code
                            .cmp(&self.grids[*b as usize].code)
                    });
                    v.first().copied()
                };
                grid[level.index()] = by_code(&mut inside).or_else(|| by_code(&mut on_edge));
            }
            let h = &mut self.hh[i];
            // Move the household between grid lists.
            for (l, old) in h.grid.iter().enumerate() {
                if let Some(g) = old {
                    if grid[l] != Some(*g) {
                        self.grid_hh[*g as usize].retain(|&x| x as usize != i);
                    }
                }
            }
            for (l, new) in grid.iter().enumerate() {
                if let Some(g) = new {
                    if h.grid[l] != Some(*g) {
                        self.grid_hh[*g as usize].push(i as u32);
                    }
                }
            }
            h.grid = grid;
            h.several = several;
        }
    }

    pub(super) fn check_geometry(&mut self, codes: &[RegionCode]) {
        let mut by_region: HashMap<RegionCode, Vec<&Grid>> = HashMap::new();
        for g in &self.grids {
            by_region.entry(g.region).or_default().push(g);
        }
        let results: Vec<(RegionCode, RegionGeometry)> = codes
            .iter()
            .filter(|c| self.leaves.contains(c) || by_region.contains_key(c))
            .filter_map(|c| {
                if self.opts.cancel.is_cancelled() {
                    return None;
                }
                let r = &self.regions[*self.region_pos.get(c)?];
                let grids = by_region.get(c).map_or(&[][..], Vec::as_slice);
                let bbox = r.boundary.bounding_rect()?;
                let water: Vec<MultiPolygon<f64>> = self
                    .water
                    .iter()
                    .filter(|w| w.bounding_rect().is_some_and(|wb| wb.intersects(&bbox)))
                    .cloned()
                    .collect();
                Some((
                    *c,
                    geometry::check_region(*c, &r.boundary, grids, &water, &self.opts),
                ))
            })
            .collect();
        for (c, g) in results {
            self.region_geo.insert(c, g);
        }
        for (i, g) in self.grids.iter().enumerate() {
            let area = self.region_geo.get(&g.region).and_then(|rg| {
                let pos = by_region
                    .get(&g.region)?
                    .iter()
                    .position(|x| std::ptr::eq(*x, g))?;
                rg.grid_area_m2.get(pos).copied()
            });
            if let Some(a) = area {
                self.figures[i].area_m2 = a;
            }
        }
    }

    /// A grid was redrawn (or added: a code not seen before). Returns the
    /// grids recomputed.
    pub fn update_grid(&mut self, g: ImportedGrid) -> Vec<String> {
        let g = Grid::from(g);
        let old_box = self
            .grid_pos
            .get(g.code.as_str())
            .and_then(|&i| self.grids[i as usize].geometry.bounding_rect());
        let new_box = g.geometry.bounding_rect();
        let level = g.level;
        let region = g.region;
        let gi = match self.grid_pos.get(g.code.as_str()) {
            Some(&i) => {
                self.grids[i as usize] = g;
                i
            }
            None => {
                let i = self.grids.len() as u32;
                self.grid_pos.insert(g.code.0.clone(), i);
                self.grids.push(g);
                self.grid_hh.push(Vec::new());
                self.grid_staff.push(Vec::new());
                self.figures.push(GridFigures::default());
                i
            }
        };
        self.link_children();
        self.rebuild_tree(level);
        // Households where the grid was or now is may change grids.
        let mut moved: Vec<usize> = Vec::new();
        for r in [old_box, new_box].into_iter().flatten() {
            moved.extend(
                self.hh_tree
                    .locate_in_envelope(&AABB::from_corners(
                        [r.min().x, r.min().y],
                        [r.max().x, r.max().y],
                    ))
                    .map(|e| e.data as usize),
            );
        }
        moved.sort_unstable();
        moved.dedup();
        let mut touched: BTreeSet<u32> = BTreeSet::from([gi]);
        for &i in &moved {
            touched.extend(self.hh[i].grid.iter().flatten().copied());
        }
        self.place_households(&moved);
        for &i in &moved {
            touched.extend(self.hh[i].grid.iter().flatten().copied());
        }
        // People who named this code before it existed now staff it.
        for (si, s) in self.staff.iter_mut().enumerate() {
            if let Some(k) = s
                .unknown_grids
                .iter()
                .position(|c| c == &self.grids[gi as usize].code.0)
            {
                s.unknown_grids.remove(k);
                s.grids.push(gi);
                self.grid_staff[gi as usize].push(si as u32);
            }
        }
        self.check_geometry(&[region]);
        self.refresh(&touched)
    }

    /// The finest grid holding a point.
    pub(super) fn grid_at(&self, at: Coord<f64>) -> Option<u32> {
        let p = Point(at);
        for level in Level::ALL.iter().rev() {
            let mut hits: Vec<u32> = self.trees[level.index()]
                .locate_in_envelope_intersecting(&AABB::from_point([at.x, at.y]))
                .filter(|e| self.grids[e.data as usize].geometry.intersects(&p))
                .map(|e| e.data)
                .collect();
            hits.sort_by(|a, b| {
                self.grids[*a as usize]
                    .code
                    .cmp(&self.grids[*b as usize].code)
            });
            if let Some(g) = hits.first() {
                return Some(*g);
            }
        }
        None
    }
}
