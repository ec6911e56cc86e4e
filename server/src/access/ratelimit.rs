//! Login rate limiting, per account and per address.
//!
//! A fixed budget of failures per key within a window; once spent, attempts
//! are refused until the oldest failure leaves the window. Successful logins
//! clear the account's failures. A std `Mutex` is right here: nothing awaits
//! while it is held and the critical section is a few map operations.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Limits for one kind of key.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub failures: usize,
    pub window: Duration,
}

/// Per-key failure windows.
#[derive(Debug)]
pub struct RateLimiter {
    limit: Limit,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl RateLimiter {
    pub fn new(limit: Limit) -> Self {
        Self {
            limit,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(retry_after)` when `key` has spent its budget.
    pub fn check(&self, key: &str, now: Instant) -> Result<(), Duration> {
        let mut map = self.failures.lock().expect("rate limiter lock");
        let Some(q) = map.get_mut(key) else {
            return Ok(());
        };
        while q
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.limit.window)
        {
            q.pop_front();
        }
        if q.len() >= self.limit.failures {
            let oldest = *q.front().expect("non-empty");
            return Err(self.limit.window.saturating_sub(now.duration_since(oldest)));
        }
        Ok(())
    }

    /// Records a failed attempt for `key`.
    pub fn fail(&self, key: &str, now: Instant) {
        let mut map = self.failures.lock().expect("rate limiter lock");
        let q = map.entry(key.to_string()).or_default();
        q.push_back(now);
        // Bound memory per key: older entries cannot matter any more.
        while q.len() > self.limit.failures {
            q.pop_front();
        }
    }

    /// Forgets `key`'s failures (after a successful login).
    pub fn clear(&self, key: &str) {
        self.failures.lock().expect("rate limiter lock").remove(key);
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn budget_is_spent_then_refilled_by_time() {
        let rl = RateLimiter::new(Limit {
            failures: 3,
            window: Duration::from_secs(60),
        });
        let t0 = Instant::now();
        for i in 0..3 {
            assert!(rl.check("alice", t0 + Duration::from_secs(i)).is_ok());
            rl.fail("alice", t0 + Duration::from_secs(i));
        }
        let wait = rl.check("alice", t0 + Duration::from_secs(10)).unwrap_err();
        assert_eq!(wait, Duration::from_secs(50));
        assert!(rl.check("bob", t0).is_ok(), "other keys are unaffected");
        assert!(rl.check("alice", t0 + Duration::from_secs(61)).is_ok());
        rl.clear("alice");
        assert!(rl.check("alice", t0 + Duration::from_secs(11)).is_ok());
    }

    #[test]
    fn concurrent_failures_never_exceed_the_budget() {
        let rl = std::sync::Arc::new(RateLimiter::new(Limit {
            failures: 5,
            window: Duration::from_secs(60),
        }));
        let now = Instant::now();
        let allowed: usize = std::thread::scope(|s| {
            let hs: Vec<_> = (0..64)
                .map(|_| {
                    let rl = rl.clone();
                    s.spawn(move || {
                        // check-and-fail must be one step for the budget to hold
                        rl.try_attempt("k", now).is_ok() as usize
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).sum()
        });
        assert_eq!(allowed, 5);
    }
}

impl RateLimiter {
    /// Gives back the newest counted attempt of `key`: a successful login
    /// must not spend its address's budget (an office behind one NAT
    /// address signs in many people).
    pub fn refund(&self, key: &str) {
        if let Some(q) = self
            .failures
            .lock()
            .expect("rate limiter lock")
            .get_mut(key)
        {
            q.pop_back();
        }
    }

    /// Checks and, when allowed, counts the attempt as a failure in one
    /// step, so concurrent attempts cannot overspend the budget; call
    /// [`RateLimiter::clear`] when the attempt succeeds.
    pub fn try_attempt(&self, key: &str, now: Instant) -> Result<(), Duration> {
        let mut map = self.failures.lock().expect("rate limiter lock");
        let q = map.entry(key.to_string()).or_default();
        while q
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.limit.window)
        {
            q.pop_front();
        }
        if q.len() >= self.limit.failures {
            let oldest = *q.front().expect("non-empty");
            return Err(self.limit.window.saturating_sub(now.duration_since(oldest)));
        }
        q.push_back(now);
        Ok(())
    }
}
