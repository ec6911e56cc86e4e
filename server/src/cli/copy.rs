//! `wangge migrate` and `wangge copy`: a PostGIS database's schema, and
//! moving everything between a GeoPackage and PostGIS (either way).

use anyhow::Context;

use crate::store::postgis::{self, PostGis};

/// Arguments of `wangge migrate`.
#[derive(Debug, clap::Args)]
pub struct MigrateArgs {
    /// The database: `postgres://user[:password]@host[:port]/db[?schema=NAME]`.
    #[arg(long, env = "WANGGE_DATABASE")]
    pub database: String,
}

/// Arguments of `wangge copy`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to read: a GeoPackage file or a `postgres://` URL.
    #[arg(long)]
    pub from: String,
    /// Where to write: a new GeoPackage file or an empty PostGIS database
    /// (schema); refused when it holds anything.
    #[arg(long)]
    pub to: String,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

fn shown(spec: &str) -> String {
    if postgis::is_url(spec) {
        postgis::redact(spec)
    } else {
        spec.to_string()
    }
}

pub fn migrate(args: &MigrateArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        postgis::is_url(&args.database),
        "--database must be a postgres:// URL"
    );
    let db = PostGis::open(&args.database)
        .with_context(|| format!("opening database {}", postgis::redact(&args.database)))?;
    for (version, name) in db.migrations()? {
        println!("{version:>4} {name}");
    }
    println!("database {} is up to date", db.url());
    Ok(())
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    anyhow::ensure!(args.from != args.to, "--from and --to are the same store");
    let from = super::open_existing(&args.from)?;
    let t = std::time::Instant::now();
    let mut dump =
        crate::store::dump(&*from).with_context(|| format!("reading {}", shown(&args.from)))?;
    let incidents = crate::store::incidents::dump(&*from)
        .with_context(|| format!("reading the incidents of {}", shown(&args.from)))?;
    if !postgis::is_url(&args.to) {
        anyhow::ensure!(
            !std::path::Path::new(&args.to).exists(),
            "{} exists: copy only into a new GeoPackage",
            args.to
        );
    }
    let to =
        crate::store::open(&args.to).with_context(|| format!("opening {}", shown(&args.to)))?;
    // The copy is audited in the target, in the same transaction.
    let mut line = super::cli_audit(
        "copy",
        &shown(&args.to),
        &format!("from {} ({})", shown(&args.from), from.kind()),
    );
    line.id = dump.audit.iter().map(|e| e.id).max().unwrap_or(0) + 1;
    dump.audit.push(line);
    let bar = if args.quiet {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new(dump.len())
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg} {wide_bar} {pos}/{len} ({eta})")
            .expect("a valid template"),
    );
    bar.set_message("copying");
    let result = to.restore(&dump, &mut |n| bar.set_position(n));
    bar.finish_and_clear();
    if let Err(e) = result {
        drop(to);
        if !postgis::is_url(&args.to) {
            // Nothing was committed: do not leave an empty file behind.
            let _ = std::fs::remove_file(&args.to);
        }
        return Err(e).with_context(|| format!("writing {}", shown(&args.to)));
    }
    // Incidents in a second transaction: a failure there names itself
    // and leaves the layers, plans and accounts copied.
    to.restore_incidents(&incidents)
        .with_context(|| format!("writing the incidents to {}", shown(&args.to)))?;
    let layers: u64 = to.counts()?.iter().map(|(_, n)| n).sum();
    println!(
        "copied {layers} features, {} plan versions ({} with grid shapes), {} incidents, {} users, {} tokens, {} audit lines from {} to {} in {:.1} s",
        dump.data.plans.len(),
        dump.shapes.len(),
        incidents.len(),
        dump.users.len(),
        dump.tokens.len(),
        dump.audit.len(),
        shown(&args.from),
        shown(&args.to),
        t.elapsed().as_secs_f64()
    );
    Ok(())
}
