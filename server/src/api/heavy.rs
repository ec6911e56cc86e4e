//! The heavy-work pool: where CPU-bound requests run, so that they never
//! occupy the async workers that answer everything else.
//!
//! Work is sorted into route [`Class`]es, each with its own bounded queue:
//! when a class's queue is full the request is refused at once (503 with
//! `Retry-After`), so a flood of one kind cannot starve the others, nor
//! pile up memory. Two lanes of threads take the work: a slow lane
//! (emergency areas and plans, coverage, plan previews) whose threads run
//! at a lower OS priority, and a quick lane for the short searches a
//! dispatcher waits on (nearest volunteers). Every request has a deadline;
//! when it passes, or the client goes away (the handler's future is
//! dropped), the work's [`Cancel`] flag is set and the core loops stop.
//! Handlers call [`HeavyPool::run`] and nothing else.

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use serde::Serialize;

use super::ApiError;
use crate::cancel::Cancel;

/// `Retry-After` of a refusal, seconds: long enough for a queue to drain.
pub const RETRY_AFTER_SECS: u64 = 5;

/// Kinds of heavy work, each with its own queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// Hazard-area reports and dispatch plans.
    Emergency,
    /// Coverage analyses and gap maps.
    Coverage,
    /// Plan previews, edits and snapping: evaluating a plan version.
    Plans,
    /// Nearest volunteers (a walk search): short, but a dispatcher waits.
    Nearest,
}

impl Class {
    pub const ALL: [Class; 4] = [Self::Emergency, Self::Coverage, Self::Plans, Self::Nearest];

    fn index(self) -> usize {
        self as usize
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Emergency => "emergency",
            Self::Coverage => "coverage",
            Self::Plans => "plans",
            Self::Nearest => "nearest",
        }
    }

    fn lane(self) -> Lane {
        match self {
            Self::Nearest => Lane::Quick,
            _ => Lane::Slow,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lane {
    Slow,
    Quick,
}

/// Sizes of the pool, from `wangge serve` flags.
#[derive(Debug, Clone)]
pub struct Config {
    /// Threads of the slow lane.
    pub threads: usize,
    /// Threads of the quick lane.
    pub quick_threads: usize,
    /// Requests that may wait per class (slow lane).
    pub queue: usize,
    /// Requests that may wait for the quick lane.
    pub quick_queue: usize,
    /// From the request's arrival at the pool to its answer.
    pub deadline: Duration,
}

impl Default for Config {
    /// One slow thread fewer than the cores (at least one), one quick
    /// thread: on 2 cores the async workers keep a core's worth of room.
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        Self {
            threads: cores.saturating_sub(1).max(1),
            quick_threads: 1,
            queue: 8,
            quick_queue: 64,
            deadline: Duration::from_secs(30),
        }
    }
}

type Job = Box<dyn FnOnce() + Send>;

struct Queues {
    waiting: [VecDeque<Job>; 4],
    /// Where each lane's round-robin over its classes starts next.
    turn: [usize; 2],
    closed: bool,
}

struct Shared {
    queues: Mutex<Queues>,
    wake: [Condvar; 2],
    limit: [usize; 4],
    running: [AtomicUsize; 4],
    /// Threads alive per lane (a thread only ends when the pool does).
    alive: [AtomicUsize; 2],
    threads: usize,
}

/// The pool; one per server, shared by the handlers.
pub struct HeavyPool {
    shared: Arc<Shared>,
    deadline: Duration,
}

/// What `/health/ready` shows of one class.
#[derive(Debug, Clone, Serialize)]
pub struct ClassLoad {
    pub class: Class,
    pub queued: usize,
    pub queue_limit: usize,
    pub running: usize,
}

/// What `/health/ready` shows of the pool.
#[derive(Debug, Clone, Serialize)]
pub struct Load {
    pub classes: Vec<ClassLoad>,
    /// Heavy requests being worked on now, all classes.
    pub in_flight: usize,
    pub threads: usize,
    pub threads_alive: usize,
    pub deadline_ms: u64,
}

impl HeavyPool {
    pub fn new(config: &Config) -> Arc<Self> {
        let queue = config.queue.max(1);
        let shared = Arc::new(Shared {
            queues: Mutex::new(Queues {
                waiting: Default::default(),
                turn: [0; 2],
                closed: false,
            }),
            wake: [Condvar::new(), Condvar::new()],
            limit: [queue, queue, queue, config.quick_queue.max(1)],
            running: Default::default(),
            alive: Default::default(),
            threads: config.threads.max(1) + config.quick_threads.max(1),
        });
        for (lane, n) in [
            (Lane::Slow, config.threads.max(1)),
            (Lane::Quick, config.quick_threads.max(1)),
        ] {
            for i in 0..n {
                // Counted from the spawn: a thread at the lowest priority
                // may wait a while for its first slice of CPU.
                shared.alive[lane as usize].fetch_add(1, Ordering::Relaxed);
                let shared = shared.clone();
                let name = format!(
                    "heavy-{}-{i}",
                    if lane == Lane::Slow { "slow" } else { "quick" }
                );
                std::thread::Builder::new()
                    .name(name)
                    .spawn(move || worker(&shared, lane))
                    .expect("the heavy pool's threads start");
            }
        }
        Arc::new(Self {
            shared,
            deadline: config.deadline,
        })
    }

    /// Runs `work` on the pool within the deadline, and maps its outcome:
    /// 503 with `Retry-After` when the class's queue is full or the
    /// deadline passes (the work is then told to stop). Dropping the
    /// returned future (the client went away) stops the work too.
    pub async fn run<T, F>(&self, class: Class, work: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Cancel) -> Result<T, ApiError> + Send + 'static,
    {
        let cancel = Cancel::never();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let flag = cancel.clone();
        let job: Job = Box::new(move || {
            // Given up while it waited: nothing to do.
            if flag.is_cancelled() {
                return;
            }
            let out =
                std::panic::catch_unwind(AssertUnwindSafe(|| work(&flag))).unwrap_or_else(|_| {
                    Err(ApiError::Internal(format!(
                        "{} work panicked",
                        class.name()
                    )))
                });
            let _ = tx.send(out);
        });
        self.submit(class, job)?;
        let _stop_when_dropped = StopOnDrop(cancel.clone());
        match tokio::time::timeout(self.deadline, rx).await {
            Ok(Ok(out)) => out,
            Ok(Err(_)) => Err(ApiError::Internal(format!(
                "{} work ended without an answer",
                class.name()
            ))),
            Err(_) => {
                cancel.cancel();
                tracing::warn!(
                    class = class.name(),
                    ms = self.deadline.as_millis() as u64,
                    "heavy work passed its deadline"
                );
                Err(ApiError::Busy {
                    detail: format!(
                        "this {} request passed its deadline of {} ms and was stopped; ask for less (a smaller area) or try again later",
                        class.name(),
                        self.deadline.as_millis()
                    ),
                    retry_after: RETRY_AFTER_SECS,
                })
            }
        }
    }

    /// [`Self::run`] for work that cannot stop midway (it is still
    /// dropped unstarted when its client leaves or its deadline passes
    /// while it waits): the pool's bounds without a `Cancel` to check.
    pub async fn blocking<T, F>(&self, class: Class, work: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        self.run(class, move |_| Ok(work())).await
    }

    fn submit(&self, class: Class, job: Job) -> Result<(), ApiError> {
        let i = class.index();
        let mut q = self
            .shared
            .queues
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if q.waiting[i].len() >= self.shared.limit[i] {
            drop(q);
            tracing::warn!(
                class = class.name(),
                limit = self.shared.limit[i],
                "heavy queue full: refused"
            );
            return Err(ApiError::Busy {
                detail: format!(
                    "the server is busy: {} {} requests are already waiting (queue limit); try again in {RETRY_AFTER_SECS} s",
                    self.shared.limit[i],
                    class.name()
                ),
                retry_after: RETRY_AFTER_SECS,
            });
        }
        q.waiting[i].push_back(job);
        drop(q);
        self.shared.wake[class.lane() as usize].notify_one();
        Ok(())
    }

    /// Queue depths and work in flight, for `/health/ready`.
    pub fn load(&self) -> Load {
        let q = self
            .shared
            .queues
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let classes: Vec<ClassLoad> = Class::ALL
            .iter()
            .map(|&c| ClassLoad {
                class: c,
                queued: q.waiting[c.index()].len(),
                queue_limit: self.shared.limit[c.index()],
                running: self.shared.running[c.index()].load(Ordering::Relaxed),
            })
            .collect();
        drop(q);
        let alive = self
            .shared
            .alive
            .iter()
            .map(|a| a.load(Ordering::Relaxed))
            .sum();
        Load {
            in_flight: classes.iter().map(|c| c.running).sum(),
            classes,
            threads: self.shared.threads,
            threads_alive: alive,
            deadline_ms: self.deadline.as_millis() as u64,
        }
    }

    /// True while every lane has a thread to run its work.
    pub fn healthy(&self) -> bool {
        self.shared
            .alive
            .iter()
            .all(|a| a.load(Ordering::Relaxed) > 0)
    }
}

impl Drop for HeavyPool {
    /// Tells the threads to end once their current work is done; waiting
    /// work is dropped (its handlers are gone).
    fn drop(&mut self) {
        let mut q = self
            .shared
            .queues
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        q.closed = true;
        for w in &mut q.waiting {
            w.clear();
        }
        drop(q);
        for c in &self.shared.wake {
            c.notify_all();
        }
    }
}

/// Sets the flag when the handler's future is dropped (client gone) or
/// done (then the work is finished and the flag is read by nobody).
struct StopOnDrop(Cancel);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// One thread of a lane: takes the next job of its classes in turn.
fn worker(shared: &Shared, lane: Lane) {
    /// Uncounts the thread however it ends.
    struct Alive<'a>(&'a AtomicUsize);
    impl Drop for Alive<'_> {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::Relaxed);
        }
    }
    let _alive = Alive(&shared.alive[lane as usize]);
    if lane == Lane::Slow {
        lower_priority();
    }
    let classes: Vec<Class> = Class::ALL
        .into_iter()
        .filter(|c| c.lane() == lane)
        .collect();
    loop {
        let mut q = shared
            .queues
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (class, job) = loop {
            if q.closed {
                return;
            }
            let start = q.turn[lane as usize];
            let found = (0..classes.len())
                .map(|k| classes[(start + k) % classes.len()])
                .find(|c| !q.waiting[c.index()].is_empty());
            if let Some(c) = found {
                q.turn[lane as usize] =
                    (classes.iter().position(|x| *x == c).unwrap_or(0) + 1) % classes.len();
                let job = q.waiting[c.index()].pop_front().expect("not empty");
                shared.running[c.index()].fetch_add(1, Ordering::Relaxed);
                break (c, job);
            }
            q = shared.wake[lane as usize]
                .wait(q)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        };
        drop(q);
        job();
        shared.running[class.index()].fetch_sub(1, Ordering::Relaxed);
    }
}

/// Slow-lane threads yield the CPU to the async workers and the quick lane
/// when both want it (nice 19: a sixtieth of their share), so a
/// flood of analyses cannot slow health checks or light requests.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority on the calling thread's own id; no memory is
    // passed. On Linux the nice value is per thread.
    unsafe {
        let tid = libc::gettid();
        let _ = libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, 19);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(queue: usize, deadline_ms: u64) -> Arc<HeavyPool> {
        HeavyPool::new(&Config {
            threads: 1,
            quick_threads: 1,
            queue,
            quick_queue: queue,
            deadline: Duration::from_millis(deadline_ms),
        })
    }

    /// Work that spins until cancelled.
    fn spin(c: &Cancel) -> Result<(), ApiError> {
        while !c.is_cancelled() {
            std::thread::sleep(Duration::from_millis(1));
        }
        Err(crate::cancel::Cancelled.into())
    }

    #[tokio::test]
    async fn runs_work_and_returns_its_answer() {
        let p = pool(2, 5_000);
        assert_eq!(p.run(Class::Emergency, |_| Ok(41 + 1)).await.unwrap(), 42);
        let e = p
            .run(Class::Coverage, |_| -> Result<(), _> {
                Err(ApiError::BadRequest("no".into()))
            })
            .await;
        assert!(matches!(e, Err(ApiError::BadRequest(_))));
        let e = p
            .run(Class::Plans, |_| -> Result<(), _> { panic!("boom") })
            .await;
        assert!(matches!(e, Err(ApiError::Internal(_))));
        assert!(p.healthy(), "a panic does not kill the thread");
    }

    #[tokio::test]
    async fn a_deadline_cancels_the_work_and_answers_busy() {
        let p = pool(2, 100);
        let e = p.run(Class::Emergency, spin).await;
        assert!(matches!(e, Err(ApiError::Busy { .. })), "{e:?}");
        // The work saw the flag and the thread is free again.
        for _ in 0..100 {
            if p.load().in_flight == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(p.load().in_flight, 0);
    }

    #[tokio::test]
    async fn a_full_queue_refuses_at_once_and_other_classes_still_run() {
        let p = pool(1, 10_000);
        // Waits (bounded) until the pool shows what the test set up.
        async fn until(p: &HeavyPool, what: &str, ok: impl Fn(&Load) -> bool) {
            let t = std::time::Instant::now();
            while !ok(&p.load()) {
                assert!(t.elapsed() < Duration::from_secs(30), "never {what}");
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        let coverage = |l: &Load| l.classes[Class::Coverage.index()].clone();
        // One running (started before the next is sent, whatever order
        // the runtime polls them in), one waiting: the class is full.
        let running = tokio::spawn({
            let p = p.clone();
            async move { p.run(Class::Coverage, spin).await }
        });
        until(&p, "running", |l| coverage(l).running == 1).await;
        let waiting = tokio::spawn({
            let p = p.clone();
            async move { p.run(Class::Coverage, |_| Ok(())).await }
        });
        until(&p, "queued", |l| coverage(l).queued == 1).await;
        let t = std::time::Instant::now();
        let e = p.run(Class::Coverage, |_| Ok(())).await;
        assert!(matches!(e, Err(ApiError::Busy { .. })), "{e:?}");
        // Refused without waiting for the running work (generous for a loaded CI).
        assert!(
            t.elapsed() < Duration::from_millis(500),
            "{:?}",
            t.elapsed()
        );
        // The quick lane is not behind the slow one.
        assert_eq!(p.run(Class::Nearest, |_| Ok(7)).await.unwrap(), 7);
        // Dropping the running request's future stops its work.
        running.abort();
        let _ = running.await;
        assert!(waiting.await.unwrap().is_ok(), "the waiting one ran next");
        // The worker counts a job done just after it answered.
        until(&p, "idle", |l| l.in_flight == 0).await;
    }
}
