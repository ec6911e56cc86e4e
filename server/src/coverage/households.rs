//! A household written ([`Analysis::update_household`]): only its own
//! placement and reach are measured again, and the figures of the grids
//! it left and joined, so a coverage analysis kept across writes follows
//! the ledger for a fraction of a fresh analysis.

use super::*;

impl Hh {
    pub(super) fn of(h: &Household) -> Self {
        Self {
            id: h.id,
            at: h.location.0,
            care: h.care.0,
            region: h.region,
            grid: [None; 3],
            several: 0,
            reached: false,
            reached_by_road: None,
            snap: None,
        }
    }

    /// The place of a household that left.
    fn gone(id: i64) -> Self {
        Self {
            id,
            at: Coord { x: 0.0, y: 0.0 },
            care: 0,
            region: None,
            grid: [None; 3],
            several: 0,
            reached: false,
            reached_by_road: None,
            snap: None,
        }
    }
}

impl Analysis {
    /// Household `id` was created or changed (`Some`: its new record), or
    /// left (`None`: deleted, or moved out of the regions analysed; the
    /// caller decides which households belong). Returns the grids whose
    /// figures were recomputed.
    ///
    /// # Examples
    ///
    /// ```
    /// use geo_types::{point, polygon, MultiPolygon};
    /// use wangge::access::Scope;
    /// use wangge::coverage::{Analysis, Inputs, Options};
    /// use wangge::domain::{
    ///     CareLevel, GridCode, Household, ImportedGrid, Level, Policy, Region, RegionCode,
    ///     SensitiveFlags,
    /// };
    ///
    /// let code: RegionCode = "610902001001".parse().unwrap();
    /// let square = MultiPolygon(vec![polygon![
    ///     (x: 108.0, y: 32.0), (x: 108.01, y: 32.0), (x: 108.01, y: 32.01), (x: 108.0, y: 32.01)
    /// ]]);
    /// let region = Region { code, name: "甲社区".into(), parent: None, boundary: square.clone() };
    /// let grid = ImportedGrid {
    ///     id: 1,
    ///     region: code,
    ///     level: Level::ONE,
    ///     code: GridCode("610902001001001".into()),
    ///     name: "一网格".into(),
    ///     parent: None,
    ///     geometry: square,
    /// };
    /// let input = Inputs {
    ///     regions: &[region],
    ///     grids: &[grid],
    ///     households: &[],
    ///     people: &[],
    ///     water: &[],
    ///     buildings: &[],
    ///     walking: None,
    /// };
    /// let mut a = Analysis::new(&input, &Policy::default(), Options::default());
    /// let h = Household {
    ///     id: 7,
    ///     location: point!(x: 108.005, y: 32.005),
    ///     size: 1,
    ///     care: CareLevel(2),
    ///     flags: SensitiveFlags::default(),
    ///     building: None,
    ///     address: String::new(),
    ///     head_name: String::new(),
    ///     phone: String::new(),
    ///     region: Some(code),
    ///     estimated: false,
    /// };
    /// assert_eq!(a.update_household(7, Some(&h)), vec!["610902001001001"]);
    /// assert_eq!(a.report(Some(code), &Scope::all()).region.vulnerable, 1);
    /// a.update_household(7, None);
    /// assert_eq!(a.report(Some(code), &Scope::all()).region.vulnerable, 0);
    /// ```
    pub fn update_household(&mut self, id: i64, new: Option<&Household>) -> Vec<String> {
        let hh = &self.hh;
        let pos = self.hh_pos.get_or_insert_with(|| {
            hh.iter()
                .enumerate()
                .map(|(i, h)| (h.id, i))
                .collect::<HashMap<i64, usize>>()
        });
        let at = match (pos.get(&id).copied(), new) {
            (Some(i), _) => Some(i),
            (None, Some(_)) => {
                let i = self.hh.len();
                pos.insert(id, i);
                self.hh.push(Hh::gone(id));
                Some(i)
            }
            (None, None) => None,
        };
        let Some(i) = at else { return Vec::new() };
        // Out of where it was: its point, its grids' lists.
        let mut touched: BTreeSet<u32> = self.hh[i].grid.iter().flatten().copied().collect();
        for &g in &touched {
            self.grid_hh[g as usize].retain(|&x| x as usize != i);
        }
        if self.hh[i].region.is_some() {
            let old = self.hh[i].at;
            self.hh_tree.remove(&Pt::new([old.x, old.y], i as u32));
        }
        self.hh[i] = Hh::gone(id);
        // Into where it is now.
        if let Some(h) = new {
            self.hh[i] = Hh::of(h);
            self.hh_tree
                .insert(Pt::new([h.location.x(), h.location.y()], i as u32));
            self.place_households(&[i]);
            touched.extend(self.hh[i].grid.iter().flatten().copied());
            self.compute_reach(&[i]);
        }
        self.refigure(touched)
    }
}
