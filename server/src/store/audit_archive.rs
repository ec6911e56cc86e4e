//! Retention of the audit log: lines older than a date move to a JSON
//! lines file, hash-chained, and only then leave the store.
//!
//! Each line of an archive is one audit entry with `prev`, the hex SHA-256
//! of the line before it (of the previous archive's last line for the
//! first, 64 zeros for the very first archive). The store keeps the last
//! hash, so archives made one after another form one chain: removing,
//! changing or reordering a line, or dropping a whole file from the
//! middle, breaks it ([`verify`]). The file is written and synced before
//! the store deletes anything, and the delete happens in one transaction
//! with the archive's record, refused if another archive ran meanwhile.

use std::io::{BufRead, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::access::account::{AuditArchive, AuditEntry};
use crate::store::AccountStore;

/// `prev` of the very first archived line.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One archived line as written: the entry, then the chain link.
#[derive(Debug, Serialize, Deserialize)]
struct Line {
    id: i64,
    at: String,
    user: String,
    action: String,
    target: String,
    from: String,
    detail: String,
    prev: String,
}

fn hash(line: &str) -> String {
    use std::fmt::Write as _;
    Sha256::digest(line.as_bytes())
        .iter()
        .fold(String::with_capacity(64), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// What an archive run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Archived {
    pub lines: u64,
    pub pruned: u64,
    pub last_hash: String,
}

/// Errors of archiving and verifying.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("archive file {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("archive {path}, line {line}: {reason}")]
    Broken {
        path: String,
        line: usize,
        reason: String,
    },
}

/// Moves the lines older than `before` (RFC 3339 UTC) to a new file `out`
/// (which must not exist), continuing the store's chain, then prunes them.
/// Nothing to archive writes no file.
pub fn archive(
    store: &dyn AccountStore,
    before: &str,
    out: &Path,
    now: &str,
) -> Result<Archived, ArchiveError> {
    let io = |source| ArchiveError::Io {
        path: out.display().to_string(),
        source,
    };
    let chain = store.audit_chain()?;
    let prev_hash = chain.as_ref().map(|c| c.last_hash.clone());
    let mut prev = prev_hash.clone().unwrap_or_else(|| GENESIS.to_string());
    let mut after = 0;
    let mut lines = 0u64;
    let mut file: Option<std::io::BufWriter<std::fs::File>> = None;
    loop {
        let page = store.audit_older(before, after, 10_000)?;
        let Some(last) = page.last() else { break };
        after = last.id;
        if file.is_none() {
            let f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(out)
                .map_err(io)?;
            file = Some(std::io::BufWriter::new(f));
        }
        let w = file.as_mut().expect("opened above");
        for e in page {
            let text = line_of(e, &prev);
            writeln!(w, "{text}").map_err(io)?;
            prev = hash(&text);
            lines += 1;
        }
    }
    let Some(w) = file else {
        return Ok(Archived {
            lines: 0,
            pruned: 0,
            last_hash: prev,
        });
    };
    let f = w.into_inner().map_err(|e| io(e.into_error()))?;
    f.sync_all().map_err(io)?;
    let pruned = store.audit_prune(
        prev_hash.as_deref(),
        &AuditArchive {
            archived_at: now.to_string(),
            before: before.to_string(),
            last_id: after,
            lines: i64::try_from(lines).unwrap_or(i64::MAX),
            last_hash: prev.clone(),
            file: out.display().to_string(),
        },
    )?;
    Ok(Archived {
        lines,
        pruned,
        last_hash: prev,
    })
}

fn line_of(e: AuditEntry, prev: &str) -> String {
    serde_json::to_string(&Line {
        id: e.id,
        at: e.at,
        user: e.user,
        action: e.action,
        target: e.target,
        from: e.from,
        detail: e.detail,
        prev: prev.to_string(),
    })
    .expect("strings serialise")
}

/// What [`verify`] found: lines checked, the first line's `prev` and the
/// last line's hash (what the next file must start from).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub lines: u64,
    pub first_prev: String,
    pub last_hash: String,
}

/// Checks the chain inside one file and, when `from` is given, that its
/// first line continues that hash (the previous file's last).
pub fn verify(path: &Path, from: Option<&str>) -> Result<Verified, ArchiveError> {
    let shown = path.display().to_string();
    let f = std::fs::File::open(path).map_err(|source| ArchiveError::Io {
        path: shown.clone(),
        source,
    })?;
    let broken = |line: usize, reason: String| ArchiveError::Broken {
        path: shown.clone(),
        line,
        reason,
    };
    let mut expect = from.map(str::to_string);
    let mut first_prev = None;
    let mut n = 0u64;
    for (i, text) in std::io::BufReader::new(f).lines().enumerate() {
        let text = text.map_err(|source| ArchiveError::Io {
            path: shown.clone(),
            source,
        })?;
        let line: Line = serde_json::from_str(&text)
            .map_err(|e| broken(i + 1, format!("not an archived audit line: {e}")))?;
        if let Some(want) = &expect {
            if &line.prev != want {
                return Err(broken(
                    i + 1,
                    format!(
                        "the chain is broken: prev is {}, the line before hashes to {want}",
                        line.prev
                    ),
                ));
            }
        }
        first_prev.get_or_insert(line.prev);
        expect = Some(hash(&text));
        n += 1;
    }
    let Some(last_hash) = expect.filter(|_| n > 0) else {
        return Err(broken(0, "the file holds no line".into()));
    };
    Ok(Verified {
        lines: n,
        first_prev: first_prev.unwrap_or_default(),
        last_hash,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::gpkg::GeoPackage;

    fn line(at: &str, user: &str) -> AuditEntry {
        AuditEntry {
            id: 0,
            at: at.into(),
            user: user.into(),
            action: "login".into(),
            target: "/api/login".into(),
            from: "127.0.0.1".into(),
            detail: String::new(),
        }
    }

    #[test]
    fn archives_chain_and_prune_only_what_they_hold_geopackage() {
        let dir = tempfile::tempdir().unwrap();
        let s = GeoPackage::open(dir.path().join("a.gpkg")).unwrap();
        archives_chain(&s, dir.path());
    }

    #[test]
    fn archives_chain_and_prune_only_what_they_hold_postgis() {
        let dir = tempfile::tempdir().unwrap();
        archives_chain(&crate::store::postgis::testdb::fresh("archive"), dir.path());
    }

    fn archives_chain(s: &dyn AccountStore, dir: &Path) {
        for (at, u) in [
            ("2026-01-01T00:00:00Z", "a"),
            ("2026-01-02T00:00:00Z", "b"),
            ("2026-03-01T00:00:00Z", "c"),
            ("2026-05-01T00:00:00Z", "d"),
        ] {
            s.audit(&line(at, u)).unwrap();
        }
        let one = dir.join("one.jsonl");
        let r = archive(s, "2026-02-01T00:00:00Z", &one, "now").unwrap();
        assert_eq!((r.lines, r.pruned), (2, 2));
        assert_eq!(s.audit_log(None, None, 10).unwrap().len(), 2);
        let v1 = verify(&one, Some(GENESIS)).unwrap();
        assert_eq!((v1.lines, v1.last_hash.clone()), (2, r.last_hash.clone()));
        // Nothing older: no file, nothing pruned.
        let none = dir.join("none.jsonl");
        assert_eq!(
            archive(s, "2026-02-01T00:00:00Z", &none, "now")
                .unwrap()
                .lines,
            0
        );
        assert!(!none.exists());
        // The next archive continues the chain.
        let two = dir.join("two.jsonl");
        archive(s, "2026-04-01T00:00:00Z", &two, "now").unwrap();
        assert_eq!(verify(&two, Some(&v1.last_hash)).unwrap().lines, 1);
        assert!(
            verify(&two, Some(GENESIS)).is_err(),
            "a file skipped breaks the chain"
        );
        // Archiving from a stale chain end is refused.
        assert!(s
            .audit_prune(
                Some("x"),
                &AuditArchive {
                    archived_at: "now".into(),
                    before: "2027".into(),
                    last_id: 99,
                    lines: 1,
                    last_hash: "h".into(),
                    file: "f".into(),
                }
            )
            .is_err());
        // A changed line breaks the chain.
        let text = std::fs::read_to_string(&one)
            .unwrap()
            .replace("\"a\"", "\"z\"");
        std::fs::write(&one, text).unwrap();
        assert!(matches!(
            verify(&one, Some(GENESIS)),
            Err(ArchiveError::Broken { line: 2, .. })
        ));
        // An existing file is never overwritten.
        s.audit(&line("2026-01-03T00:00:00Z", "e")).unwrap();
        assert!(archive(s, "2026-02-01T00:00:00Z", &two, "now").is_err());
        assert_eq!(s.audit_log(None, None, 10).unwrap().len(), 2);
    }
}
