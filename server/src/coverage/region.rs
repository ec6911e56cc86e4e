//! A region's coverage from the snapshot: its subtree's regions, grids,
//! households and people within a scope, and the buildings around it, put
//! through [`Analysis`]. The coverage API and the gap tiles both start here.

use super::{Analysis, Inputs, Options, Report, Suggestion};
use crate::access::Scope;
use crate::domain::{Policy, RegionCode};
use crate::snapshot::Snapshot;

/// Coverage of `code` and the regions under it, as `scope` may see it, and
/// up to `suggest` carer sites that would close reach gaps.
pub fn analyse(
    s: &Snapshot,
    policy: &Policy,
    code: RegionCode,
    scope: &Scope,
    opts: Options,
    suggest: usize,
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
    let grids: Vec<_> = s
        .grids
        .items()
        .iter()
        .filter(|g| keep(Some(g.region)))
        .cloned()
        .collect();
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
