//! `wangge bench-partition`: solves an instance of the shared partition
//! benchmark (`../shared/bench/partition`, format at the top of its
//! `partbench.py`) and writes one label per atom per level.

use std::path::PathBuf;

use anyhow::Context;
use serde::Deserialize;

use crate::partition::{solve, AtomGraph, LevelSpec, Options};

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// The instance JSON.
    #[arg(long)]
    pub instance: PathBuf,
    /// Where to write `{"levels": [[label per atom], ...]}`.
    #[arg(long)]
    pub out: PathBuf,
    /// Seed of the solver's random choices.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

#[derive(Deserialize)]
struct Instance {
    n: usize,
    households: Vec<u32>,
    x: Vec<f64>,
    y: Vec<f64>,
    area: Vec<f64>,
    outer: Vec<f64>,
    edges: Vec<[u32; 2]>,
    length: Vec<f64>,
    road: Vec<u8>,
    levels: Vec<LevelSpec>,
}

pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.instance)
        .with_context(|| format!("reading {}", args.instance.display()))?;
    let inst: Instance = serde_json::from_str(&text)
        .with_context(|| format!("instance {}", args.instance.display()))?;
    let n = inst.n;
    anyhow::ensure!(
        [
            inst.households.len(),
            inst.x.len(),
            inst.y.len(),
            inst.area.len(),
            inst.outer.len()
        ]
        .iter()
        .all(|&l| l == n),
        "instance: every per-atom array must have n = {n} entries"
    );
    anyhow::ensure!(
        inst.length.len() == inst.edges.len() && inst.road.len() == inst.edges.len(),
        "instance: edges, length and road must have the same length"
    );
    if let Some(bad) = inst
        .edges
        .iter()
        .find(|e| e[0] as usize >= n || e[1] as usize >= n)
    {
        anyhow::bail!("instance: edge {bad:?} names an atom beyond n = {n}");
    }
    let edges: Vec<(u32, u32, f64, bool)> = inst
        .edges
        .iter()
        .zip(&inst.length)
        .zip(&inst.road)
        .map(|((e, l), r)| (e[0], e[1], *l, *r != 0))
        .collect();
    let g = AtomGraph::new(
        inst.households,
        inst.x,
        inst.y,
        inst.area,
        inst.outer,
        &edges,
    );
    let labels = solve(
        &g,
        &inst.levels,
        &Options {
            seed: args.seed,
            ..Options::default()
        },
    );
    std::fs::write(
        &args.out,
        serde_json::json!({ "levels": labels }).to_string(),
    )
    .with_context(|| format!("writing {}", args.out.display()))?;
    Ok(())
}
