//! Land whose buildings hold no homes (a campus, a mall, a hospital, a
//! works): atoms with no households whose buildings all have a use
//! nobody lives in. The partitioner leaves such land, across the small
//! roads inside it, to one grid at every level instead of slicing a
//! campus among the grids around it for the sake of their shapes: a grid
//! worker covers a campus as one place, and there is nobody in it to
//! balance.

use geo::{BoundingRect, InteriorPoint, Intersects};
use geo_types::Point;
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::RTree;

use super::super::atoms::{Atoms, EdgeKind};
use crate::domain::{Building, BuildingUse};
use crate::spatial::projection::LocalProjection;

/// Per atom: true when it holds no household, at least one building, and
/// no building people may live in (`buildings` in WGS-84, atoms in the
/// plane of `proj`).
pub(super) fn marked(set: &Atoms, proj: &LocalProjection, buildings: &[&Building]) -> Vec<bool> {
    let mut out = vec![false; set.len()];
    let uses: Vec<BuildingUse> = buildings.iter().map(|b| b.building_use()).collect();
    if uses.iter().all(|u| u.may_house()) {
        return out;
    }
    let boxes: Vec<GeomWithData<Rectangle<[f64; 2]>, usize>> = set
        .geometry
        .iter()
        .enumerate()
        .filter_map(|(i, p)| {
            let r = p.bounding_rect()?;
            Some(GeomWithData::new(
                Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]),
                i,
            ))
        })
        .collect();
    let tree = RTree::bulk_load(boxes);
    // 0: nothing seen, 1: only buildings without homes, 2: a home.
    let mut seen = vec![0u8; set.len()];
    for (b, used) in buildings.iter().zip(uses) {
        let Some(p) = b.geometry.interior_point() else {
            continue;
        };
        let at = proj.forward(p.0);
        let p = Point(at);
        let hit = tree
            .locate_all_at_point(&[at.x, at.y])
            .map(|b| b.data)
            .find(|&a| set.geometry[a].intersects(&p));
        if let Some(a) = hit {
            seen[a] = if used.may_house() { 2 } else { seen[a].max(1) };
        }
    }
    for (a, m) in out.iter_mut().enumerate() {
        *m = seen[a] == 1 && set.households[a] == 0;
    }
    out
}

/// The node each atom of `keep` becomes when the marked land is drawn
/// together: marked atoms joined across open ground, paths and minor
/// roads (not across major roads, rivers or railways, which part one
/// campus from the next) share a node. `None` when nothing joins.
pub(super) fn contraction(
    set: &Atoms,
    marked: &[bool],
    keep: &[u32],
    barriers: &[EdgeKind],
) -> Option<Vec<u32>> {
    let mut pos = vec![u32::MAX; set.len()];
    for (i, &a) in keep.iter().enumerate() {
        if marked.get(a as usize).copied().unwrap_or(false) {
            pos[a as usize] = i as u32;
        }
    }
    let mut parent: Vec<u32> = (0..keep.len() as u32).collect();
    fn root(parent: &mut [u32], mut i: u32) -> u32 {
        while parent[i as usize] != i {
            parent[i as usize] = parent[parent[i as usize] as usize];
            i = parent[i as usize];
        }
        i
    }
    let mut joined = false;
    for e in &set.edges {
        let (pa, pb) = (pos[e.a as usize], pos[e.b as usize]);
        let inside = matches!(e.kind, EdgeKind::Open | EdgeKind::Path | EdgeKind::Minor);
        if pa == u32::MAX || pb == u32::MAX || !inside || barriers.contains(&e.kind) {
            continue;
        }
        let (ra, rb) = (root(&mut parent, pa), root(&mut parent, pb));
        if ra != rb {
            parent[ra.max(rb) as usize] = ra.min(rb);
            joined = true;
        }
    }
    if !joined {
        return None;
    }
    let mut node = vec![u32::MAX; keep.len()];
    let mut next = 0;
    let mut of = Vec::with_capacity(keep.len());
    for i in 0..keep.len() as u32 {
        let r = root(&mut parent, i) as usize;
        if node[r] == u32::MAX {
            node[r] = next;
            next += 1;
        }
        of.push(node[r]);
    }
    Some(of)
}

/// The areas [`contraction`] draws together: atom ids, two or more each.
pub(super) fn areas(
    set: &Atoms,
    marked: &[bool],
    keep: &[u32],
    barriers: &[EdgeKind],
) -> Vec<Vec<u32>> {
    let Some(of) = contraction(set, marked, keep, barriers) else {
        return Vec::new();
    };
    let mut by_node: std::collections::BTreeMap<u32, Vec<u32>> = std::collections::BTreeMap::new();
    for (&a, &node) in keep.iter().zip(&of) {
        by_node.entry(node).or_default().push(a);
    }
    by_node.into_values().filter(|a| a.len() > 1).collect()
}
