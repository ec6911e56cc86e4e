//! Personal fields as both stores keep them: sealed text (see
//! [`crate::sealing`]) and the phone's blind index, one cell each. The
//! stores read and write these cells; only here do they become plain values.

use crate::domain::{Household, HouseholdId, Person, PersonId, SensitiveFlags};
use crate::sealing::{Column, SealError, Sealer};

use super::{Result, StoreError};

/// `wangge_meta` / the PostGIS meta table: the id of the key the store's
/// values are sealed with.
pub(crate) const KEY_ID: &str = "key_id";

/// The error of a store opened with another key than its own.
pub(crate) fn wrong_key(stored: &str, s: &Sealer) -> StoreError {
    StoreError::WrongKey {
        stored: stored.to_string(),
        given: s.key_id().to_string(),
    }
}

fn unsealed(column: Column, whose: &str, id: i64) -> impl FnOnce(SealError) -> StoreError + '_ {
    move |e| StoreError::Corrupt {
        what: format!("{} of {whose} {id}", column.as_str()),
        reason: e.to_string(),
    }
}

/// A household's personal cells as stored.
#[derive(Debug, Clone)]
pub(crate) struct HouseholdCells {
    pub head_name: String,
    pub phone: String,
    pub address: String,
    pub flags: String,
    pub phone_index: Option<String>,
}

/// A household's personal fields in the clear.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct HouseholdPlain {
    pub head_name: String,
    pub phone: String,
    pub address: String,
    pub flags: SensitiveFlags,
}

impl HouseholdPlain {
    pub fn of(h: &Household) -> Self {
        Self {
            head_name: h.head_name.clone(),
            phone: h.phone.clone(),
            address: h.address.clone(),
            flags: h.flags,
        }
    }

    pub fn seal(&self, s: &Sealer) -> HouseholdCells {
        HouseholdCells {
            head_name: s.seal(Column::HouseholdHeadName, &self.head_name),
            phone: s.seal(Column::HouseholdPhone, &self.phone),
            address: s.seal(Column::HouseholdAddress, &self.address),
            flags: s.seal_flags(self.flags.0),
            phone_index: s.phone_index(&self.phone),
        }
    }

    /// Puts the fields into `h`.
    pub fn fill(self, h: &mut Household) {
        h.head_name = self.head_name;
        h.phone = self.phone;
        h.address = self.address;
        h.flags = self.flags;
    }
}

impl HouseholdCells {
    pub fn of(s: &Sealer, h: &Household) -> Self {
        HouseholdPlain::of(h).seal(s)
    }

    pub fn open(&self, s: &Sealer, id: HouseholdId) -> Result<HouseholdPlain> {
        let w = "household";
        Ok(HouseholdPlain {
            head_name: s
                .open(Column::HouseholdHeadName, &self.head_name)
                .map_err(unsealed(Column::HouseholdHeadName, w, id))?,
            phone: s
                .open(Column::HouseholdPhone, &self.phone)
                .map_err(unsealed(Column::HouseholdPhone, w, id))?,
            address: s
                .open(Column::HouseholdAddress, &self.address)
                .map_err(unsealed(Column::HouseholdAddress, w, id))?,
            flags: SensitiveFlags(s.open_flags(&self.flags).map_err(unsealed(
                Column::HouseholdFlags,
                w,
                id,
            ))?),
        })
    }

    /// The cells of a store written before sealing: plain text, the flags
    /// as a number.
    pub fn plain(&self, id: HouseholdId) -> Result<HouseholdPlain> {
        let flags = self.flags.trim().parse().map_err(|_| StoreError::Corrupt {
            what: format!("households.flags of household {id}"),
            reason: format!("{:?} is not a number", self.flags),
        })?;
        Ok(HouseholdPlain {
            head_name: self.head_name.clone(),
            phone: self.phone.clone(),
            address: self.address.clone(),
            flags: SensitiveFlags(flags),
        })
    }

    /// The same fields sealed with `to`: opened with `from`, or read as
    /// plain text when `from` is `None` (an upgrade).
    pub fn reseal(&self, from: Option<&Sealer>, to: &Sealer, id: HouseholdId) -> Result<Self> {
        let plain = match from {
            Some(f) => self.open(f, id)?,
            None => self.plain(id)?,
        };
        Ok(plain.seal(to))
    }
}

/// A person's personal cells as stored.
#[derive(Debug, Clone)]
pub(crate) struct PersonCells {
    pub name: String,
    pub phone: String,
    pub phone_index: Option<String>,
}

impl PersonCells {
    pub fn of(s: &Sealer, p: &Person) -> Self {
        Self::seal(s, &p.name, &p.phone)
    }

    fn seal(s: &Sealer, name: &str, phone: &str) -> Self {
        Self {
            name: s.seal(Column::PersonName, name),
            phone: s.seal(Column::PersonPhone, phone),
            phone_index: s.phone_index(phone),
        }
    }

    /// (name, phone) in the clear.
    pub fn open(&self, s: &Sealer, id: PersonId) -> Result<(String, String)> {
        Ok((
            s.open(Column::PersonName, &self.name).map_err(unsealed(
                Column::PersonName,
                "person",
                id,
            ))?,
            s.open(Column::PersonPhone, &self.phone).map_err(unsealed(
                Column::PersonPhone,
                "person",
                id,
            ))?,
        ))
    }

    /// See [`HouseholdCells::reseal`].
    pub fn reseal(&self, from: Option<&Sealer>, to: &Sealer, id: PersonId) -> Result<Self> {
        let (name, phone) = match from {
            Some(f) => self.open(f, id)?,
            None => (self.name.clone(), self.phone.clone()),
        };
        Ok(Self::seal(to, &name, &phone))
    }
}

/// Opens every household's and person's cells, on all cores: a city's
/// load opens a few million values.
pub(crate) fn open_all(
    s: &Sealer,
    households: &mut [(Household, HouseholdCells)],
    people: &mut [(Person, PersonCells)],
) -> Result<()> {
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let chunk = |n: usize| n.div_ceil(threads).max(1024);
    std::thread::scope(|scope| {
        let mut jobs = vec![];
        for part in households.chunks_mut(chunk(households.len())) {
            jobs.push(scope.spawn(move || {
                for (h, c) in part.iter_mut() {
                    c.open(s, h.id)?.fill(h);
                }
                Ok(())
            }));
        }
        for part in people.chunks_mut(chunk(people.len())) {
            jobs.push(scope.spawn(move || {
                for (p, c) in part.iter_mut() {
                    (p.name, p.phone) = c.open(s, p.id)?;
                }
                Ok(())
            }));
        }
        jobs.into_iter()
            .try_for_each(|j| j.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
    })
}

/// The households whose phone has the digits of `phone`: a blind index
/// of 128 bits does not collide in practice, but a lookup should say only
/// what it checked.
pub(crate) fn same_phone(hs: impl Iterator<Item = Household>, phone: &str) -> Vec<Household> {
    let want = crate::sealing::normalise_phone(phone);
    hs.filter(|h| crate::sealing::normalise_phone(&h.phone) == want)
        .collect()
}
