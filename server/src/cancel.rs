//! Cooperative cancellation of long computations.
//!
//! A [`Cancel`] is a shared flag, nothing more: whoever runs the work (the
//! heavy pool of the server, when a deadline passes or the client goes
//! away) sets it, and the core loops (min-cost flow, area reports, coverage
//! analysis) look at it now and then and stop with [`Cancelled`]. It does
//! no I/O and reads no clock, so the algorithms stay pure and testable.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A flag shared by the work and whoever may stop it. Cheap to clone and
/// to check (one relaxed atomic load).
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

/// The work was stopped before it finished; its partial result is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the work was cancelled (deadline passed or the client went away)")]
pub struct Cancelled;

impl Cancel {
    /// A token nobody cancels (the command line, tests).
    pub fn never() -> Self {
        Self::default()
    }

    /// Asks the work to stop; it does at its next check.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// `Err(Cancelled)` once cancelled: `cancel.check()?` in a loop.
    pub fn check(&self) -> Result<(), Cancelled> {
        if self.is_cancelled() {
            Err(Cancelled)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_the_flag() {
        let a = Cancel::never();
        let b = a.clone();
        assert_eq!(b.check(), Ok(()));
        a.cancel();
        assert!(b.is_cancelled());
        assert_eq!(b.check(), Err(Cancelled));
    }
}
