//! Finding things by what people type: a region by code or name, a grid by
//! code or name (current plans and imported grids), a household by its
//! address, or by its head's name or phone for roles that see those in
//! full (office, emergency, admin). City-wide, but only within the
//! caller's scope, and addresses are matched as the caller's role sees
//! them (a planner, who sees streets but not house numbers, finds streets;
//! a public viewer finds none).

use geo::BoundingRect;
use geo_types::Rect;
use serde::Serialize;

use crate::access::projection::{mask_address, visibility, PersonalField, Visibility};
use crate::access::Caller;
use crate::snapshot::Snapshot;

/// What a hit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Region,
    Grid,
    Household,
}

/// One thing found, with where to show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    pub kind: Kind,
    /// Region or grid code; a household's id.
    pub code: String,
    pub label: String,
    /// Grid level (1-3).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<u8>,
    /// Households sharing this label (masked addresses name a street).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<usize>,
    /// `[west, south, east, north]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bbox: Option<[f64; 4]>,
    /// `[lon, lat]` of a household.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub point: Option<[f64; 2]>,
}

/// Hits for `query` (trimmed, case-insensitive): regions, then grids by
/// code, then households, at most `limit` in all. Codes match from their
/// start; names and addresses anywhere.
#[allow(
    clippy::too_many_lines,
    reason = "regions, grids and households in the order hits are ranked, sharing the query and the scope"
)]
pub fn search(s: &Snapshot, caller: &Caller, query: &str, limit: usize) -> Vec<Hit> {
    let q = query.trim().to_lowercase();
    if q.is_empty() || limit == 0 {
        return Vec::new();
    }
    let scope = &caller.scope;
    let named = |name: &str| name.to_lowercase().contains(&q);
    let mut hits = Vec::new();
    for r in s.regions(scope) {
        let code = r.code.to_string();
        if code.starts_with(&q) || named(&r.name) {
            hits.push(Hit {
                kind: Kind::Region,
                code,
                label: r.name.clone(),
                level: None,
                count: None,
                bbox: r.boundary.bounding_rect().map(corners),
                point: None,
            });
        }
    }

    let mut grids = Vec::new();
    for plan in s.plans.values() {
        if !scope.contains(plan.version.region) {
            continue;
        }
        // Atom ids are per region: their extents, once a code matches.
        let mut extents: Option<std::collections::HashMap<u32, Rect<f64>>> = None;
        for (l, codes) in plan.codes.iter().enumerate() {
            for (id, c) in codes.iter().enumerate() {
                if !c.0.to_lowercase().starts_with(&q) {
                    continue;
                }
                let extents = extents.get_or_insert_with(|| {
                    s.atoms
                        .items()
                        .iter()
                        .filter(|a| a.region == plan.version.region)
                        .filter_map(|a| a.geometry.bounding_rect().map(|r| (a.id, r)))
                        .collect()
                });
                // The grid's extent: its atoms'.
                let bbox = plan
                    .atoms
                    .iter()
                    .zip(&plan.labels)
                    .filter(|(_, label)| label.0[l] as usize == id)
                    .filter_map(|(a, _)| extents.get(a).copied())
                    .reduce(crate::spatial::cover);
                grids.push(Hit {
                    kind: Kind::Grid,
                    code: c.0.clone(),
                    label: c.0.clone(),
                    level: Some(l as u8 + 1),
                    count: None,
                    bbox: bbox.map(corners),
                    point: None,
                });
            }
        }
    }
    for g in s.grids.items() {
        // Regions with a plan show the plan's grids, not imported ones.
        if !scope.contains(g.region) || s.plans.contains_key(&g.region) {
            continue;
        }
        if g.code.0.to_lowercase().starts_with(&q) || (!g.name.is_empty() && named(&g.name)) {
            grids.push(Hit {
                kind: Kind::Grid,
                code: g.code.0.clone(),
                label: if g.name.is_empty() {
                    g.code.0.clone()
                } else {
                    g.name.clone()
                },
                level: Some(g.level.get()),
                count: None,
                bbox: g.geometry.bounding_rect().map(corners),
                point: None,
            });
        }
    }
    grids.sort_by(|a, b| a.code.cmp(&b.code));
    hits.extend(grids);

    let seen = visibility(caller.role, PersonalField::HouseholdAddress);
    // A household hit is one household's point: never for counts-only roles.
    let individuals = crate::access::projection::detail(caller.role)
        == crate::access::projection::Detail::Individuals;
    if seen != Visibility::Hidden && individuals {
        let mut by_label: Vec<Hit> = Vec::new();
        let mut by_head: Vec<Hit> = Vec::new();
        let heads = Heads::of(caller, &q);
        let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        for h in s.households.iter_where(|r| scope.contains_opt(r)) {
            if heads.find(h) {
                if by_head.len() < limit {
                    let p = h.location.0;
                    by_head.push(Hit {
                        kind: Kind::Household,
                        code: h.id.to_string(),
                        label: format!("{} · {}", h.head_name, h.address),
                        level: None,
                        count: Some(1),
                        bbox: Some([p.x, p.y, p.x, p.y]),
                        point: Some([p.x, p.y]),
                    });
                }
                continue;
            }
            if !h.address.to_lowercase().contains(&q) {
                continue;
            }
            // Masked: match what the role sees, not the hidden number.
            let label = match seen {
                Visibility::Full => h.address.clone(),
                _ => mask_address(&h.address),
            };
            if seen != Visibility::Full && !label.to_lowercase().contains(&q) {
                continue;
            }
            if let Some(&i) = index.get(&label) {
                let hit = &mut by_label[i];
                hit.count = hit.count.map(|n| n + 1);
                let p = h.location.0;
                hit.bbox = hit
                    .bbox
                    .map(|b| [b[0].min(p.x), b[1].min(p.y), b[2].max(p.x), b[3].max(p.y)]);
                continue;
            }
            if by_label.len() >= limit {
                continue;
            }
            let p = h.location.0;
            index.insert(label.clone(), by_label.len());
            by_label.push(Hit {
                kind: Kind::Household,
                code: h.id.to_string(),
                label,
                level: None,
                count: Some(1),
                bbox: Some([p.x, p.y, p.x, p.y]),
                point: Some([p.x, p.y]),
            });
        }
        hits.extend(by_head);
        hits.extend(by_label);
    }
    hits.truncate(limit);
    hits
}

/// Finding a household by its head's name or phone: only for a role that
/// sees that field in full (a masked name or a hidden phone must not be
/// matched, or a search would tell what the mask hides).
struct Heads {
    /// The query, lower case, when names are searched.
    name: Option<String>,
    /// The query's digits, when it is a phone number (4 digits or more).
    phone: Option<String>,
}

impl Heads {
    fn of(caller: &Caller, q: &str) -> Self {
        let full = |f| visibility(caller.role, f) == Visibility::Full;
        let digits = digits(q);
        let phone_like = digits.len() >= 4
            && q.chars()
                .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '+'));
        Self {
            name: (full(PersonalField::HouseholdName) && !phone_like).then(|| q.to_string()),
            phone: (full(PersonalField::HouseholdPhone) && phone_like).then_some(digits),
        }
    }

    fn find(&self, h: &crate::domain::Household) -> bool {
        let named = self
            .name
            .as_ref()
            .is_some_and(|q| !h.head_name.is_empty() && h.head_name.to_lowercase().contains(q));
        named
            || self
                .phone
                .as_ref()
                .is_some_and(|d| digits(&h.phone).contains(d.as_str()))
    }
}

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

fn corners(r: Rect<f64>) -> [f64; 4] {
    [r.min().x, r.min().y, r.max().x, r.max().y]
}

#[cfg(test)]
mod tests;
