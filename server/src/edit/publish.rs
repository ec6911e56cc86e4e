//! The codes a version is published with: kept where they can be, never
//! a retired one again.

use std::collections::{HashMap, HashSet};

use crate::domain::{GridCode, Plan};

/// The codes `draft` is published with, given every version of its region
/// saved before (any order). A grid keeps its code when the last published
/// version has it under the same parent code, or when no published version
/// ever used it; every other grid (new, moved to another parent, or
/// holding a code retired earlier) takes the next sequence number after
/// the highest ever used under its parent, so a retired code never comes
/// back. Labels are untouched: only codes change.
pub fn publish(draft: &Plan, history: &[Plan], widths: [usize; 3]) -> Plan {
    let published: Vec<&Plan> = history.iter().filter(|p| p.version.published).collect();
    let last = published.iter().max_by_key(|p| p.version.number);
    let mut ever: HashSet<&str> = HashSet::new();
    for p in &published {
        for c in p.codes.iter().flatten() {
            ever.insert(c.as_str());
        }
    }
    let region = draft.version.region.to_string();
    let mut out = draft.clone();
    for l in 0..3 {
        let width = widths[l];
        let parent_code = |p: &Plan, g: usize| -> String {
            if l == 0 {
                return region.clone();
            }
            draft
                .labels
                .iter()
                .find(|x| x.0[l] as usize == g)
                .map(|x| p.codes[l - 1][x.0[l - 1] as usize].0.clone())
                .unwrap_or_default()
        };
        let fits = |c: &str, prefix: &str| {
            c.len() == prefix.len() + width
                && c.starts_with(prefix)
                && c[prefix.len()..].bytes().all(|b| b.is_ascii_digit())
        };
        // The highest sequence number ever given under each prefix.
        let mut high: HashMap<String, u32> = HashMap::new();
        let note = |c: &str, prefix_len: usize, high: &mut HashMap<String, u32>| {
            if let Ok(n) = c[prefix_len..].parse::<u32>() {
                let e = high.entry(c[..prefix_len].to_string()).or_insert(0);
                *e = (*e).max(n);
            }
        };
        let level_len = |c: &str| c.len().checked_sub(width);
        for c in ever.iter().copied() {
            // Codes of this level: the region's length plus the widths
            // down to it.
            if c.len() == region.len() + widths[..=l].iter().sum::<usize>() {
                if let Some(pl) = level_len(c) {
                    note(c, pl, &mut high);
                }
            }
        }
        let n = draft.codes[l].len();
        let mut fresh = Vec::new();
        for g in 0..n {
            let prefix = parent_code(&out, g);
            let c = draft.codes[l][g].0.clone();
            let in_last = last.is_some_and(|p| p.codes[l].iter().any(|x| x.0 == c));
            let keep = fits(&c, &prefix) && (in_last || !ever.contains(c.as_str()));
            if keep {
                note(&c, prefix.len(), &mut high);
                out.codes[l][g] = GridCode(c);
            } else {
                fresh.push((g, prefix));
            }
        }
        for (g, prefix) in fresh {
            let next = high.entry(prefix.clone()).or_insert(0);
            *next += 1;
            out.codes[l][g] = GridCode(format!("{prefix}{:0width$}", *next));
        }
    }
    out.version = crate::domain::PlanVersion {
        published: true,
        ..crate::domain::PlanVersion::unsaved(
            draft.version.region,
            &draft.version.author,
            &draft.version.message,
            Some(draft.version.id),
        )
    };
    out
}
