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

/// `wangge partition`: plans every leaf region in the store (or those under
/// `--region`) and saves each as a new plan version over its atoms.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(long, env = "WANGGE_STORE")]
    pub store: PathBuf,
    /// A region code: it, or the leaf regions under it. Every region when absent.
    #[arg(long)]
    pub region: Option<String>,
    /// Policy preset or TOML file: households per grid at each level, code widths.
    #[arg(long, default_value = "ankang")]
    pub policy: String,
    /// Seed of the solver's random choices.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Grid codes to keep as they are (the newest plan of their region is
    /// re-solved around them); repeatable.
    #[arg(long = "lock")]
    pub locks: Vec<String>,
    /// Lines no grid may cross (path, minor, major, river, railway);
    /// repeatable. Other lines only make cheaper boundaries.
    #[arg(long = "barrier")]
    pub barriers: Vec<String>,
    /// A point (`lon,lat`, WGS-84) a level-1 grid grows from; repeatable.
    /// A region holding seed points gets one level-1 grid per point.
    #[arg(long = "seed-point")]
    pub seed_points: Vec<String>,
    /// Message stored with the new plan versions.
    #[arg(long, default_value = "wangge partition")]
    pub message: String,
    /// Solve and report, store nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// table (default) or json (figures per region and level).
    #[arg(long, default_value = "table")]
    pub format: String,
}

#[allow(
    clippy::too_many_lines,
    reason = "the command's script in order (load, ground, locks, solve, write, report); its steps are already library calls"
)]
pub fn run_plan(args: &Args) -> anyhow::Result<()> {
    use std::collections::HashMap;
    use std::time::Instant;

    use indicatif::{ProgressBar, ProgressStyle};

    use crate::domain::{Atom, GridCode, RegionCode};
    use crate::partition::plan::{grounds, plan_all, Previous, Settings};
    use crate::store::gpkg::GeoPackage;
    use crate::store::Store;

    let _log = super::init_tracing();
    anyhow::ensure!(
        args.store.exists(),
        "store {} does not exist",
        args.store.display()
    );
    anyhow::ensure!(
        matches!(args.format.as_str(), "table" | "json"),
        "--format {}: table or json",
        args.format
    );
    let policy = super::load_policy(&args.policy)?;
    let region: Option<RegionCode> = args
        .region
        .as_deref()
        .map(|r| r.parse().map_err(|e| anyhow::anyhow!("--region {r}: {e}")))
        .transpose()?;
    let started = Instant::now();
    let store = GeoPackage::open(&args.store)
        .with_context(|| format!("opening {}", args.store.display()))?;
    let data = store.load()?;
    if let Some(r) = region {
        anyhow::ensure!(
            data.regions.iter().any(|x| x.code == r),
            "no region {r} in {}",
            args.store.display()
        );
    }
    let mut ground = grounds(
        &data.regions,
        &data.roads,
        &data.water,
        &data.households,
        region,
    );
    crate::partition::plan::attach_buildings(&mut ground, &data.buildings);
    anyhow::ensure!(!ground.is_empty(), "no region to plan");
    let locks: Vec<GridCode> = args.locks.iter().map(|c| GridCode(c.clone())).collect();
    // Locks name grids of the newest plan of their region.
    let mut atoms_of: HashMap<RegionCode, Vec<Atom>> = HashMap::new();
    for a in &data.atoms {
        atoms_of.entry(a.region).or_default().push(a.clone());
    }
    for v in atoms_of.values_mut() {
        v.sort_by_key(|a| a.id);
    }
    let mut locked: HashMap<RegionCode, Vec<GridCode>> = HashMap::new();
    for c in &locks {
        let plan = data
            .plans
            .iter()
            .find(|p| p.codes.iter().flatten().any(|x| x == c))
            .with_context(|| format!("--lock {c}: no stored plan has this grid"))?;
        locked
            .entry(plan.version.region)
            .or_default()
            .push(c.clone());
    }
    let previous = |code: RegionCode| -> Option<Previous<'_>> {
        let codes = locked.get(&code)?;
        Some(Previous {
            plan: data.plans.iter().find(|p| p.version.region == code)?,
            atoms: atoms_of.get(&code).map_or(&[][..], Vec::as_slice),
            locked: codes,
        })
    };
    let mut settings = Settings::from_policy(&policy);
    settings.solver.seed = args.seed;
    for p in &args.seed_points {
        let v: Vec<f64> = p
            .split(',')
            .map(|x| x.trim().parse::<f64>())
            .collect::<Result<_, _>>()
            .map_err(|e| anyhow::anyhow!("--seed-point {p}: {e}"))?;
        match v[..] {
            [lon, lat] if (-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat) => {
                settings
                    .seed_points
                    .push(geo_types::Coord { x: lon, y: lat });
            }
            _ => anyhow::bail!("--seed-point {p}: lon,lat in degrees"),
        }
    }
    for b in &args.barriers {
        let kind = crate::partition::atoms::EdgeKind::parse(b)
            .with_context(|| format!("--barrier {b}: one of path, minor, major, river, railway"))?;
        settings.atoms.barriers.push(kind);
    }
    let households: usize = ground.iter().map(|g| g.households.len()).sum();
    let bar = ProgressBar::new(ground.len() as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:30} {pos}/{len} regions ({per_sec}, {elapsed}, eta {eta}) {msg}",
        )
        .expect("template"),
    );
    let plans = plan_all(&ground, &settings, &previous, &|g, _| {
        bar.set_message(g.region.name.clone());
        bar.inc(1);
    });
    bar.finish_and_clear();
    let solved = started.elapsed();
    let mut rows = Vec::new();
    let author = std::env::var("USER").map_or_else(|_| "cli".to_string(), |u| format!("cli:{u}"));
    for (g, p) in ground.iter().zip(plans) {
        let p = p.with_context(|| format!("region {} {}", g.region.code, g.region.name))?;
        let version = if args.dry_run {
            None
        } else {
            let parent = data
                .plans
                .iter()
                .find(|x| x.version.region == p.region)
                .map(|x| x.version.id);
            let mut plan = p.to_plan(&author, &args.message, parent);
            plan.version.created_at = crate::api::auth::timestamp(0);
            let line = super::cli_audit(
                "plan_generated",
                &format!("regions/{}/plans", p.region),
                &args.message,
            );
            let shapes = crate::store::PlanGridShape::of(&p);
            Some(store.save_partition(p.region, &p.atoms, &plan, &line, &shapes)?)
        };
        rows.push((g.region.name.clone(), p, version));
    }
    let total = started.elapsed();
    let levels = rows.first().map_or(0, |r| r.1.levels.len());
    let totals: Vec<crate::partition::plan::LevelMetrics> = (0..levels)
        .map(|l| {
            let parts: Vec<_> = rows.iter().filter_map(|r| r.1.levels.get(l)).collect();
            crate::partition::plan::LevelMetrics::total(&parts)
        })
        .collect();
    match args.format.as_str() {
        "json" => {
            let v: Vec<serde_json::Value> = rows
                .iter()
                .map(|(name, p, v)| {
                    serde_json::json!({
                        "region": p.region.to_string(),
                        "name": name,
                        "households": p.households,
                        "atoms": p.atoms.len(),
                        "area_m2": p.area_m2,
                        "tiling_error_m2": p.tiling_error_m2,
                        "version": v.as_ref().map(|v| v.id),
                        "number": v.as_ref().map(|v| v.number),
                        "levels": p.levels,
                        "without_homes": p.without_homes.len(),
                    })
                })
                .collect();
            println!(
                "{}",
                serde_json::to_string_pretty(
                    &serde_json::json!({ "regions": v, "total": totals })
                )?
            );
        }
        _ => {
            println!(
                "{:<14} {:<12} {:>7} {:>6} {:>15} {:>20} {:>5} {:>15} {:>15}",
                "region",
                "name",
                "hh",
                "atoms",
                "grids L1/L2/L3",
                "in range %",
                "split",
                "pp",
                "road share"
            );
            for (name, p, _) in &rows {
                let l = &p.levels;
                let f = |k: fn(&crate::partition::plan::LevelMetrics) -> f64, scale: f64| {
                    l.iter()
                        .map(|m| format!("{:.0}", k(m) * scale))
                        .collect::<Vec<_>>()
                        .join("/")
                };
                println!(
                    "{:<14} {:<12} {:>7} {:>6} {:>15} {:>20} {:>5} {:>15} {:>15}",
                    p.region.to_string(),
                    name.chars().take(6).collect::<String>(),
                    p.households,
                    p.atoms.len(),
                    l.iter()
                        .map(|m| m.grids.to_string())
                        .collect::<Vec<_>>()
                        .join("/"),
                    f(|m| m.in_range, 100.0),
                    l.iter().map(|m| m.split).sum::<usize>(),
                    f(|m| m.pp_mean, 100.0),
                    f(|m| m.road_share, 100.0),
                );
            }
            for t in &totals {
                println!(
                    "total L{}: {} grids, {:.2}% in range, {} split, {} nest, {} towers, {} invalid, pp {:.3}, reock {:.3}, road share {:.3}",
                    t.level,
                    t.grids,
                    t.in_range * 100.0,
                    t.split,
                    t.nest,
                    t.towers,
                    t.invalid,
                    t.pp_mean,
                    t.reock_mean,
                    t.road_share
                );
            }
            let areas: Vec<&Vec<u32>> =
                rows.iter().flat_map(|(_, p, _)| &p.without_homes).collect();
            println!(
                "land without homes left to one grid: {} area(s) of {} atoms",
                areas.len(),
                areas.iter().map(|a| a.len()).sum::<usize>()
            );
        }
    }
    eprintln!(
        "planned {} regions, {} households: solved in {:.2} s, {} in {:.2} s{}",
        rows.len(),
        households,
        solved.as_secs_f64(),
        if args.dry_run { "reported" } else { "stored" },
        total.as_secs_f64(),
        if args.dry_run {
            " (dry run: nothing stored)"
        } else {
            ""
        }
    );
    Ok(())
}
