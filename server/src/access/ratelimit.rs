//! Login throttling that slows guessing without locking anyone out.
//!
//! The budget is kept per account *and* address: a few free failures, then
//! a delay that doubles with each further failure (1 s, 2 s, 4 s, ... up to
//! 15 minutes), forgotten after a quiet quarter of an hour or at the next
//! correct login. So nobody can lock an account from elsewhere, and one
//! user's typos do not stop a colleague behind the same address. A light
//! cap per address (20 free failures, then a delay doubling to at most a
//! minute) slows password spraying over many accounts. A std `Mutex` is
//! right here: nothing awaits while it is held and the critical section is
//! a few map operations.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How one kind of key backs off.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    /// Failures before the first delay.
    pub free: u32,
    /// The first delay; each further failure doubles it.
    pub base: Duration,
    /// The longest delay.
    pub max: Duration,
    /// Failures are forgotten this long after the last one.
    pub forget: Duration,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    last: Instant,
}

/// Keys most tracked at once; past this, forgotten keys are swept.
const MAX_KEYS: usize = 100_000;

/// Per-key failure counts with exponential backoff.
#[derive(Debug)]
pub struct RateLimiter {
    limit: Limit,
    keys: Mutex<HashMap<String, Entry>>,
}

impl RateLimiter {
    pub fn new(limit: Limit) -> Self {
        Self {
            limit,
            keys: Mutex::new(HashMap::new()),
        }
    }

    /// The wait after `failures` failures.
    fn delay(&self, failures: u32) -> Duration {
        if failures < self.limit.free {
            return Duration::ZERO;
        }
        self.limit
            .base
            .saturating_mul(1u32 << (failures - self.limit.free).min(20))
            .min(self.limit.max)
    }

    /// Checks and, when allowed, counts the attempt as a failure in one
    /// step, so concurrent attempts cannot overspend the budget; call
    /// [`RateLimiter::clear`] or [`RateLimiter::refund`] when it succeeds.
    /// `Err(wait)` while `key` must wait.
    pub fn try_attempt(&self, key: &str, now: Instant) -> Result<(), Duration> {
        let mut map = self.keys.lock().expect("rate limiter lock");
        if map.len() >= MAX_KEYS {
            let forget = self.limit.forget;
            map.retain(|_, e| now.saturating_duration_since(e.last) < forget);
        }
        let e = map.entry(key.to_string()).or_insert(Entry {
            failures: 0,
            last: now,
        });
        if now.saturating_duration_since(e.last) >= self.limit.forget {
            e.failures = 0;
        }
        let ready = e.last + self.delay(e.failures);
        if now < ready {
            return Err(ready - now);
        }
        e.failures += 1;
        e.last = now;
        Ok(())
    }

    /// Forgets `key`'s failures (after a successful login).
    pub fn clear(&self, key: &str) {
        self.keys.lock().expect("rate limiter lock").remove(key);
    }

    /// Gives back the attempt [`RateLimiter::try_attempt`] counted: a
    /// successful login spends nothing of its address's budget (an office
    /// behind one NAT address signs in many people).
    pub fn refund(&self, key: &str) {
        if let Some(e) = self.keys.lock().expect("rate limiter lock").get_mut(key) {
            e.failures = e.failures.saturating_sub(1);
        }
    }
}

/// The server's login throttle: per account and address, and per address.
#[derive(Debug)]
pub struct LoginThrottle {
    pair: RateLimiter,
    address: RateLimiter,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        let quarter = Duration::from_secs(15 * 60);
        Self {
            pair: RateLimiter::new(Limit {
                free: 3,
                base: Duration::from_secs(1),
                max: quarter,
                forget: quarter,
            }),
            address: RateLimiter::new(Limit {
                free: 20,
                base: Duration::from_secs(1),
                max: Duration::from_secs(60),
                forget: quarter,
            }),
        }
    }
}

impl LoginThrottle {
    fn pair_key(name: &str, from: &str) -> String {
        format!("{from}\n{name}")
    }

    /// Counts a login attempt of `name` from `from` before its password
    /// is checked; `Err(wait)` when either budget says wait.
    pub fn try_attempt(&self, name: &str, from: &str, now: Instant) -> Result<(), Duration> {
        // The address first: a flood of made-up names from one address is
        // refused there, before it can fill the map of pairs.
        self.address.try_attempt(from, now)?;
        if let Err(wait) = self.pair.try_attempt(&Self::pair_key(name, from), now) {
            self.address.refund(from);
            return Err(wait);
        }
        Ok(())
    }

    /// A correct login: the pair's failures are forgotten and the attempt
    /// costs the address nothing.
    pub fn succeeded(&self, name: &str, from: &str) {
        self.pair.clear(&Self::pair_key(name, from));
        self.address.refund(from);
    }
}

#[cfg(test)]
mod test {
    use super::*;

    fn limiter() -> RateLimiter {
        RateLimiter::new(Limit {
            free: 3,
            base: Duration::from_secs(1),
            max: Duration::from_secs(60),
            forget: Duration::from_secs(900),
        })
    }

    #[test]
    fn delays_double_after_the_free_failures_and_are_forgotten() {
        let rl = limiter();
        let t0 = Instant::now();
        let s = Duration::from_secs;
        for i in 0..3 {
            assert!(rl.try_attempt("k", t0 + s(i)).is_ok(), "free");
        }
        assert_eq!(rl.try_attempt("k", t0 + s(2)), Err(s(1)));
        assert!(rl.try_attempt("k", t0 + s(3)).is_ok(), "after 1 s");
        assert_eq!(rl.try_attempt("k", t0 + s(3)), Err(s(2)));
        assert!(rl.try_attempt("k", t0 + s(5)).is_ok(), "after 2 s");
        assert_eq!(
            rl.try_attempt("k", t0 + s(6)),
            Err(s(3)),
            "4 s after the last"
        );
        for _ in 0..20 {
            let _ = rl.try_attempt("k", t0 + s(10_000));
        }
        assert!(
            rl.try_attempt("other", t0).is_ok(),
            "other keys are unaffected"
        );
        let later = t0 + s(100_000);
        assert!(
            rl.try_attempt("k", later).is_ok(),
            "forgotten after a quiet while"
        );
    }

    #[test]
    fn concurrent_failures_never_exceed_the_budget() {
        let rl = std::sync::Arc::new(RateLimiter::new(Limit {
            free: 5,
            base: Duration::from_secs(1),
            max: Duration::from_secs(60),
            forget: Duration::from_secs(60),
        }));
        let now = Instant::now();
        let allowed: usize = std::thread::scope(|s| {
            let hs: Vec<_> = (0..64)
                .map(|_| {
                    let rl = rl.clone();
                    s.spawn(move || usize::from(rl.try_attempt("k", now).is_ok()))
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).sum()
        });
        assert_eq!(allowed, 5);
    }

    #[test]
    fn one_users_failures_do_not_stop_another_user_or_address() {
        let t = LoginThrottle::default();
        let now = Instant::now();
        for _ in 0..10 {
            let _ = t.try_attempt("li", "10.0.0.1", now);
        }
        assert!(t.try_attempt("li", "10.0.0.1", now).is_err(), "li waits");
        assert!(
            t.try_attempt("wang", "10.0.0.1", now).is_ok(),
            "wang does not"
        );
        assert!(
            t.try_attempt("li", "10.0.0.2", now).is_ok(),
            "nor li elsewhere"
        );
        t.succeeded("li", "10.0.0.2");
    }
}
