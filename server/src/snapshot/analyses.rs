//! Coverage analyses kept with the snapshot and followed write by write.
//!
//! Analysing a community afresh takes about 23 ms on the 349,028-household
//! city (households to grids, reach, land in no grid); a ledger write
//! changes one household or one person. So the snapshot keeps the analysis
//! of each region asked for (its whole subtree: a caller whose scope covers
//! it reads it through its own scope), and a household or person write
//! hands every kept analysis its edit, applied at the next read
//! ([`Analysis::update_household`], [`Analysis::update_person`]): the read
//! after a write costs the edit and a report, not an analysis.
//!
//! Each slot knows the snapshot generation it holds; edits are queued with
//! the generation they lead to. A reader applies the edits up to its own
//! snapshot and uses the slot only when it then holds exactly that
//! generation; a reader of an older snapshot analyses afresh. Anything
//! else that changes what coverage reads (a plan saved, grids, roads,
//! buildings, a reload, a bulk upload) starts the new snapshot with none
//! kept.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::coverage::Analysis;
use crate::domain::{Household, Person, Policy, RegionCode};

/// Which analysis: a region (with its subtree) and whether reach is also
/// measured along the walking network.
pub type Key = (RegionCode, bool);

/// Regions kept at most (a street office reads a handful).
const MAX_SLOTS: usize = 64;
/// Records in one write beyond which a fresh analysis is cheaper than
/// following (a bulk upload).
const MAX_FOLLOWED: usize = 2_000;
/// Writes queued for a region nobody reads before it is let go.
const MAX_PENDING: usize = 1_000;

/// One record written, as a kept analysis follows it.
#[derive(Debug, Clone)]
pub enum Edit {
    /// A household created or changed (`Some`), or deleted.
    Household(i64, Option<Household>),
    /// A person created or changed (`Some`), or deleted.
    Person(i64, Option<Person>),
}

/// The kept analyses of one snapshot; see the module doc.
#[derive(Default)]
pub struct Analyses {
    slots: Mutex<HashMap<Key, Arc<Slot>>>,
    /// Fresh analyses made for keeping, over this snapshot and those that
    /// followed it (for tests: a write must not cost one).
    made: Arc<AtomicU64>,
}

struct Slot {
    state: Mutex<State>,
    /// Edits not applied yet, with the generation each leads to. Apart
    /// from `state` so that a write never waits for a report.
    pending: Mutex<Vec<(u64, Arc<[Edit]>)>>,
}

struct State {
    generation: u64,
    policy: Policy,
    analysis: Analysis,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl std::fmt::Debug for Analyses {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Analyses")
            .field("kept", &lock(&self.slots).keys().collect::<Vec<_>>())
            .field("made", &self.made())
            .finish()
    }
}

impl Analyses {
    /// Runs `read` over the analysis of `key` as of snapshot `generation`:
    /// the kept one brought up to it, or else the one `make` returns (kept
    /// for later readers when `make` says so: not when it was cancelled).
    pub fn read<T>(
        &self,
        generation: u64,
        key: Key,
        policy: &Policy,
        make: impl FnOnce() -> (Analysis, bool),
        read: impl FnOnce(&Analysis) -> T,
    ) -> T {
        let slot = lock(&self.slots).get(&key).cloned();
        if let Some(slot) = slot {
            let mut state = lock(&slot.state);
            if state.policy == *policy {
                let due: Vec<(u64, Arc<[Edit]>)> = {
                    let mut pending = lock(&slot.pending);
                    let n = pending.iter().take_while(|(g, _)| *g <= generation).count();
                    pending.drain(..n).collect()
                };
                for (g, edits) in due {
                    for e in edits.iter() {
                        state.follow(key.0, e);
                    }
                    state.generation = g;
                }
                if state.generation == generation {
                    return read(&state.analysis);
                }
            }
        }
        let (mut analysis, keep) = make();
        let out = read(&analysis);
        if keep {
            analysis.keep();
            self.made.fetch_add(1, Ordering::Relaxed);
            let mut slots = lock(&self.slots);
            if slots.len() >= MAX_SLOTS {
                if let Some(k) = slots.keys().next().copied() {
                    slots.remove(&k);
                }
            }
            slots.entry(key).or_insert_with(|| {
                Arc::new(Slot {
                    state: Mutex::new(State {
                        generation,
                        policy: policy.clone(),
                        analysis,
                    }),
                    pending: Mutex::new(Vec::new()),
                })
            });
        }
        out
    }

    /// The kept analyses of the snapshot `generation` that `edits` make
    /// of this one.
    #[must_use]
    pub fn followed(&self, generation: u64, edits: Vec<Edit>) -> Self {
        let made = self.made.clone();
        if edits.len() > MAX_FOLLOWED {
            return Self {
                made,
                ..Self::default()
            };
        }
        let edits: Arc<[Edit]> = edits.into();
        let mut slots = lock(&self.slots).clone();
        slots.retain(|_, slot| {
            let mut pending = lock(&slot.pending);
            pending.push((generation, edits.clone()));
            pending.len() <= MAX_PENDING
        });
        Self {
            slots: Mutex::new(slots),
            made,
        }
    }

    /// None kept, counting on from this one (a new ground).
    #[must_use]
    pub fn dropped(&self) -> Self {
        Self {
            made: self.made.clone(),
            ..Self::default()
        }
    }

    /// Fresh analyses made for keeping, here and in the snapshots before.
    pub fn made(&self) -> u64 {
        self.made.load(Ordering::Relaxed)
    }
}

impl State {
    /// Applies one edit to the analysis of `code`'s subtree: a record
    /// that no longer belongs to it leaves.
    fn follow(&mut self, code: RegionCode, e: &Edit) {
        let within = crate::coverage::region::Within::subtree(code);
        match e {
            Edit::Household(id, new) => {
                let new = new.as_ref().filter(|h| within.household(h));
                self.analysis.update_household(*id, new);
            }
            Edit::Person(id, new) => match new.as_ref().filter(|p| within.person(p)) {
                Some(p) => {
                    self.analysis.update_person(p);
                }
                None => {
                    self.analysis.remove_person(*id);
                }
            },
        }
    }
}
