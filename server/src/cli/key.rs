//! `wangge key`: make a key, show which key a command would use, and
//! rotate a store to a new key (see the README, "Personal data at rest").

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;

use crate::sealing::{source, Key, Sealer};

/// Arguments of `wangge key`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Write a new random key to a new file (mode 0600).
    New {
        /// The file to create; an existing file is never overwritten.
        #[arg(long)]
        out: PathBuf,
    },
    /// Print the id of the key commands use now, where it comes from and,
    /// with --store, the key id the store records.
    Id {
        #[arg(long, env = "WANGGE_STORE")]
        store: Option<String>,
    },
    /// Re-encrypt every personal field of a store with a new key, in one
    /// transaction (the current key is given the usual way).
    Rotate {
        /// A GeoPackage file or a `postgres://` URL.
        #[arg(long, env = "WANGGE_STORE")]
        store: String,
        /// The new key (make one with `wangge key new`).
        #[arg(long)]
        new_key_file: PathBuf,
    },
}

pub fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        Command::New { out } => {
            let key = Key::generate()?;
            key.write_new(&out)?;
            println!("wrote key {} to {}", key.id(), out.display());
            Ok(())
        }
        Command::Id { store } => {
            let (key, origin) = source::process_key()?;
            println!("key {} from {origin}", key.id());
            if let Some(spec) = store {
                let s = super::open_existing(&spec)?;
                println!("store {} is sealed with key {}", shown(&spec), s.key_id());
            }
            Ok(())
        }
        Command::Rotate {
            store,
            new_key_file,
        } => rotate(&store, &new_key_file),
    }
}

fn shown(spec: &str) -> String {
    crate::store::postgis::redact_spec(spec)
}

fn rotate(spec: &str, new_key_file: &std::path::Path) -> anyhow::Result<()> {
    let new = Key::read(new_key_file)?;
    let s = super::open_existing(spec)?;
    let old = s.key_id();
    anyhow::ensure!(
        old != new.id(),
        "store {} is sealed with key {old} already",
        shown(spec)
    );
    let t = std::time::Instant::now();
    let n = s
        .rotate_key(Arc::new(Sealer::new(&new)))
        .with_context(|| format!("rotating the key of {} (nothing was changed)", shown(spec)))?;
    let line = super::cli_audit(
        "key rotate",
        &shown(spec),
        &format!("from key {old} to key {}, {n} records", new.id()),
    );
    if let Err(e) = s.audit(&line) {
        eprintln!("warning: the rotation is done but its audit line was not written: {e}");
    }
    println!(
        "re-encrypted {n} records of {} from key {old} to key {} in {:.1} s",
        shown(spec),
        new.id(),
        t.elapsed().as_secs_f64()
    );
    println!(
        "from now on give this store the key in {} (--key-file, WANGGE_KEY_FILE or WANGGE_KEY); \
         keep the old key as long as backups made with it are kept",
        new_key_file.display()
    );
    Ok(())
}
