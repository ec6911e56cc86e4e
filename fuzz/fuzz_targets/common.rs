// Shared by the file-format targets: the importers read paths, so each
// input goes to one scratch file per process (in /dev/shm when present).

use std::path::PathBuf;
use std::sync::OnceLock;

use wangge::io::{read, ImportOptions};
use wangge::domain::Layer;

static DIR: OnceLock<PathBuf> = OnceLock::new();

/// Feeds `data` to the importer for files named `*.{ext}` and drains every
/// record: errors are fine, panics are not.
pub fn import(data: &[u8], ext: &str, layer: Option<Layer>) {
    let dir = DIR.get_or_init(|| {
        let base = if std::path::Path::new("/dev/shm").is_dir() { PathBuf::from("/dev/shm") } else { std::env::temp_dir() };
        let d = base.join(format!("wangge-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("scratch dir");
        d
    });
    let path = dir.join(format!("input.{ext}"));
    std::fs::write(&path, data).expect("scratch file");
    if let Ok(stream) = read(&path, layer, &ImportOptions::default()) {
        for r in stream {
            let _ = r;
        }
    }
}
