//! `wangge info`: what a store holds.

use crate::store::postgis;

/// Arguments of `wangge info`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The GeoPackage file or a `postgres://` URL.
    #[arg(long, env = "WANGGE_STORE")]
    pub store: String,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let store = super::open_existing(&args.store)?;
    let shown = if postgis::is_url(&args.store) {
        postgis::redact(&args.store)
    } else {
        args.store.clone()
    };
    println!(
        "store: {shown} ({}, personal fields encrypted with key {})",
        store.kind(),
        store.key_id()
    );
    for (layer, n) in store.counts()? {
        println!("{:<12} {n}", layer.as_str());
    }
    Ok(())
}
