//! Helpers shared by the end-to-end suites.
#![allow(dead_code)]

use std::path::PathBuf;

/// The `wangge` binary cargo built for these tests.
pub fn wangge_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_wangge"))
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A file of the shared real data (`../shared/data/real/NAME` beside the
/// repository, or under `$WANGGE_SHARED/data/real`). Panics with a clear
/// message when it is absent: CI always has it.
pub fn real_data(name: &str) -> PathBuf {
    let shared = std::env::var_os("WANGGE_SHARED")
        .map_or_else(|| repo_root().join("../shared"), PathBuf::from);
    let p = shared.join("data/real").join(name);
    assert!(p.exists(), "real data {} is missing (expected ../shared beside the repository)", p.display());
    p
}
