//! The server's audit writer: bounded rows, batched commits, retries.
//!
//! A flood must not grow the log: failed authentications (and throttled
//! logins) fold into one row per address and window, reads of personal
//! data into one row per caller, route and window (with a count and a
//! bounded list of ids). The first event of a quiet key is written at
//! once, so a single failure or read shows without delay; what follows
//! within the window is written as one row when the window ends, so a key
//! gets at most one row per window. Writes' own lines never pass here:
//! the store writes them in the write's transaction.
//!
//! Batches the store refuses stay queued (bounded) and are retried with
//! backoff; every failure is logged at `error`.

use std::collections::{BTreeSet, HashMap};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::account::AuditEntry;

/// Where the writer's batches go. Every account store is one (see
/// `store::accounts`); access names only this, so it does not depend on
/// the store.
pub trait AuditSink: Send + Sync {
    /// Appends lines in one transaction.
    fn append(&self, lines: &[AuditEntry]) -> Result<(), Box<dyn std::error::Error + Send + Sync>>;
}

/// Longest target (a path) and user name kept in a row.
pub const MAX_TARGET: usize = 200;
/// Longest detail kept in a row.
pub const MAX_DETAIL: usize = 4000;
/// Ids listed in one aggregated read row; the rest are counted.
pub const MAX_IDS: usize = 200;
/// Keys tracked at once; past this every open window is written early.
const MAX_KEYS: usize = 50_000;
/// Lines waiting for the store at most (a long outage); older ones are
/// dropped, counted and logged.
pub const MAX_PENDING: usize = 200_000;

/// Cuts `s` to at most `max` characters, marking the cut.
pub fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_string(),
        Some((i, _)) => format!("{}…", &s[..i]),
    }
}

/// `e` with every field bounded.
fn bounded(mut e: AuditEntry) -> AuditEntry {
    e.user = truncate(&e.user, MAX_TARGET);
    e.target = truncate(&e.target, MAX_TARGET);
    e.from = truncate(&e.from, MAX_TARGET);
    e.detail = truncate(&e.detail, MAX_DETAIL);
    e
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    action: String,
    user: String,
    target: String,
    from: String,
}

/// Which events fold together, or `None` for lines written one by one.
fn key_of(e: &AuditEntry) -> Option<Key> {
    match e.action.as_str() {
        // Per address: the path and the token tried vary in a flood.
        "auth_failed" | "login_throttled" => Some(Key {
            action: e.action.clone(),
            user: String::new(),
            target: String::new(),
            from: e.from.clone(),
        }),
        // Per caller and route.
        "read_personal" => Some(Key {
            action: e.action.clone(),
            user: e.user.clone(),
            target: e.target.clone(),
            from: String::new(),
        }),
        _ => None,
    }
}

/// Ids listed in a read line's detail (`"1,2,3"` or `"1,2 and 5 more"`).
fn ids_of(detail: &str) -> (Vec<&str>, u64) {
    let (list, more) = detail.split_once(" and ").unwrap_or((detail, ""));
    let more = more
        .strip_suffix(" more")
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    (list.split(',').filter(|s| !s.is_empty()).collect(), more)
}

#[derive(Debug)]
struct Open {
    first: AuditEntry,
    last_at: String,
    count: u64,
    ids: BTreeSet<String>,
    more: u64,
}

impl Open {
    fn new(e: AuditEntry) -> Self {
        let mut o = Self {
            last_at: e.at.clone(),
            first: e,
            count: 0,
            ids: BTreeSet::new(),
            more: 0,
        };
        let d = o.first.detail.clone();
        o.fold_ids(&d);
        o.count = 1;
        o
    }

    fn fold(&mut self, e: &AuditEntry) {
        self.count += 1;
        self.last_at.clone_from(&e.at);
        self.fold_ids(&e.detail);
    }

    fn fold_ids(&mut self, detail: &str) {
        if self.first.action != "read_personal" {
            return;
        }
        let (ids, more) = ids_of(detail);
        self.more += more;
        // Lines that list no ids (an area's counts) keep their first detail.
        for id in ids
            .into_iter()
            .filter(|i| i.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        {
            if self.ids.len() < MAX_IDS || self.ids.contains(id) {
                self.ids.insert(id.to_string());
            } else {
                self.more += 1;
            }
        }
    }

    /// The one row of the window.
    fn row(self) -> AuditEntry {
        let Self {
            mut first,
            last_at,
            count,
            ids,
            more,
        } = self;
        let span = format!("{count} from {} to {last_at}", first.at);
        first.detail = if first.action == "read_personal" && !(ids.is_empty() && more == 0) {
            let list = ids.into_iter().collect::<Vec<_>>().join(",");
            if more > 0 {
                format!("{span}: {list} and {more} more")
            } else {
                format!("{span}: {list}")
            }
        } else {
            format!("{span}; first: {}", first.detail)
        };
        bounded(first)
    }
}

#[derive(Debug)]
struct Bucket {
    last_row: Instant,
    open: Option<Open>,
}

/// Folds flood-prone events into one row per key and window (pure: the
/// caller supplies the clock).
#[derive(Debug)]
pub struct Aggregator {
    window: Duration,
    keys: HashMap<Key, Bucket>,
}

impl Aggregator {
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            keys: HashMap::new(),
        }
    }

    /// Takes one event; returns the rows to write now.
    pub fn add(&mut self, e: AuditEntry, now: Instant) -> Vec<AuditEntry> {
        let Some(key) = key_of(&e) else {
            return vec![bounded(e)];
        };
        let mut out = Vec::new();
        if self.keys.len() >= MAX_KEYS && !self.keys.contains_key(&key) {
            out = self.drain();
        }
        let Some(b) = self.keys.get_mut(&key) else {
            self.keys.insert(
                key,
                Bucket {
                    last_row: now,
                    open: None,
                },
            );
            out.push(Open::new(e).row_single());
            return out;
        };
        match &mut b.open {
            Some(o) => o.fold(&e),
            None if now.duration_since(b.last_row) >= self.window => {
                b.last_row = now;
                out.push(Open::new(e).row_single());
            }
            None => b.open = Some(Open::new(e)),
        }
        out
    }

    /// Rows of the windows that ended by `now`; forgets quiet keys.
    pub fn due(&mut self, now: Instant) -> Vec<AuditEntry> {
        let mut out = Vec::new();
        let window = self.window;
        self.keys.retain(|_, b| {
            if now.duration_since(b.last_row) < window {
                return true;
            }
            match b.open.take() {
                Some(o) => {
                    out.push(o.row());
                    b.last_row = now;
                    true
                }
                None => false,
            }
        });
        out
    }

    /// Every open window's row, at once (shutdown, or too many keys).
    pub fn drain(&mut self) -> Vec<AuditEntry> {
        self.keys
            .drain()
            .filter_map(|(_, b)| b.open.map(Open::row))
            .collect()
    }
}

impl Open {
    /// The first event of a quiet key, written alone (its ids bounded).
    fn row_single(self) -> AuditEntry {
        if self.first.action != "read_personal" || (self.ids.is_empty() && self.more == 0) {
            return bounded(self.first);
        }
        let mut e = self.first.clone();
        let list = self.ids.into_iter().collect::<Vec<_>>().join(",");
        e.detail = if self.more > 0 {
            format!("{list} and {} more", self.more)
        } else {
            list
        };
        bounded(e)
    }
}

/// How often the writer commits what it holds.
const TICK: Duration = Duration::from_millis(100);

/// Lines waiting for the store, retried with backoff when it refuses them.
struct Pending {
    lines: Vec<AuditEntry>,
    next_try: Instant,
    backoff: Duration,
    dropped: u64,
}

impl Pending {
    fn push(&mut self, rows: Vec<AuditEntry>) {
        self.lines.extend(rows);
        if self.lines.len() > MAX_PENDING {
            let n = self.lines.len() - MAX_PENDING;
            self.lines.drain(..n);
            self.dropped += n as u64;
            tracing::error!(
                dropped = n,
                total_dropped = self.dropped,
                "audit log: the store refused lines for too long; the oldest waiting lines are lost"
            );
        }
    }

    /// Writes what waits when it is time; true when nothing is left.
    fn flush(&mut self, accounts: &dyn AuditSink, now: Instant) -> bool {
        if self.lines.is_empty() || now < self.next_try {
            return self.lines.is_empty();
        }
        while !self.lines.is_empty() {
            let n = self.lines.len().min(10_000);
            match accounts.append(&self.lines[..n]) {
                Ok(()) => {
                    if self.backoff > Duration::ZERO {
                        tracing::warn!(lines = n, "audit log: a refused batch is written now");
                    }
                    self.lines.drain(..n);
                    self.backoff = Duration::ZERO;
                }
                Err(err) => {
                    self.backoff = (self.backoff * 2)
                        .clamp(Duration::from_millis(500), Duration::from_secs(30));
                    self.next_try = now + self.backoff;
                    tracing::error!(
                        %err,
                        waiting = self.lines.len(),
                        retry_in_ms = self.backoff.as_millis() as u64,
                        "audit log: the store refused a batch; it is kept and retried"
                    );
                    return false;
                }
            }
        }
        true
    }
}

/// Starts the writer thread: `window` is the aggregation window (a minute
/// in production). Dropping every sender writes what is left (retrying a
/// refusing store for up to `grace`) and ends the thread.
pub fn writer<S: AuditSink + ?Sized + 'static>(
    accounts: Arc<S>,
    window: Duration,
    grace: Duration,
) -> (Sender<AuditEntry>, JoinHandle<()>) {
    let (tx, rx) = std::sync::mpsc::channel::<AuditEntry>();
    let handle = std::thread::Builder::new()
        .name("wangge-audit".into())
        .spawn(move || run(&Borrowed(&*accounts), &rx, window, grace))
        .expect("spawn the audit writer");
    (tx, handle)
}

/// A sink behind a reference, so that an unsized one (`dyn AccountStore`)
/// is used as `&dyn AuditSink`.
struct Borrowed<'a, S: ?Sized>(&'a S);

impl<S: AuditSink + ?Sized> AuditSink for Borrowed<'_, S> {
    fn append(&self, lines: &[AuditEntry]) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        self.0.append(lines)
    }
}

fn run(accounts: &dyn AuditSink, rx: &Receiver<AuditEntry>, window: Duration, grace: Duration) {
    let mut agg = Aggregator::new(window);
    let mut pending = Pending {
        lines: Vec::new(),
        next_try: Instant::now(),
        backoff: Duration::ZERO,
        dropped: 0,
    };
    let mut last = Instant::now();
    loop {
        match rx.recv_timeout(TICK) {
            Ok(e) => {
                let now = Instant::now();
                pending.push(agg.add(e, now));
                for e in rx.try_iter().take(10_000) {
                    pending.push(agg.add(e, now));
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        let now = Instant::now();
        if now.duration_since(last) >= TICK {
            last = now;
            pending.push(agg.due(now));
            pending.flush(accounts, now);
        }
    }
    pending.push(agg.drain());
    let until = Instant::now() + grace;
    while !pending.flush(accounts, Instant::now()) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(200));
    }
    if !pending.lines.is_empty() {
        tracing::error!(
            lost = pending.lines.len(),
            "audit log: the store refused the last lines at shutdown; they are lost"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(action: &str, user: &str, target: &str, from: &str, detail: &str) -> AuditEntry {
        AuditEntry {
            id: 0,
            at: "2026-11-25T00:00:00Z".into(),
            user: user.into(),
            action: action.into(),
            target: target.into(),
            from: from.into(),
            detail: detail.into(),
        }
    }

    #[test]
    fn a_flood_of_failed_authentications_is_one_row_per_address_and_window() {
        let w = Duration::from_secs(60);
        let mut a = Aggregator::new(w);
        let t0 = Instant::now();
        let long = format!("/api/{}", "x".repeat(6000));
        let mut rows = Vec::new();
        for i in 0..10_000u64 {
            let t = t0 + Duration::from_micros(i * 100);
            rows.extend(a.add(
                e("auth_failed", "-", &long, "10.0.0.1", "unknown API token"),
                t,
            ));
            rows.extend(a.due(t));
        }
        assert_eq!(
            rows.len(),
            1,
            "the first at once, the rest wait for the window"
        );
        assert!(rows[0].target.chars().count() <= MAX_TARGET + 1);
        let later = a.due(t0 + w + Duration::from_secs(1));
        assert_eq!(later.len(), 1);
        assert!(
            later[0].detail.starts_with("9999 from"),
            "{}",
            later[0].detail
        );
        // Another address is another key.
        assert_eq!(
            a.add(e("auth_failed", "-", "/x", "10.0.0.2", "r"), t0)
                .len(),
            1
        );
        // Other lines pass through.
        assert_eq!(
            a.add(e("login", "li", "/api/login", "10.0.0.1", ""), t0)
                .len(),
            1
        );
    }

    #[test]
    fn reads_fold_per_caller_and_route_with_bounded_ids() {
        let w = Duration::from_secs(60);
        let mut a = Aggregator::new(w);
        let t0 = Instant::now();
        let mut rows = a.add(e("read_personal", "li", "people", "1.1.1.1", "1,2"), t0);
        for i in 0..1000 {
            rows.extend(a.add(
                e(
                    "read_personal",
                    "li",
                    "people",
                    "1.1.1.1",
                    &format!("{i},{} and 3 more", i + 1),
                ),
                t0 + Duration::from_millis(i),
            ));
        }
        rows.extend(a.add(e("read_personal", "li", "households", "1.1.1.1", "9"), t0));
        rows.extend(a.add(e("read_personal", "wang", "people", "1.1.1.1", "9"), t0));
        assert_eq!(rows.len(), 3, "one per caller and route at once");
        let end = a.due(t0 + w);
        assert_eq!(end.len(), 1);
        let (ids, more) = ids_of(end[0].detail.split_once(": ").unwrap().1);
        assert_eq!(ids.len(), MAX_IDS);
        assert!(more >= 3000, "{more}");
        // A quiet window later: the next read is written at once again.
        assert!(a.due(t0 + w * 3).is_empty());
        assert_eq!(
            a.add(e("read_personal", "li", "people", "x", "1"), t0 + w * 3)
                .len(),
            1
        );
    }

    struct Flaky {
        fail: std::sync::atomic::AtomicUsize,
        rows: std::sync::Mutex<Vec<AuditEntry>>,
    }

    impl AuditSink for Flaky {
        fn append(
            &self,
            es: &[AuditEntry],
        ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
            use std::sync::atomic::Ordering;
            if self.fail.load(Ordering::SeqCst) > 0 {
                self.fail.fetch_sub(1, Ordering::SeqCst);
                return Err("down".into());
            }
            self.rows.lock().unwrap().extend_from_slice(es);
            Ok(())
        }
    }

    #[test]
    fn a_refused_batch_is_retried_not_lost() {
        let store = Arc::new(Flaky {
            fail: 3.into(),
            rows: std::sync::Mutex::default(),
        });
        let (tx, h) = writer(
            store.clone(),
            Duration::from_secs(60),
            Duration::from_secs(20),
        );
        for i in 0..50 {
            tx.send(e("plan_edit", "li", &format!("plans/{i}"), "-", ""))
                .unwrap();
        }
        std::thread::sleep(Duration::from_millis(300));
        drop(tx);
        h.join().unwrap();
        assert_eq!(
            store.rows.lock().unwrap().len(),
            50,
            "every line after three refusals"
        );
    }
}
