//! `wangge audit`: read the audit log; `archive` moves old lines to a
//! hash-chained JSON lines file and prunes them; `verify` checks archives.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use time::OffsetDateTime;

use crate::api::auth::timestamp;
use crate::store::audit_archive::{self, GENESIS};
use crate::store::AccountStore;

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct AuditArgs {
    /// A GeoPackage file or a `postgres://` URL.
    #[arg(long, env = "WANGGE_STORE", global = true)]
    pub store: Option<String>,
    /// Only this user's lines.
    #[arg(long)]
    pub user: Option<String>,
    /// Only lines at or after this RFC 3339 time (e.g. 2026-11-25T00:00:00Z).
    #[arg(long)]
    pub since: Option<String>,
    #[arg(long, default_value_t = 1000)]
    pub limit: usize,
    #[command(subcommand)]
    pub command: Option<AuditCommand>,
}

#[derive(Debug, clap::Subcommand)]
pub enum AuditCommand {
    /// Move the lines older than a date to a new JSON lines file (each
    /// line carries the SHA-256 of the one before, continuing the previous
    /// archive), then delete them from the store in one transaction.
    Archive {
        /// Lines before this date (YYYY-MM-DD, UTC midnight) or RFC 3339 time.
        #[arg(
            long,
            conflicts_with = "older_than_days",
            required_unless_present = "older_than_days"
        )]
        before: Option<String>,
        /// Lines older than this many days.
        #[arg(long)]
        older_than_days: Option<u64>,
        /// The archive file to create (must not exist).
        #[arg(long)]
        out: PathBuf,
    },
    /// Check archives' hash chains; several files are checked in order,
    /// each continuing the one before; with --store, the last file must
    /// end where the store's chain ends (so its last line is checked too).
    Verify {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

pub fn run(args: &AuditArgs) -> anyhow::Result<()> {
    match &args.command {
        None => read(args),
        Some(AuditCommand::Archive {
            before,
            older_than_days,
            out,
        }) => {
            let before = match (before, older_than_days) {
                (Some(b), _) => cutoff(b)?,
                (None, Some(days)) => days_ago(*days),
                (None, None) => anyhow::bail!("--before DATE or --older-than-days N is required"),
            };
            let s = super::accounts::open(args.store.as_ref())?;
            archive(&*s, &before, out)
        }
        Some(AuditCommand::Verify { files }) => {
            let end = verify(files)?;
            if let Some(spec) = &args.store {
                let s = super::accounts::open(Some(spec))?;
                let chain = s.audit_chain()?.map(|a| a.last_hash);
                anyhow::ensure!(
                    chain.as_deref() == Some(end.as_str()),
                    "the last file ends at {end}, but the store's chain ends at {}: a line was changed, or a newer archive is missing",
                    chain.as_deref().unwrap_or("nothing (no archive yet)")
                );
                println!("the store's chain ends at the last file's last line");
            }
            Ok(())
        }
    }
}

fn read(args: &AuditArgs) -> anyhow::Result<()> {
    let s = super::accounts::open(args.store.as_ref())?;
    let since = args.since.as_deref().map(cutoff).transpose()?;
    for e in s.audit_log(args.user.as_deref(), since.as_deref(), args.limit)? {
        println!(
            "{} {:<12} {:<16} {:<24} {:<10} {}",
            e.at, e.user, e.action, e.target, e.from, e.detail
        );
    }
    Ok(())
}

/// `YYYY-MM-DD` (UTC midnight) or an RFC 3339 time, as RFC 3339 UTC.
pub fn cutoff(s: &str) -> anyhow::Result<String> {
    crate::api::when::utc(s).map_err(anyhow::Error::msg)
}

fn days_ago(days: u64) -> String {
    timestamp(-i64::try_from(days.saturating_mul(86_400)).unwrap_or(i64::MAX))
}

fn archive(s: &dyn AccountStore, before: &str, out: &Path) -> anyhow::Result<()> {
    let r = audit_archive::archive(s, before, out, &timestamp(0))?;
    if r.lines == 0 {
        println!("no audit line before {before}: nothing archived");
    } else {
        println!(
            "archived {} audit lines before {before} to {} (last hash {}); pruned {} from the store",
            r.lines,
            out.display(),
            r.last_hash,
            r.pruned
        );
    }
    Ok(())
}

/// Checks `files` in order; the last file's last hash.
fn verify(files: &[PathBuf]) -> anyhow::Result<String> {
    let mut from: Option<String> = None;
    for f in files {
        let v = audit_archive::verify(f, from.as_deref())?;
        let start = if v.first_prev == GENESIS {
            "starts the chain".to_string()
        } else {
            format!("continues {}", v.first_prev)
        };
        println!(
            "{}: {} lines, chain intact; {start}; ends {}",
            f.display(),
            v.lines,
            v.last_hash
        );
        from = Some(v.last_hash);
    }
    Ok(from.unwrap_or_default())
}

/// `wangge serve --audit-retention-days N --audit-archive-dir DIR`: archives
/// lines older than N days at start and then once a day, on a thread of its
/// own (a failure is logged and tried again the next day).
pub fn archive_daily(store: Arc<dyn crate::store::Backend>, days: u64, dir: PathBuf) {
    std::thread::Builder::new()
        .name("wangge-audit-archive".into())
        .spawn(move || loop {
            let before = days_ago(days);
            let stamp = OffsetDateTime::now_utc().unix_timestamp();
            let out = dir.join(format!("audit-{stamp}.jsonl"));
            let r = std::fs::create_dir_all(&dir)
                .map_err(anyhow::Error::from)
                .and_then(|()| {
                    Ok(audit_archive::archive(
                        &*store,
                        &before,
                        &out,
                        &timestamp(0),
                    )?)
                });
            match r {
                Ok(r) if r.lines > 0 => tracing::info!(
                    lines = r.lines,
                    pruned = r.pruned,
                    file = %out.display(),
                    "audit log archived and pruned"
                ),
                Ok(_) => tracing::info!(before, "audit log: nothing to archive"),
                Err(err) => {
                    tracing::error!(%err, "audit log: archiving failed; tried again tomorrow");
                }
            }
            std::thread::sleep(std::time::Duration::from_secs(86_400));
        })
        .expect("spawn the audit archiver");
}

#[cfg(test)]
mod tests {
    #[test]
    fn cutoffs_are_utc_rfc3339() {
        assert_eq!(super::cutoff("2026-03-01").unwrap(), "2026-03-01T00:00:00Z");
        assert_eq!(
            super::cutoff("2026-03-01T08:00:00+08:00").unwrap(),
            "2026-03-01T00:00:00Z"
        );
        assert!(super::cutoff("yesterday").is_err());
    }
}
