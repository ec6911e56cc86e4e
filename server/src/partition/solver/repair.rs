//! Balance repair along chains of neighbouring grids.

use super::super::LevelSpec;
use super::objective::{balance, out_of_range, plus, towering, unsplittable};
use super::{Local, OUTSIDE};

/// Longest chain of grids a repair passes households along.
pub(super) const CHAIN: usize = 6;
/// Chain steps tried per grid out of range.
pub(super) const CHAIN_BUDGET: usize = 400;

/// Two-sided balance repair: a grid out of range takes atoms from (or gives
/// atoms to) a neighbouring grid; if that one leaves the range, it passes
/// the difference on to one of its neighbours, and so on along a path of
/// grids, until the last grid of the path stays in range. Every move keeps
/// the donor connected. Returns whether anything moved.
pub(super) fn repair(
    l: &Local,
    comp: &[u32],
    spec: &LevelSpec,
    label: &mut [u32],
    load: &mut [f64],
    size: &mut [usize],
) -> bool {
    let mut members: Vec<Vec<u32>> = vec![Vec::new(); load.len()];
    for &a in comp {
        members[label[a as usize] as usize].push(a);
    }
    let mut rep = Repair {
        l,
        spec,
        label,
        load,
        size,
        members,
        moves: Vec::new(),
        mark: vec![0; l.atoms.len()],
        stamp: 0,
        budget: 0,
    };
    let mut changed = false;
    for r in 0..rep.load.len() {
        if !out_of_range(rep.load[r], spec) || rep.members[r].is_empty() {
            continue;
        }
        let before: f64 = (0..rep.load.len()).map(|g| rep.penalty(g)).sum();
        rep.budget = CHAIN_BUDGET;
        rep.moves.clear();
        let mut path = vec![r as u32];
        if rep.chain(&mut path) {
            let after: f64 = (0..rep.load.len()).map(|g| rep.penalty(g)).sum();
            if after < before - 1e-9 {
                changed = true;
                continue;
            }
        }
        rep.undo_to(0);
    }
    changed
}

pub(super) struct Repair<'a> {
    l: &'a Local,
    spec: &'a LevelSpec,
    label: &'a mut [u32],
    load: &'a mut [f64],
    size: &'a mut [usize],
    members: Vec<Vec<u32>>,
    /// (atom, from, to), in order.
    moves: Vec<(u32, u32, u32)>,
    mark: Vec<u32>,
    stamp: u32,
    budget: usize,
}

impl Repair<'_> {
    fn penalty(&self, r: usize) -> f64 {
        let tower = self.members[r].iter().fold([0.0; 3], |t, &a| {
            plus(t, towering(self.l.hh[a as usize], self.spec))
        });
        balance(self.load[r], self.spec) + unsplittable(self.load[r], tower, self.spec)
    }

    fn apply(&mut self, a: u32, from: u32, to: u32) {
        let h = self.l.hh[a as usize];
        self.label[a as usize] = to;
        self.load[from as usize] -= h;
        self.load[to as usize] += h;
        self.size[from as usize] -= 1;
        self.size[to as usize] += 1;
        let m = &mut self.members[from as usize];
        if let Some(i) = m.iter().position(|&x| x == a) {
            m.swap_remove(i);
        }
        self.members[to as usize].push(a);
        self.moves.push((a, from, to));
    }

    fn undo_to(&mut self, mark: usize) {
        while self.moves.len() > mark {
            let (a, from, to) = self.moves.pop().unwrap_or_default();
            self.apply(a, to, from);
            self.moves.pop();
        }
    }

    /// The atom of `donor` bordering `recv` whose move brings `g` (one of
    /// the two) nearest into range; `None` if no move helps.
    fn pick(&mut self, donor: u32, recv: u32, g: u32) -> Option<u32> {
        let (lo, hi) = (self.spec.min, self.spec.max);
        let lg = self.load[g as usize];
        let giving = g == donor;
        // Households `g` may gain (or lose): at least `need`, at most `room`.
        let (need, room) = if giving {
            (lg - hi, lg - lo)
        } else {
            (lo - lg, hi - lg)
        };
        let mut cands: Vec<(f64, u32)> = Vec::new();
        for &a in &self.members[donor as usize] {
            let w = self.l.hh[a as usize];
            if w <= 0.0 || w > room + 1e-9 {
                continue;
            }
            if !self
                .l
                .around(a)
                .any(|e| self.label[self.l.nbr[e] as usize] == recv)
            {
                continue;
            }
            // In range: nearest the target first; short of it: heaviest.
            let after = if giving { lg - w } else { lg + w };
            let key = if w >= need - 1e-9 {
                (after - self.spec.target).abs()
            } else {
                1e9 - w
            };
            cands.push((key, a));
        }
        cands.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
        for &(_, a) in cands.iter().take(8) {
            if self.size[donor as usize] <= 1 {
                return None;
            }
            self.stamp += 1;
            if stays_connected(
                self.l,
                self.label,
                a,
                donor,
                self.size[donor as usize],
                &mut self.mark,
                self.stamp,
            ) {
                return Some(a);
            }
        }
        None
    }

    fn chain(&mut self, path: &mut Vec<u32>) -> bool {
        let g = *path.last().unwrap_or(&0);
        if !out_of_range(self.load[g as usize], self.spec) {
            return true;
        }
        if path.len() > CHAIN || self.budget == 0 {
            return false;
        }
        self.budget -= 1;
        let under = self.load[g as usize] < self.spec.min;
        // Neighbouring grids off the path, those with the most to spare first.
        let mut nbrs: Vec<(f64, u32)> = Vec::new();
        for &a in &self.members[g as usize] {
            for e in self.l.around(a) {
                let r = self.label[self.l.nbr[e] as usize];
                if r == OUTSIDE || path.contains(&r) || nbrs.iter().any(|x| x.1 == r) {
                    continue;
                }
                let w = self.load[r as usize];
                let spare = if under {
                    w - self.spec.min
                } else {
                    self.spec.max - w
                };
                nbrs.push((-spare, r));
            }
        }
        nbrs.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
        for (_, n) in nbrs {
            let mark = self.moves.len();
            let (donor, recv) = if under { (n, g) } else { (g, n) };
            while out_of_range(self.load[g as usize], self.spec) {
                let Some(a) = self.pick(donor, recv, g) else {
                    break;
                };
                self.apply(a, donor, recv);
            }
            if !out_of_range(self.load[g as usize], self.spec) {
                path.push(n);
                if self.chain(path) {
                    return true;
                }
                path.pop();
            }
            self.undo_to(mark);
        }
        false
    }
}

/// Whether grid `r` (of `n` atoms, `a` among them) stays one piece without `a`.
#[allow(clippy::many_single_char_names)]
pub(super) fn stays_connected(
    l: &Local,
    label: &[u32],
    a: u32,
    r: u32,
    n: usize,
    mark: &mut [u32],
    stamp: u32,
) -> bool {
    let Some(first) = l
        .around(a)
        .map(|e| l.nbr[e])
        .find(|&b| label[b as usize] == r)
    else {
        return true;
    };
    mark[a as usize] = stamp;
    mark[first as usize] = stamp;
    let mut stack = vec![first];
    let mut seen = 1;
    while let Some(u) = stack.pop() {
        for e in l.around(u) {
            let v = l.nbr[e];
            if label[v as usize] == r && mark[v as usize] != stamp {
                mark[v as usize] = stamp;
                seen += 1;
                stack.push(v);
            }
        }
    }
    seen == n - 1
}
