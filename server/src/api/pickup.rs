//! Writes made elsewhere picked up without a restart: a `wangge import`
//! into the GeoPackage this server serves, a plan saved from the command
//! line. A thread reads the change log's last seq every few hundred
//! milliseconds (one indexed read); when the log has moved past what the
//! snapshot holds, it matches the new rows with this server's own writes
//! ([`Follow::settle`]) and, at the first row written elsewhere, reloads
//! the snapshot from the store and tells the change stream. Its own
//! writes never cause a reload: they are in the snapshot already.
//!
//! The reload is a full one (an import is a bulk change), under the write
//! order lock, so no write of this server lands in between and is lost;
//! writes wait for it.
//!
//! PostGIS is polled the same way (the read is as cheap), which covers
//! one server over a database that command-line tools also write; several
//! servers over one database, each following the others' writes, are
//! issue 21.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use super::AppState;
use crate::snapshot::follow::Follow;
use crate::snapshot::{Snapshot, SnapshotCell};
use crate::store::{Change, Store};

/// Rows read per settling step.
const BATCH: usize = 1000;

/// What the poller thread holds: the server's parts it needs, and its
/// [`Follow`] weakly, so the thread ends when the server's state is gone.
struct Poller {
    store: Arc<dyn Store>,
    snapshot: Arc<SnapshotCell>,
    ledger: Arc<super::ledger::LedgerState>,
    follow: Weak<Follow>,
}

/// Starts polling the change log of `st`'s store every `every`.
pub fn start(st: &AppState, every: Duration) -> std::io::Result<std::thread::JoinHandle<()>> {
    let p = Poller {
        store: st.store.clone(),
        snapshot: st.snapshot.clone(),
        ledger: st.ledger.clone(),
        follow: Arc::downgrade(&st.follow),
    };
    tracing::info!(
        every_ms = every.as_millis() as u64,
        "following the change log for writes made elsewhere"
    );
    std::thread::Builder::new()
        .name("change-log poller".into())
        .spawn(move || p.run(every))
}

impl Poller {
    fn run(&self, every: Duration) {
        let mut failing = false;
        while let Some(follow) = self.follow.upgrade() {
            follow.wait(every);
            match self.step(&follow) {
                Ok(()) => failing = false,
                // Once per run of failures (a store busy for long, a
                // database gone): the next tick tries again.
                Err(e) if !failing => {
                    failing = true;
                    tracing::warn!(error = %e, "change log not read; trying again");
                }
                Err(_) => {}
            }
        }
    }

    /// One look at the log: nothing new, only this server's writes
    /// (settled), or writes made elsewhere (reloaded).
    fn step(&self, follow: &Follow) -> crate::store::Result<()> {
        if self.store.last_seq()? <= follow.applied() {
            return Ok(());
        }
        let _order = self.ledger.order();
        loop {
            let rows = self.store.changes_since(follow.applied(), BATCH)?;
            match follow.settle(&rows) {
                Some(from) => return self.reload(follow, &rows, from),
                None if rows.len() == BATCH => {}
                None => return Ok(()),
            }
        }
    }

    /// Reloads the snapshot for writes made elsewhere from seq `from` on
    /// (`rows` holds the first of them). Call under the write order lock.
    fn reload(&self, follow: &Follow, rows: &[Change], from: i64) -> crate::store::Result<()> {
        let started = Instant::now();
        let upto = self.store.last_seq()?;
        let s = Snapshot::from_store(&*self.store)?;
        let (households, people) = (s.households.len(), s.people.len());
        self.snapshot.swap(s);
        follow.picked_up(upto);
        tracing::info!(
            from,
            upto,
            changes = %summary(rows, from),
            households,
            people,
            ms = started.elapsed().as_millis() as u64,
            "changes written elsewhere picked up: snapshot reloaded"
        );
        Ok(())
    }
}

/// Settles this server's own reports at once (a plan save: the store
/// answers its version, not its seq), so the change stream hears it
/// without waiting for the poller; rows written elsewhere are left to the
/// poller. Call under the write order lock. A failure only delays: the
/// poller settles later.
pub(super) fn settle_own(store: &dyn Store, follow: &Follow) {
    match store.changes_since(follow.applied(), BATCH) {
        Ok(rows) => {
            follow.settle(&rows);
        }
        Err(e) => tracing::warn!(error = %e, "change log not read after a save; the poller will"),
    }
}

/// What the rows from `from` on did, for the log line:
/// "households import, plans create".
fn summary(rows: &[Change], from: i64) -> String {
    let mut kinds: Vec<String> = rows
        .iter()
        .filter(|c| c.seq >= from)
        .map(|c| format!("{} {}", c.layer, c.op.as_str()))
        .collect();
    kinds.sort();
    kinds.dedup();
    kinds.join(", ")
}
