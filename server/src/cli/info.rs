//! `wangge info`: what a store holds.

use std::path::PathBuf;

use anyhow::Context;

use crate::store::gpkg::GeoPackage;
use crate::store::Store;

/// Arguments of `wangge info`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The GeoPackage file.
    #[arg(long, env = "WANGGE_STORE")]
    pub store: PathBuf,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.store.exists(),
        "store {} does not exist",
        args.store.display()
    );
    let store = GeoPackage::open(&args.store)
        .with_context(|| format!("opening store {}", args.store.display()))?;
    println!("store: {} ({})", args.store.display(), store.kind());
    for (layer, n) in store.counts()? {
        println!("{:<12} {n}", layer.as_str());
    }
    Ok(())
}
