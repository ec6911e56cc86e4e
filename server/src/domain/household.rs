//! Households: the unit every grid is balanced on and every carer serves.

use geo_types::Point;
use serde::{Deserialize, Serialize};

use super::RegionCode;

pub type HouseholdId = i64;

/// Care level: an index into the policy's list of care levels. With the
/// default policy 0 = 放心户 (reassured), 1 = 关心户 (cared-for),
/// 2 = 连心户 (closely connected). Anything above 0 is "vulnerable".
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(transparent)]
pub struct CareLevel(pub u8);

impl CareLevel {
    pub const REASSURED: CareLevel = CareLevel(0);
    pub const CARED: CareLevel = CareLevel(1);
    pub const CONNECTED: CareLevel = CareLevel(2);

    pub fn is_vulnerable(self) -> bool {
        self.0 > 0
    }
}

/// Sensitive flags as bits, so a household stays small in the snapshot.
/// Personal data: never in tiles or anonymous answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SensitiveFlags(pub u16);

impl SensitiveFlags {
    pub const ELDERLY_ALONE: u16 = 1;
    pub const DISABILITY: u16 = 1 << 1;
    pub const CHRONIC_ILLNESS: u16 = 1 << 2;
    pub const LOW_INCOME: u16 = 1 << 3;
    pub const LEFT_BEHIND_CHILD: u16 = 1 << 4;
    pub const MOBILITY: u16 = 1 << 5;

    /// Flag names as they appear in imports and exports.
    pub const NAMES: [(&'static str, u16); 6] = [
        ("elderly_alone", Self::ELDERLY_ALONE),
        ("disability", Self::DISABILITY),
        ("chronic_illness", Self::CHRONIC_ILLNESS),
        ("low_income", Self::LOW_INCOME),
        ("left_behind_child", Self::LEFT_BEHIND_CHILD),
        ("mobility", Self::MOBILITY),
    ];

    /// Parses `"elderly_alone;disability"` (also `,` or `|`); unknown names are errors.
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut bits = 0;
        for part in s
            .split([';', ',', '|'])
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            let (_, b) = Self::NAMES
                .iter()
                .find(|(n, _)| *n == part)
                .ok_or_else(|| format!("unknown sensitive flag {part:?}"))?;
            bits |= b;
        }
        Ok(Self(bits))
    }

    pub fn names(self) -> Vec<&'static str> {
        Self::NAMES
            .iter()
            .filter(|(_, b)| self.0 & b != 0)
            .map(|(n, _)| *n)
            .collect()
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// A household at a point (its entrance or geocoded address).
#[derive(Debug, Clone, PartialEq)]
pub struct Household {
    pub id: HouseholdId,
    /// WGS-84 lon/lat.
    pub location: Point<f64>,
    /// People living in it.
    pub size: u8,
    pub care: CareLevel,
    pub flags: SensitiveFlags,
    /// The building it lives in, when known.
    pub building: Option<i64>,
    /// Exact address: personal data.
    pub address: String,
    /// Head of household's name: personal data.
    pub head_name: String,
    /// Phone: personal data.
    pub phone: String,
    /// The region it was placed in at import (see `spatial::placement`).
    pub region: Option<RegionCode>,
    /// True when the record was estimated (from floor area, census) rather
    /// than surveyed.
    pub estimated: bool,
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn flags_parse_and_name() {
        let f = SensitiveFlags::parse("elderly_alone; disability").unwrap();
        assert_eq!(f.names(), vec!["elderly_alone", "disability"]);
        assert!(SensitiveFlags::parse("lonely").is_err());
        assert!(SensitiveFlags::parse("").unwrap().is_empty());
    }
}
