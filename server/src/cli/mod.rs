//! Subcommands of the `wangge` binary, one file each. Each takes its store
//! as `--store FILE.gpkg`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// wangge (网格): nested grid plans, coverage gaps and emergency dispatch.
#[derive(Debug, Parser)]
#[command(name = "wangge", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the store's layers and feature counts.
    Info(info::Args),
}

mod info;

/// Runs a parsed command line; errors are printed with their causes.
pub fn run(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Command::Info(a) => info::run(&a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
