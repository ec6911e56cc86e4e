//! A region's coverage from the snapshot: its subtree's regions, grids,
//! households and people within a scope, and the buildings around it, put
//! through [`Analysis`]. The coverage API and the gap tiles both start here.

use super::{Analysis, Grid, Inputs, Options, Report, Suggestion};
use crate::access::Scope;
use crate::domain::{Household, Person, Policy, Region, RegionCode};
use crate::snapshot::{GridsInForce, Snapshot};

/// The grids in force in `regions` and wherever `keep` says: a region with
/// a plan (that matches its atoms) has its plan's grids, as the map shows
/// them, so an edit shows in coverage once saved; the others the grids
/// drawn elsewhere. Plan grids come first, by region, then the imported
/// ones in id order.
pub fn grids_in_force(
    s: &Snapshot,
    policy: &Policy,
    regions: &[Region],
    keep: impl Fn(RegionCode) -> bool,
) -> Vec<Grid> {
    let mut grids: Vec<Grid> = Vec::new();
    let mut planned: std::collections::HashSet<RegionCode> = std::collections::HashSet::new();
    for r in regions.iter().filter(|r| s.plans.contains_key(&r.code)) {
        if let GridsInForce::Plan(p) = s.grids_in_force(policy, r.code) {
            planned.insert(r.code);
            grids.extend(p.grids.iter().map(|g| Grid::of_plan(r.code, g)));
        }
    }
    grids.extend(
        s.grids
            .items()
            .iter()
            .filter(|g| keep(g.region) && !planned.contains(&g.region))
            .map(Grid::from),
    );
    grids
}

/// Coverage of `code` and the regions under it, as `scope` may see it, and
/// up to `suggest` carer sites that would close reach gaps, over the grids
/// in force ([`grids_in_force`]).
///
/// # Examples
///
/// One community with one grid drawn over all of it and two households:
///
/// ```
/// use geo_types::{point, polygon, MultiPolygon};
/// use wangge::access::Scope;
/// use wangge::coverage::{region::analyse, Options};
/// use wangge::domain::{
///     CareLevel, GridCode, Household, ImportedGrid, Level, Policy, Region, RegionCode,
///     SensitiveFlags,
/// };
/// use wangge::snapshot::Snapshot;
/// use wangge::domain::Dataset;
///
/// let code: RegionCode = "610902001001".parse().unwrap();
/// let square = MultiPolygon(vec![polygon![
///     (x: 108.0, y: 32.0), (x: 108.01, y: 32.0), (x: 108.01, y: 32.01), (x: 108.0, y: 32.01)
/// ]]);
/// let home = |id, x| Household {
///     id,
///     location: point!(x: x, y: 32.005),
///     size: 3,
///     care: CareLevel::REASSURED,
///     flags: SensitiveFlags::default(),
///     building: None,
///     address: String::new(),
///     head_name: String::new(),
///     phone: String::new(),
///     region: Some(code),
///     estimated: false,
/// };
/// let s = Snapshot::build(Dataset {
///     regions: vec![Region { code, name: "甲社区".into(), parent: None, boundary: square.clone() }],
///     grids: vec![ImportedGrid {
///         id: 1,
///         region: code,
///         level: Level::ONE,
///         code: GridCode("610902001001001".into()),
///         name: "一网格".into(),
///         parent: None,
///         geometry: square,
///     }],
///     households: vec![home(1, 108.002), home(2, 108.008)],
///     ..Dataset::default()
/// });
/// let (report, suggestions) =
///     analyse(&s, &Policy::default(), code, &Scope::all(), Options::default(), 0);
/// assert_eq!(report.region.households.iter().sum::<u64>(), 2);
/// assert_eq!(report.region.land_covered_pct, 100.0);
/// assert_eq!(report.grids.len(), 1);
/// assert!(suggestions.is_empty());
/// ```
pub fn analyse(
    s: &Snapshot,
    policy: &Policy,
    code: RegionCode,
    scope: &Scope,
    opts: Options,
    suggest: usize,
) -> (Report, Vec<Suggestion>) {
    let run = |a: &Analysis| {
        let report = a.report(Some(code), scope);
        let suggestions = if suggest > 0 {
            a.suggest(Some(code), scope, suggest)
        } else {
            Vec::new()
        };
        (report, suggestions)
    };
    // A caller who sees the whole subtree reads the analysis the snapshot
    // keeps for it (followed write by write); the others get one of
    // their own part.
    let d = Options::default();
    let usual = opts.sliver_m2 == d.sliver_m2
        && opts.tolerance_m2 == d.tolerance_m2
        && opts.cell_m == d.cell_m;
    if usual && Within::covers(scope, code) {
        let key = (code, opts.by_road);
        let cancel = opts.cancel.clone();
        let make = || {
            let a = fresh(s, policy, &Within::subtree(code), opts);
            // A cancelled analysis stopped early: never keep it.
            let keep = !cancel.is_cancelled();
            (a, keep)
        };
        return s.analyses().read(s.generation, key, policy, make, run);
    }
    run(&fresh(s, policy, &Within::scoped(code, scope), opts))
}

/// Which records an analysis of a region reads: those of its subtree that
/// a scope may see, and the people staffing its grids.
pub struct Within {
    code: RegionCode,
    sub: Scope,
    scope: Scope,
}

impl Within {
    /// The whole subtree of `code`.
    pub fn subtree(code: RegionCode) -> Self {
        Self::scoped(code, &Scope::all())
    }

    /// The part of `code`'s subtree `scope` may see.
    pub fn scoped(code: RegionCode, scope: &Scope) -> Self {
        Self {
            code,
            sub: Scope::prefixes([code.significant()]),
            scope: scope.clone(),
        }
    }

    /// Whether `scope` sees the whole subtree of `code`.
    pub fn covers(scope: &Scope, code: RegionCode) -> bool {
        let sig = code.significant();
        scope.is_all()
            || scope
                .prefix_list()
                .iter()
                .any(|p| sig.starts_with(p.as_str()))
    }

    /// A record of region `r`.
    pub fn region(&self, r: Option<RegionCode>) -> bool {
        self.sub.contains_opt(r) && self.scope.contains_opt(r)
    }

    pub fn household(&self, h: &Household) -> bool {
        self.region(h.region)
    }

    /// A person of the subtree, or one staffing a grid of it.
    pub fn person(&self, p: &Person) -> bool {
        let sig = self.code.significant();
        self.region(p.region) || p.grids.iter().any(|g| g.as_str().starts_with(&sig))
    }
}

/// A fresh analysis of the records `within` takes.
fn fresh(s: &Snapshot, policy: &Policy, within: &Within, opts: Options) -> Analysis {
    let code = within.code;
    let keep = |r: Option<RegionCode>| within.region(r);
    let regions: Vec<_> = s
        .regions
        .items()
        .iter()
        .filter(|r| keep(Some(r.code)))
        .cloned()
        .collect();
    let grids = grids_in_force(s, policy, &regions, |r| keep(Some(r)));
    let households: Vec<_> = s.households.iter_where(keep).cloned().collect();
    let people: Vec<_> = s
        .people
        .iter()
        .filter(|p| within.person(p))
        .cloned()
        .collect();
    let bbox = regions
        .iter()
        .find(|r| r.code == code)
        .and_then(|r| geo::BoundingRect::bounding_rect(&r.boundary));
    let buildings: Vec<_> = s
        .buildings
        .query(bbox, &Scope::all(), 0, usize::MAX)
        .items
        .into_iter()
        .cloned()
        .collect();
    let input = Inputs {
        regions: &regions,
        grids: &[],
        households: &households,
        people: &people,
        water: s.water.items(),
        buildings: &buildings,
        walking: s.emergency.walking_shared(),
    };
    Analysis::with_grids(&input, grids, policy, opts)
}
