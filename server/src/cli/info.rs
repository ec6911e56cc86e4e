//! `wangge info`: what a store holds.

use std::path::PathBuf;

/// Arguments of `wangge info`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The GeoPackage file.
    #[arg(long, env = "WANGGE_STORE")]
    pub store: PathBuf,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    anyhow::bail!("store {} cannot be opened yet: the GeoPackage store is not built", args.store.display())
}
