//! Boundary refinement: atoms moved between neighbouring grids while that
//! lowers the objective.

use super::super::LevelSpec;
use super::objective::{
    balance, compact_weight, cut_weight, minus, out_of_range, plus, pp, towering, unsplittable,
    Heavy,
};
use super::repair::stays_connected;
use super::{Local, Mode, COMPACTNESS, NONE, OUTSIDE, REFINE_PASSES};

/// Moves boundary atoms between neighbouring grids while that lowers
/// balance penalty + cut cost - compactness, never disconnecting or
/// emptying a grid.
#[allow(clippy::many_single_char_names)]
#[allow(
    clippy::too_many_lines,
    reason = "the solver's hot loop kept whole: its locals stay in registers and its moves read as one pass"
)]
pub(super) fn refine(
    l: &Local,
    comp: &[u32],
    spec: &LevelSpec,
    mode: Mode,
    label: &mut [u32],
    load: &mut [f64],
    size: &mut [usize],
) {
    let per_grid = comp.len() as f64 / load.len().max(1) as f64;
    let lambda = cut_weight(comp, load.len(), mode);
    let Sums {
        mut sx,
        mut sy,
        mut area,
        mut per,
        mut tower,
    } = Sums::of(l, comp, spec, label, load.len());
    let (whole, spacing) = (mode.whole, mode.spacing);
    // Where whole blocks were taken, the roads already shape the grids.
    let mu = if whole {
        COMPACTNESS * 0.2
    } else {
        COMPACTNESS
    } / (per_grid * spacing * spacing).max(1e-12);
    // Polsby-Popper of the grids, summed.
    let nu = compact_weight(spec, whole);
    let mut mark = vec![0u32; l.atoms.len()];
    let mut stamp = 0u32;
    for _ in 0..REFINE_PASSES {
        let mut moved = 0;
        for &a in comp {
            let from = label[a as usize];
            let mut best: Option<(u32, f64)> = None;
            let Towards {
                to_self,
                len_self,
                options,
                n_opt,
            } = Towards::of(l, label, a, from);
            if n_opt == 0 || size[from as usize] <= 1 {
                continue;
            }
            let f = from as usize;
            let h = l.hh[a as usize];
            let (ax, ay) = (l.x[a as usize], l.y[a as usize]);
            let (aa, ap) = (l.area[a as usize], l.perim[a as usize]);
            let d2 = |r: usize, n: usize| {
                let n = n.max(1) as f64;
                (ax - sx[r] / n).powi(2) + (ay - sy[r] / n).powi(2)
            };
            let from_d2 = d2(f, size[f]);
            let th = towering(h, spec);
            let (fl, ft) = (load[f], tower[f]);
            let before_from = balance(fl, spec) + unsplittable(fl, ft, spec);
            let after_from = balance(fl - h, spec) + unsplittable(fl - h, minus(ft, th), spec);
            let pp_from = if nu > 0.0 {
                pp(area[f] - aa, per[f] - ap + 2.0 * len_self) - pp(area[f], per[f])
            } else {
                0.0
            };
            for &(to, shared, shared_len) in &options[..n_opt] {
                let t = to as usize;
                let (tl, tt) = (load[t], tower[t]);
                let d_bal = after_from - before_from
                    + balance(tl + h, spec)
                    + unsplittable(tl + h, plus(tt, th), spec)
                    - balance(tl, spec)
                    - unsplittable(tl, tt, spec);
                // Cut: the edges to `from` become cut, those to `to` stop being.
                let d_cut = to_self - shared;
                let d_compact = mu * (d2(t, size[t]) - from_d2);
                let d_pp = if nu > 0.0 {
                    pp_from + pp(area[t] + aa, per[t] + ap - 2.0 * shared_len) - pp(area[t], per[t])
                } else {
                    0.0
                };
                // Shape never pushes a grid out of range.
                let outs = |a: f64, b: f64| {
                    usize::from(out_of_range(a, spec)) + usize::from(out_of_range(b, spec))
                };
                if outs(fl - h, tl + h) > outs(fl, tl) {
                    continue;
                }
                let gain = -(d_bal + lambda * d_cut + d_compact) + nu * d_pp;
                if gain > 1e-12 && best.is_none_or(|(_, g)| gain > g) {
                    best = Some((to, gain));
                }
            }
            let Some((to, _)) = best else { continue };
            stamp += 1;
            if !stays_connected(l, label, a, from, size[f], &mut mark, stamp) {
                continue;
            }
            let t = to as usize;
            let shared_len: f64 = l
                .around(a)
                .filter(|&e| label[l.nbr[e] as usize] == to)
                .map(|e| l.len[e])
                .sum();
            label[a as usize] = to;
            sx[f] -= ax;
            sy[f] -= ay;
            sx[t] += ax;
            sy[t] += ay;
            area[f] -= aa;
            area[t] += aa;
            per[f] += 2.0 * len_self - ap;
            per[t] += ap - 2.0 * shared_len;
            tower[f] = minus(tower[f], th);
            tower[t] = plus(tower[t], th);
            load[f] -= h;
            load[t] += h;
            size[f] -= 1;
            size[t] += 1;
            moved += 1;
        }
        if moved == 0 {
            break;
        }
    }
}

/// Running sums of each grid: coordinates (for its centre: compactness is
/// the squared distance to it), area, perimeter and its heavy atoms.
struct Sums {
    sx: Vec<f64>,
    sy: Vec<f64>,
    area: Vec<f64>,
    per: Vec<f64>,
    tower: Vec<Heavy>,
}

impl Sums {
    fn of(l: &Local, comp: &[u32], spec: &LevelSpec, label: &[u32], k: usize) -> Self {
        let (mut sx, mut sy) = (vec![0.0; k], vec![0.0; k]);
        let (mut area, mut per) = (vec![0.0; k], vec![0.0; k]);
        let mut tower = vec![[0.0; 3]; k];
        for &a in comp {
            let r = label[a as usize] as usize;
            sx[r] += l.x[a as usize];
            sy[r] += l.y[a as usize];
            area[r] += l.area[a as usize];
            per[r] += l.perim[a as usize];
            for e in l.around(a) {
                if label[l.nbr[e] as usize] as usize == r {
                    per[r] -= l.len[e];
                }
            }
            tower[r] = plus(tower[r], towering(l.hh[a as usize], spec));
        }
        Self {
            sx,
            sy,
            area,
            per,
            tower,
        }
    }
}

/// Cut and shared length from one atom towards its own grid and each
/// neighbouring grid (at most eight).
struct Towards {
    to_self: f64,
    len_self: f64,
    options: [(u32, f64, f64); 8],
    n_opt: usize,
}

impl Towards {
    #[inline]
    fn of(l: &Local, label: &[u32], a: u32, from: u32) -> Self {
        let (mut to_self, mut len_self) = (0.0, 0.0);
        let mut options: [(u32, f64, f64); 8] = [(NONE, 0.0, 0.0); 8];
        let mut n_opt = 0;
        for e in l.around(a) {
            let r = label[l.nbr[e] as usize];
            if r == OUTSIDE {
                continue;
            }
            if r == from {
                to_self += l.cut[e];
                len_self += l.len[e];
            } else if let Some(o) = options[..n_opt].iter_mut().find(|o| o.0 == r) {
                o.1 += l.cut[e];
                o.2 += l.len[e];
            } else if n_opt < options.len() {
                options[n_opt] = (r, l.cut[e], l.len[e]);
                n_opt += 1;
            }
        }
        Self {
            to_self,
            len_self,
            options,
            n_opt,
        }
    }
}
