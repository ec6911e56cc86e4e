//! `wangge coverage`: the coverage report of the store, as the store's
//! owner; `wangge coverage mclp --instance F` solves a covering instance
//! (for the side-by-side comparison with spopt).

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use rstar::primitives::GeomWithData;
use rstar::RTree;

use crate::access::Caller;
use crate::coverage::{export, mclp, Analysis, Inputs, Options, Report};
use crate::domain::RegionCode;
use crate::snapshot::Snapshot;
use crate::store::gpkg::GeoPackage;
use crate::store::Store;

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[arg(long, env = "WANGGE_STORE")]
    pub store: Option<PathBuf>,
    /// A region code (its descendants included); every region when absent.
    #[arg(long)]
    pub region: Option<String>,
    /// Policy preset or TOML file: staffing ratios and the carer radius.
    #[arg(long, default_value = "ankang")]
    pub policy: String,
    /// table (default), json, csv, xlsx or geojson (the findings with a place).
    #[arg(long, default_value = "table")]
    pub format: String,
    /// Write here instead of standard output (required for xlsx).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Straight-line reach only, even when roads are loaded.
    #[arg(long)]
    pub line_only: bool,
    /// Also suggest this many places for new carers.
    #[arg(long, default_value_t = 0)]
    pub suggest: usize,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Solves a maximal covering instance (JSON: radius_m, sites, demand
    /// [[x, y, w]], candidates [[x, y]], metres) and prints the answer.
    Mclp {
        #[arg(long)]
        instance: PathBuf,
    },
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if let Some(Command::Mclp { instance }) = &args.command {
        return solve_instance(instance);
    }
    let store = args
        .store
        .as_ref()
        .context("--store (or WANGGE_STORE) is required")?;
    anyhow::ensure!(store.exists(), "store {} does not exist", store.display());
    let policy = super::load_policy(&args.policy)?;
    let region: Option<RegionCode> = args
        .region
        .as_deref()
        .map(|r| r.parse().map_err(|e| anyhow::anyhow!("--region {r}: {e}")))
        .transpose()?;
    let s = GeoPackage::open(store).with_context(|| format!("opening {}", store.display()))?;
    let snap = Snapshot::build(s.load()?);
    if let Some(r) = region {
        anyhow::ensure!(
            snap.regions
                .get(r.as_u64() as i64, &Caller::cli().scope)
                .is_some(),
            "no region {r} in {}",
            store.display()
        );
    }
    let opts = Options {
        by_road: !args.line_only,
        ..Options::default()
    };
    let started = Instant::now();
    // Regions with a plan are analysed with its grids, as the server does.
    let grids =
        crate::coverage::region::grids_in_force(&snap, &policy, snap.regions.items(), |_| true);
    let inputs = Inputs::of(&snap);
    let a = Analysis::with_grids(&inputs, grids, &policy, opts);
    let report = a.report(region, &Caller::cli().scope);
    tracing::debug!(ms = started.elapsed().as_millis(), "analysed");
    let suggestions =
        (args.suggest > 0).then(|| a.suggest(region, &Caller::cli().scope, args.suggest));
    let mut out: Box<dyn Write> = match &args.out {
        Some(p) => {
            Box::new(std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?)
        }
        None => Box::new(std::io::stdout().lock()),
    };
    match args.format.as_str() {
        "table" => table(&mut out, &report, suggestions.as_deref())?,
        "json" => {
            let mut v = serde_json::to_value(&report)?;
            if let Some(s) = &suggestions {
                v["suggestions"] = serde_json::to_value(s)?;
            }
            writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
        }
        "csv" => out.write_all(export::csv(&report).as_bytes())?,
        "geojson" => writeln!(out, "{}", export::geojson(&report))?,
        "xlsx" => {
            anyhow::ensure!(args.out.is_some(), "--format xlsx needs --out FILE");
            out.write_all(&export::xlsx(&report)?)?;
        }
        f => anyhow::bail!("--format {f}: table, json, csv, xlsx or geojson"),
    }
    Ok(())
}

fn table(
    out: &mut dyn Write,
    r: &Report,
    suggestions: Option<&[crate::coverage::Suggestion]>,
) -> anyhow::Result<()> {
    writeln!(
        out,
        "{:<14} {:<16} {:>9} {:>7} {:>8} {:>8} {:>8} {:>8}",
        "区划", "名称", "住户", "重点户", "覆盖率%", "路网%", "配齐率%", "入格率%"
    )?;
    for x in std::iter::once(&r.region).chain(&r.children) {
        writeln!(
            out,
            "{:<14} {:<16} {:>9} {:>7} {:>8} {:>8} {:>8} {:>8}",
            x.code,
            x.name,
            x.households.iter().sum::<u64>(),
            x.vulnerable,
            x.reached_pct,
            x.reached_by_road_pct.map_or("-".into(), |p| p.to_string()),
            x.grids_staffed_pct,
            x.land_covered_pct
        )?;
    }
    writeln!(out)?;
    for (kind, n) in &r.region.findings {
        writeln!(
            out,
            "{:<12} {:<16} {n}",
            kind.name_zh(),
            serde_json::to_value(kind)?.as_str().unwrap_or("")
        )?;
    }
    if let Some(s) = suggestions {
        writeln!(out)?;
        for x in s {
            writeln!(
                out,
                "建议 {:>2}: {:.6},{:.6} 网格 {} 可新覆盖 {} 户",
                x.rank,
                x.lon,
                x.lat,
                x.grid.as_deref().unwrap_or("-"),
                x.gain
            )?;
        }
    }
    Ok(())
}

#[derive(serde::Deserialize)]
struct Instance {
    radius_m: f64,
    sites: usize,
    demand: Vec<[f64; 3]>,
    candidates: Vec<[f64; 2]>,
}

fn solve_instance(path: &PathBuf) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let inst: Instance =
        serde_json::from_str(&text).with_context(|| format!("{}", path.display()))?;
    let started = Instant::now();
    let tree: RTree<GeomWithData<[f64; 2], u32>> = RTree::bulk_load(
        inst.demand
            .iter()
            .enumerate()
            .map(|(i, d)| GeomWithData::new([d[0], d[1]], i as u32))
            .collect(),
    );
    let r2 = inst.radius_m * inst.radius_m;
    let covers: Vec<Vec<u32>> = inst
        .candidates
        .iter()
        .map(|c| {
            let mut v: Vec<u32> = tree
                .locate_within_distance(*c, r2)
                .map(|e| e.data)
                .collect();
            v.sort_unstable();
            v
        })
        .collect();
    let weights: Vec<f64> = inst.demand.iter().map(|d| d[2]).collect();
    let covers_ms = started.elapsed().as_secs_f64() * 1000.0;
    let solving = Instant::now();
    let s = mclp::solve(&weights, &covers, inst.sites);
    let solve_ms = solving.elapsed().as_secs_f64() * 1000.0;
    println!(
        "{}",
        serde_json::json!({
            "sites": s.sites,
            "covered_weight": s.covered_weight,
            "total_weight": s.total_weight,
            "covers_ms": covers_ms,
            "solve_ms": solve_ms,
        })
    );
    Ok(())
}
