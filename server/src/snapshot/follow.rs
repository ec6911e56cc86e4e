//! Which changes of the store's log the snapshot holds, and who is told
//! when it holds more.
//!
//! Every change up to [`Follow::applied`] is in the snapshot. A write
//! through this server reports its change once the snapshot holds it
//! ([`Follow::wrote`], [`Follow::saved_plans`]); the change log numbers
//! rows without gaps, so a seq this server did not report is a write made
//! elsewhere (a `wangge import`, a plan saved from the command line),
//! which the server's poller finds ([`Follow::settle`]) and reloads for
//! ([`Follow::reloaded`]). Subscribers (the change stream) wait on a
//! `watch` channel that carries `applied`: they hear of a change only
//! once every reader can see it.
//!
//! Reports and settling must happen under the server's write order lock
//! (the one every write holds from its store transaction until the
//! snapshot holds it), so the poller never reads a row whose writer has
//! committed but not yet reported it.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::watch;

use crate::store::{Change, ChangeLayer};

/// What the snapshot holds of the change log (see the module doc).
#[derive(Debug)]
pub struct Follow {
    held: Mutex<Held>,
    /// Rings when a report leaves changes unsettled: the poller looks at
    /// once instead of at its next tick.
    poke: Condvar,
    applied: watch::Sender<i64>,
    /// Reloads for writes made elsewhere, for `/health/ready`.
    pickups: AtomicU64,
}

#[derive(Debug, Default)]
struct Held {
    applied: i64,
    /// Changes written here, in the snapshot, above `applied` (an earlier
    /// seq is not settled yet).
    seqs: BTreeSet<i64>,
    /// Plan versions saved here and in the snapshot, whose change rows
    /// (found by version id) are not settled yet.
    plans: BTreeSet<i64>,
    poked: bool,
}

impl Follow {
    /// A snapshot holding every change up to `applied` (the store's last
    /// seq read before the snapshot was loaded).
    pub fn new(applied: i64) -> Self {
        Self {
            held: Mutex::new(Held {
                applied,
                ..Held::default()
            }),
            poke: Condvar::new(),
            applied: watch::channel(applied).0,
            pickups: AtomicU64::new(0),
        }
    }

    fn held(&self) -> MutexGuard<'_, Held> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every change up to this seq is in the snapshot.
    pub fn applied(&self) -> i64 {
        self.held().applied
    }

    /// Hears [`Follow::applied`] each time it moves on.
    pub fn subscribe(&self) -> watch::Receiver<i64> {
        self.applied.subscribe()
    }

    /// Change `seq`, written by this server, is in the snapshot. Call it
    /// under the write order lock.
    pub fn wrote(&self, seq: i64) {
        let mut h = self.held();
        if seq <= h.applied {
            return;
        }
        h.seqs.insert(seq);
        let before = h.applied;
        while h.seqs.first() == Some(&(h.applied + 1)) {
            h.seqs.pop_first();
            h.applied += 1;
        }
        if !h.seqs.is_empty() {
            // A change before it is not ours: the poller looks now.
            h.poked = true;
            self.poke.notify_all();
        }
        self.publish(&h, before);
    }

    /// Plan versions `ids`, saved by this server, are in the snapshot
    /// (their change rows are found by the poller, which is woken). Call
    /// it under the write order lock.
    pub fn saved_plans(&self, ids: &[i64]) {
        let mut h = self.held();
        h.plans.extend(ids);
        h.poked = true;
        self.poke.notify_all();
    }

    /// Matches the rows after [`Follow::applied`] (oldest first, as the
    /// store reads them) with what this server reported; moves `applied`
    /// over every one reported. Returns the first row written elsewhere,
    /// if any: the snapshot must be reloaded from there on.
    pub fn settle(&self, rows: &[Change]) -> Option<i64> {
        let mut h = self.held();
        let before = h.applied;
        let mut foreign = None;
        for c in rows.iter().filter(|c| c.seq > before) {
            // An incident is in no snapshot: one written elsewhere needs
            // no reload, only its place in the log.
            let ours = c.seq == h.applied + 1
                && (h.seqs.remove(&c.seq)
                    || c.layer == ChangeLayer::Incidents
                    || (c.layer == ChangeLayer::Plans
                        && c.id.is_some_and(|id| h.plans.remove(&id))));
            if !ours {
                foreign = Some(c.seq);
                break;
            }
            h.applied = c.seq;
        }
        self.publish(&h, before);
        foreign
    }

    /// The snapshot was reloaded from a store whose last seq was `upto`
    /// before the load began: it holds every change up to there.
    pub fn reloaded(&self, upto: i64) {
        let mut h = self.held();
        let before = h.applied;
        h.applied = h.applied.max(upto);
        let applied = h.applied;
        h.seqs.retain(|s| *s > applied);
        // Reports happen under the order lock, as reloads do: every plan
        // reported so far is in the store the reload read.
        h.plans.clear();
        self.publish(&h, before);
    }

    /// Like [`Follow::reloaded`], for writes made elsewhere (counted).
    pub fn picked_up(&self, upto: i64) {
        self.reloaded(upto);
        self.pickups.fetch_add(1, Ordering::Relaxed);
    }

    /// How many times writes made elsewhere were picked up.
    pub fn pickups(&self) -> u64 {
        self.pickups.load(Ordering::Relaxed)
    }

    /// Waits until a report pokes the poller or `at_most` passes.
    pub fn wait(&self, at_most: Duration) {
        let h = self.held();
        let (mut h, _) = self
            .poke
            .wait_timeout_while(h, at_most, |h| !h.poked)
            .unwrap_or_else(PoisonError::into_inner);
        h.poked = false;
    }

    fn publish(&self, h: &Held, before: i64) {
        if h.applied > before {
            self.applied.send_replace(h.applied);
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::domain::Layer;
    use crate::store::ChangeOp;

    fn row(seq: i64, layer: ChangeLayer, id: i64) -> Change {
        Change {
            seq,
            at: String::new(),
            layer,
            id: Some(id),
            op: ChangeOp::Create,
            region: None,
            actor: "t".into(),
        }
    }

    #[test]
    fn own_writes_move_on_at_once_and_are_heard() {
        let f = Follow::new(10);
        let mut rx = f.subscribe();
        f.wrote(11);
        assert_eq!(f.applied(), 11);
        assert!(rx.has_changed().unwrap());
        assert_eq!(*rx.borrow_and_update(), 11);
        f.wrote(11);
        assert!(
            !rx.has_changed().unwrap(),
            "a seq reported twice is no news"
        );
    }

    #[test]
    fn a_gap_waits_for_the_poller_and_a_foreign_row_is_named() {
        let f = Follow::new(10);
        // 11 was written elsewhere, 12 here: 12 is not heard before 11.
        f.wrote(12);
        assert_eq!(f.applied(), 10);
        let rows = [
            row(11, Layer::Households.into(), 1),
            row(12, Layer::Households.into(), 2),
        ];
        assert_eq!(f.settle(&rows), Some(11));
        assert_eq!(f.applied(), 10);
        f.reloaded(12);
        assert_eq!(f.applied(), 12);
        assert_eq!(f.settle(&rows), None, "rows already held are skipped");
    }

    #[test]
    fn plan_saves_settle_by_version_id() {
        let f = Follow::new(3);
        let mut rx = f.subscribe();
        f.saved_plans(&[70]);
        f.wait(Duration::from_secs(5)); // poked: returns at once
        f.wrote(5);
        let rows = [
            row(4, ChangeLayer::Plans, 70),
            row(5, Layer::People.into(), 9),
        ];
        assert_eq!(f.settle(&rows), None);
        assert_eq!((f.applied(), *rx.borrow_and_update()), (5, 5));
        // Another plan row (saved elsewhere) is foreign.
        assert_eq!(f.settle(&[row(6, ChangeLayer::Plans, 71)]), Some(6));
    }

    #[test]
    fn incidents_written_elsewhere_need_no_reload() {
        let f = Follow::new(3);
        let rows = [
            row(4, ChangeLayer::Incidents, 1),
            row(5, Layer::People.into(), 9),
        ];
        assert_eq!(f.settle(&rows), Some(5), "the person is foreign");
        assert_eq!(f.applied(), 4, "the incident row is passed over");
    }

    #[test]
    fn waiting_ends_after_the_interval_without_a_poke() {
        let f = Follow::new(0);
        let t = std::time::Instant::now();
        f.wait(Duration::from_millis(30));
        assert!(t.elapsed() >= Duration::from_millis(30));
    }
}
