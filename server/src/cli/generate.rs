//! `wangge generate`: a synthetic city into a new GeoPackage.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

use crate::generate::{generate, Params};
use crate::store::gpkg::GeoPackage;
use crate::store::Store;

/// Arguments of `wangge generate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Policy preset the city is staffed for (ankang, comprehensive).
    #[arg(long, default_value = "ankang")]
    pub preset: String,
    /// Number of households (1,000 to 10,000,000).
    #[arg(long, default_value_t = 30_000)]
    pub households: u64,
    /// Seed: the same seed always gives the same city.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The GeoPackage to create.
    #[arg(long, alias = "store")]
    pub out: PathBuf,
    /// Replace the file when it exists.
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    super::load_policy(&args.preset)?;
    anyhow::ensure!(
        (1_000..=10_000_000).contains(&args.households),
        "--households must be between 1,000 and 10,000,000, not {}",
        args.households
    );
    if args.out.exists() {
        anyhow::ensure!(
            args.force,
            "{} exists: pass --force to replace it",
            args.out.display()
        );
        std::fs::remove_file(&args.out)
            .with_context(|| format!("removing {}", args.out.display()))?;
    }
    let started = Instant::now();
    let bar = ProgressBar::new(5);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} {msg} ({elapsed})").expect("template"),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    bar.set_message("laying out the city");
    let city = generate(
        Params {
            households: args.households,
            seed: args.seed,
        },
        &mut |phase| {
            bar.inc(1);
            bar.set_message(phase.to_string());
        },
    );
    let (regions, households, people, buildings, roads) = (
        city.regions.len(),
        city.households.len(),
        city.people.len(),
        city.buildings.len(),
        city.roads.len(),
    );
    let gaps = city.gap_communities.len();
    bar.set_message(format!("writing {}", args.out.display()));
    let store =
        GeoPackage::open(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let mut records = city.into_records().map(Ok);
    let audit = super::cli_audit(
        "generate",
        &args.preset,
        &format!("{} households, seed {}", args.households, args.seed),
    );
    store
        .import_audited(&mut records, &audit)
        .context("writing the city")?;
    bar.inc(1);
    bar.finish_and_clear();
    println!(
        "generated {}: {regions} regions, {households} households in {buildings} buildings, {roads} roads and railways, {people} staff and volunteers ({gaps} communities deliberately without carers), seed {}, in {:.1} s",
        args.out.display(),
        args.seed,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
