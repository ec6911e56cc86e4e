//! A region's coverage from the snapshot: its subtree's regions, grids,
//! households and people within a scope, and the buildings around it, put
//! through [`Analysis`]. The coverage API and the gap tiles both start here.

use super::{Analysis, Inputs, Options, Report, Suggestion};
use crate::access::Scope;
use crate::domain::{ImportedGrid, Policy, RegionCode};
use crate::snapshot::Snapshot;

/// The grids in force in a leaf region when it has a plan (its newest
/// plan's grids); `None` leaves it to the grids drawn elsewhere.
pub type InForce<'a> = &'a dyn Fn(RegionCode) -> Option<Vec<ImportedGrid>>;

/// Coverage of `code` and the regions under it, as `scope` may see it, and
/// up to `suggest` carer sites that would close reach gaps. A region with
/// a plan is analysed with its plan's grids (`in_force`), as the map shows
/// them, so an edit shows in coverage once saved; the others with the grids
/// drawn elsewhere.
pub fn analyse(
    s: &Snapshot,
    policy: &Policy,
    code: RegionCode,
    scope: &Scope,
    opts: Options,
    suggest: usize,
    in_force: InForce<'_>,
) -> (Report, Vec<Suggestion>) {
    // Only the region's subtree, and of it only what the caller may see.
    let sub = Scope::prefixes([code.significant()]);
    let keep = |r: Option<RegionCode>| sub.contains_opt(r) && scope.contains_opt(r);
    let regions: Vec<_> = s
        .regions
        .items()
        .iter()
        .filter(|r| keep(Some(r.code)))
        .cloned()
        .collect();
    let mut grids: Vec<ImportedGrid> = Vec::new();
    let mut planned: std::collections::HashSet<RegionCode> = std::collections::HashSet::new();
    for r in &regions {
        if let Some(gs) = in_force(r.code) {
            planned.insert(r.code);
            grids.extend(gs);
        }
    }
    grids.extend(
        s.grids
            .items()
            .iter()
            .filter(|g| keep(Some(g.region)) && !planned.contains(&g.region))
            .cloned(),
    );
    let households: Vec<_> = s
        .households
        .items()
        .iter()
        .filter(|h| keep(h.region))
        .cloned()
        .collect();
    let people: Vec<_> = s
        .people
        .items()
        .iter()
        .filter(|p| {
            keep(p.region)
                || p.grids
                    .iter()
                    .any(|g| g.as_str().starts_with(&code.significant()))
        })
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
        grids: &grids,
        households: &households,
        people: &people,
        water: s.water.items(),
        buildings: &buildings,
        emergency: Some(&s.emergency),
    };
    let a = Analysis::new(&input, policy, opts);
    let report = a.report(Some(code), scope);
    let suggestions = if suggest > 0 {
        a.suggest(Some(code), scope, suggest)
    } else {
        Vec::new()
    };
    (report, suggestions)
}
