//! What refinement and repair weigh: balance, the next level's
//! splittability, cut length and shape.

use super::super::LevelSpec;
use super::{narrow, Local, Mode, PP_WEIGHT, PP_WEIGHT_WHOLE};

/// What an atom means for the next level down: `[tower, big, room]`. A
/// tower is heavier than that level's maximum and will be a grid of its
/// own; a big atom is heavier than half that maximum, so no two share a
/// grid, and `room` is how many households its grid can take beside it.
pub(super) type Heavy = [f64; 3];

pub(super) fn towering(h: f64, spec: &LevelSpec) -> Heavy {
    match spec.below {
        Some((_, max)) if h > max => [h, 0.0, 0.0],
        Some((_, max)) if h > max / 2.0 => [0.0, h, max - h],
        _ => [0.0; 3],
    }
}

pub(super) fn plus(a: Heavy, b: Heavy) -> Heavy {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}

pub(super) fn minus(a: Heavy, b: Heavy) -> Heavy {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

/// Penalty for a grid the next level could not split in range: its
/// households outside towers and big atoms are more than the big atoms'
/// grids can take, yet too few for a grid of their own.
pub(super) fn unsplittable(load: f64, heavy: Heavy, spec: &LevelSpec) -> f64 {
    match spec.below {
        Some((min, _)) => {
            let rest = load - heavy[0] - heavy[1];
            if rest > heavy[2] + 1e-9 && rest < min {
                1.0 + (min - rest) / min
            } else {
                0.0
            }
        }
        None => 0.0,
    }
}

/// Penalty of a grid's load: small inside the range (pulls toward the
/// target), steep outside it.
pub(super) fn balance(load: f64, spec: &LevelSpec) -> f64 {
    // Deviation as a share of the room the range gives on that side.
    let room = if load > spec.target {
        spec.max - spec.target
    } else {
        spec.target - spec.min
    };
    let dev = (load - spec.target) / room.max(1e-9);
    let out = if load > spec.max {
        (load - spec.max) / spec.target
    } else if load < spec.min {
        (spec.min - load) / spec.target
    } else {
        0.0
    };
    // The step makes any move that brings a grid into range worth more
    // than any change of cut.
    let step = if out > 0.0 { 1.0 } else { 0.0 };
    0.05 * dev * dev + step + 20.0 * out + 200.0 * out * out
}

/// Weight of cut cost against balance: the boundary of one ideal grid
/// costs about one.
pub(super) fn cut_weight(comp: &[u32], k: usize, mode: Mode) -> f64 {
    let per_grid = comp.len() as f64 / k.max(1) as f64;
    1.0 / (4.0 * per_grid.sqrt() * mode.mean_cut).max(1e-9)
}

/// Mean cut cost of an edge.
pub(super) fn mean_cut(l: &Local, comp: &[u32]) -> f64 {
    let (mut s, mut n) = (0.0, 0.0);
    for &a in comp {
        for e in l.around(a) {
            s += l.cut[e];
            n += 1.0;
        }
    }
    if n > 0.0 {
        s / n
    } else {
        1.0
    }
}

/// Weight of the grids' summed Polsby-Popper scores.
pub(super) fn compact_weight(spec: &LevelSpec, whole: bool) -> f64 {
    if narrow(spec) {
        PP_WEIGHT
    } else if whole {
        PP_WEIGHT_WHOLE
    } else {
        0.0
    }
}

/// Summed Polsby-Popper scores of the grids.
pub(super) fn pp_sum(l: &Local, comp: &[u32], k: usize, label: &[u32]) -> f64 {
    let (mut area, mut per) = (vec![0.0; k], vec![0.0; k]);
    for &a in comp {
        let r = label[a as usize] as usize;
        area[r] += l.area[a as usize];
        per[r] += l.perim[a as usize];
        for e in l.around(a) {
            if label[l.nbr[e] as usize] as usize == r {
                per[r] -= l.len[e];
            }
        }
    }
    area.iter().zip(&per).map(|(&a, &p)| pp(a, p)).sum()
}

/// Polsby-Popper score of a grid of area `a` and perimeter `p`.
pub(super) fn pp(a: f64, p: f64) -> f64 {
    if p > 0.0 {
        4.0 * std::f64::consts::PI * a / (p * p)
    } else {
        0.0
    }
}

pub(super) fn out_of_range(load: f64, spec: &LevelSpec) -> bool {
    load < spec.min - 1e-9 || load > spec.max + 1e-9
}
