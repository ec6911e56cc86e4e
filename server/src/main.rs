//! The `wangge` command line: serve, import, and the work around them.

use clap::Parser;

/// glibc's allocator serialises the server's worker threads on its arena
/// locks under load (a tenth of the time at 64 connections); mimalloc's
/// thread-local heaps do not.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = wangge::cli::Cli::parse();
    wangge::cli::run(cli)
}
