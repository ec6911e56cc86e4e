//! The `wangge` command line: serve, import, and the work around them.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = wangge::cli::Cli::parse();
    wangge::cli::run(cli)
}
