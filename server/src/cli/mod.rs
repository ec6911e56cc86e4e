//! Subcommands of the `wangge` binary, one file each. Each takes its store
//! as `--store FILE.gpkg`; `serve`, `info`, `user`, `token` and `audit` also
//! take a PostGIS database (`--database`/`--store postgres://...`).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// wangge (网格): nested grid plans, coverage gaps and emergency dispatch.
#[derive(Debug, Parser)]
#[command(name = "wangge", version, about)]
pub struct Cli {
    /// The key that encrypts personal fields in the store (base64 or hex of
    /// 32 bytes). Else `WANGGE_KEY_FILE`, else `WANGGE_KEY` (the key
    /// itself), else `~/.config/wangge/key`, created on first use.
    #[arg(long, global = true, value_name = "FILE")]
    pub key_file: Option<std::path::PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the store's layers and feature counts.
    Info(info::Args),
    /// Estimate households on real ground (flagged as estimated).
    Estimate(estimate::Args),
    /// Generate a synthetic city into a new GeoPackage.
    Generate(generate::Args),
    /// Import a GeoJSON, CSV, XLSX or OSM PBF file into a store.
    Import(import::Args),
    /// Serve the API and the viewer over a store.
    Serve(serve::Args),
    /// Manage user accounts (add, passwd, disable, list).
    User(accounts::UserArgs),
    /// Manage API tokens for scripts (create, revoke, list).
    Token(accounts::TokenArgs),
    /// Read the audit log; archive old lines to a hash-chained file and
    /// prune them; verify archives.
    Audit(audit::AuditArgs),
    /// Emergency: nearest volunteers, hazard areas, dispatch plans.
    Emergency(emergency::Args),
    /// Coverage and gaps: land, staffing, reach of vulnerable households.
    Coverage(coverage::Args),
    /// Plan versions: list, show, diff, publish, export (GeoJSON, GeoPackage, CSV).
    Plan(plan::Args),
    /// Plan the grids of every leaf region (or those under --region) and
    /// save each as a new plan version.
    Partition(partition::Args),
    /// Solve an instance of the shared partition benchmark (JSON in,
    /// labels and figures out).
    BenchPartition(partition::BenchArgs),
    /// Create or update a PostGIS database's schema (also done by serve).
    Migrate(copy::MigrateArgs),
    /// Copy everything from one store to a new one (GeoPackage or PostGIS).
    Copy(copy::Args),
    /// Encryption keys of personal fields: new, id, rotate.
    Key(key::Args),
    /// Print a policy preset (or check a TOML file) as TOML, to start your own.
    Policy {
        /// Preset name (ankang, comprehensive) or a .toml file.
        #[arg(default_value = "ankang")]
        preset: String,
    },
}

mod accounts;
mod audit;
mod connections;
mod copy;
mod coverage;
mod emergency;
mod estimate;
mod generate;
mod import;
mod info;
mod key;
mod partition;
mod plan;
mod serve;

/// A policy preset by name, or a TOML file.
pub(crate) fn load_policy(name_or_path: &str) -> anyhow::Result<crate::domain::Policy> {
    use crate::domain::{policy::PRESETS, Policy};
    use anyhow::Context;
    if PRESETS.contains(&name_or_path) || !name_or_path.ends_with(".toml") {
        return Ok(Policy::preset(name_or_path)?);
    }
    let text = std::fs::read_to_string(name_or_path)
        .with_context(|| format!("reading policy {name_or_path}"))?;
    Ok(Policy::from_toml(&text).with_context(|| format!("policy {name_or_path}"))?)
}

/// Structured logs on stderr; `RUST_LOG` overrides the default `info`.
///
/// Lines go through a background writer so a request never waits on the
/// terminal or a pipe (the access log cost a fifth of a request's time when
/// written in place); keep the guard alive until exit so the tail is flushed.
pub(crate) fn init_tracing() -> tracing_appender::non_blocking::WorkerGuard {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Not lossy: under a flood the writer waits rather than drop lines.
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .finish(std::io::stderr());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(writer)
        .try_init();
    guard
}

/// Opens a store that must exist already: a GeoPackage file, or a
/// `postgres://` URL (migrated on open).
pub(crate) fn open_existing(
    spec: &str,
) -> anyhow::Result<std::sync::Arc<dyn crate::store::Backend>> {
    use crate::store::postgis;
    use anyhow::Context;
    if postgis::is_url(spec) {
        return crate::store::open(spec)
            .with_context(|| format!("opening database {}", postgis::redact(spec)));
    }
    anyhow::ensure!(
        std::path::Path::new(spec).exists(),
        "store {spec} does not exist"
    );
    crate::store::open(spec).with_context(|| format!("opening store {spec}"))
}

/// Runs a parsed command line; errors are printed with their causes.
pub fn run(cli: Cli) -> ExitCode {
    crate::sealing::source::configure(cli.key_file);
    let result = match cli.command {
        Command::Info(a) => info::run(&a),
        Command::Import(a) => import::run(a),
        Command::Generate(a) => generate::run(&a),
        Command::Estimate(a) => estimate::run(a),
        Command::Emergency(a) => emergency::run(a),
        Command::Coverage(a) => coverage::run(a),
        Command::Partition(a) => partition::run_plan(&a),
        Command::Plan(a) => plan::run(a),
        Command::BenchPartition(a) => partition::run(&a),
        Command::User(a) => accounts::run_user(a),
        Command::Token(a) => accounts::run_token(a),
        Command::Audit(a) => audit::run(&a),
        Command::Policy { preset } => load_policy(&preset).map(|p| print!("{}", p.to_toml())),
        Command::Serve(a) => serve::run(a),
        Command::Migrate(a) => copy::migrate(&a),
        Command::Copy(a) => copy::run(&a),
        Command::Key(a) => key::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The audit line of a write made on the command line (the store adds what
/// was stored, in the write's own transaction).
pub(crate) fn cli_audit(
    action: &str,
    target: &str,
    detail: &str,
) -> crate::access::account::AuditEntry {
    crate::access::account::AuditEntry {
        id: 0,
        at: crate::api::auth::timestamp(0),
        user: std::env::var("USER").map_or_else(|_| "cli".to_string(), |u| format!("cli:{u}")),
        action: action.to_string(),
        target: target.to_string(),
        from: "local".to_string(),
        detail: detail.to_string(),
    }
}
