//! Grid codes: region code plus a sequence number per level, in reading
//! order, old codes kept where a grid is unchanged.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::super::atoms::Atoms;
use super::Previous;
use crate::domain::{GridCode, RegionCode};

/// Codes: region code + one sequence number per level. Children of a
/// parent are numbered in reading order (rows north → south, west → east
/// within a row). A grid keeps its old code when it was kept whole (locked)
/// or has exactly its old atoms under an unchanged parent; new grids take
/// the next free numbers.
pub(super) fn number(
    region: RegionCode,
    set: &Atoms,
    labels: &[Vec<u32>],
    widths: [usize; 3],
    previous: Option<Previous<'_>>,
) -> Vec<Vec<GridCode>> {
    let levels = labels.len();
    // Old grids by (level, atoms).
    let mut old: HashMap<(usize, Vec<u32>), GridCode> = HashMap::new();
    if let Some(p) = previous {
        for l in 0..levels.min(3) {
            let mut by: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
            for (a, g) in p.plan.labels.iter().enumerate() {
                by.entry(g.0[l]).or_default().push(a as u32);
            }
            for (id, atoms) in by {
                if let Some(c) = p.plan.codes[l].get(id as usize) {
                    old.insert((l, atoms), c.clone());
                }
            }
        }
    }
    let mut codes: Vec<Vec<GridCode>> = Vec::with_capacity(levels);
    for l in 0..levels {
        let n = labels[l]
            .iter()
            .copied()
            .max()
            .map_or(0, |m| m as usize + 1);
        let mut members = vec![Vec::new(); n];
        for (a, &g) in labels[l].iter().enumerate() {
            members[g as usize].push(a as u32);
        }
        // Parent of each grid (the level above; the region for level 1).
        let parent: Vec<Option<u32>> = (0..n)
            .map(|g| {
                let a = *members[g].first()? as usize;
                (l > 0).then(|| labels[l - 1][a])
            })
            .collect();
        let mut level_codes = vec![GridCode(String::new()); n];
        let mut by_parent: BTreeMap<Option<u32>, Vec<usize>> = BTreeMap::new();
        for g in 0..n {
            if !members[g].is_empty() {
                by_parent.entry(parent[g]).or_default().push(g);
            }
        }
        for (p, mut kids) in by_parent {
            let prefix = match p {
                Some(p) => codes[l - 1][p as usize].0.clone(),
                None => region.to_string(),
            };
            let width = widths[l.min(2)];
            let mut used: HashSet<u32> = HashSet::new();
            let mut todo = Vec::new();
            reading_order(set, &members, &mut kids);
            for g in kids {
                let keep = old
                    .get(&(l, members[g].clone()))
                    .filter(|c| c.0.len() == prefix.len() + width && c.0.starts_with(&prefix))
                    .cloned();
                match keep {
                    Some(c) => {
                        if let Ok(s) = c.0[prefix.len()..].parse::<u32>() {
                            used.insert(s);
                        }
                        level_codes[g] = c;
                    }
                    None => todo.push(g),
                }
            }
            let mut next = used.iter().copied().max().unwrap_or(0) + 1;
            for g in todo {
                while used.contains(&next) {
                    next += 1;
                }
                used.insert(next);
                level_codes[g] = GridCode(format!("{prefix}{next:0width$}"));
            }
        }
        codes.push(level_codes);
    }
    codes
}

/// Sorts grids into reading order by their household- or area-weighted
/// centre: rows as tall as a typical grid, north first, west first.
fn reading_order(set: &Atoms, members: &[Vec<u32>], kids: &mut [usize]) {
    let centre = |g: usize| {
        let (mut x, mut y, mut w) = (0.0, 0.0, 0.0);
        for &a in &members[g] {
            let a = a as usize;
            let wt = set.area_m2[a].max(1e-9);
            x += set.centroid[a].x * wt;
            y += set.centroid[a].y * wt;
            w += wt;
        }
        (x / w, y / w)
    };
    let area: f64 = kids
        .iter()
        .flat_map(|&g| members[g].iter())
        .map(|&a| set.area_m2[a as usize])
        .sum();
    let band = (area / kids.len().max(1) as f64).sqrt().max(1.0);
    let top = kids.iter().map(|&g| centre(g).1).fold(f64::MIN, f64::max);
    kids.sort_by(|&a, &b| {
        let (ca, cb) = (centre(a), centre(b));
        let (ra, rb) = (((top - ca.1) / band).floor(), ((top - cb.1) / band).floor());
        ra.total_cmp(&rb)
            .then(ca.0.total_cmp(&cb.0))
            .then(a.cmp(&b))
    });
}
