//! Regions and their 12-digit statistical division codes (统计用区划代码).

use std::fmt;
use std::str::FromStr;

use geo_types::MultiPolygon;
use serde::{Deserialize, Serialize};

/// A 12-digit statistical division code: 6 digits of county (GB/T 2260),
/// 3 of street/township, 3 of community/village. Shorter GB/T 2260 codes
/// (2, 4 or 6 digits, e.g. a province or city) are padded with zeros.
///
/// Stored as the number it spells so that prefixes compare cheaply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RegionCode(u64);

/// Why a string is not a region code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegionCodeError {
    #[error("region code {0:?} must be digits only")]
    NotDigits(String),
    #[error("region code {0:?} must have 2, 4, 6, 9 or 12 digits")]
    BadLength(String),
}

impl RegionCode {
    /// The code as a 12-digit number.
    pub fn as_u64(self) -> u64 {
        self.0
    }

    /// Builds a code from a 12-digit number; `None` when it has more digits.
    pub fn from_u64(n: u64) -> Option<Self> {
        (n < 1_000_000_000_000).then_some(Self(n))
    }

    /// The digits that are significant (trailing zero groups of the 2+2+2+3+3
    /// structure removed): `"610902"` for a county, `"610902001"` for a street.
    pub fn significant(self) -> String {
        let s = self.to_string();
        for len in [2, 4, 6, 9] {
            if s[len..].bytes().all(|b| b == b'0') {
                return s[..len].to_string();
            }
        }
        s
    }

    /// True when `self` lies inside the area named by `prefix`, a string of
    /// leading digits (`"6109"`, `"610902001"`). The empty prefix is everything.
    pub fn has_prefix(self, prefix: &str) -> bool {
        self.to_string().starts_with(prefix)
    }
}

impl fmt::Display for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:012}", self.0)
    }
}

impl FromStr for RegionCode {
    type Err = RegionCodeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(RegionCodeError::NotDigits(s.to_string()));
        }
        if ![2, 4, 6, 9, 12].contains(&t.len()) {
            return Err(RegionCodeError::BadLength(s.to_string()));
        }
        let padded = format!("{t:0<12}");
        Ok(Self(padded.parse().expect("12 ascii digits fit in u64")))
    }
}

impl TryFrom<String> for RegionCode {
    type Error = RegionCodeError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<RegionCode> for String {
    fn from(c: RegionCode) -> Self {
        c.to_string()
    }
}

/// The area being gridded: a province, city, district, street or community.
#[derive(Debug, Clone, PartialEq)]
pub struct Region {
    pub code: RegionCode,
    pub name: String,
    /// The parent region's code when known (a community's street).
    pub parent: Option<RegionCode>,
    /// Boundary in WGS-84; holes and several parts allowed.
    pub boundary: MultiPolygon<f64>,
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn short_codes_are_padded_and_keep_their_prefix() {
        let c: RegionCode = "610902".parse().unwrap();
        assert_eq!(c.to_string(), "610902000000");
        assert_eq!(c.significant(), "610902");
        assert!(c.has_prefix("6109"));
        assert!(!c.has_prefix("6209"));
        let street: RegionCode = "610902001".parse().unwrap();
        assert_eq!(street.significant(), "610902001");
    }

    #[test]
    fn bad_codes_say_why() {
        assert!(matches!(
            "61090x".parse::<RegionCode>(),
            Err(RegionCodeError::NotDigits(_))
        ));
        assert!(matches!(
            "6109021".parse::<RegionCode>(),
            Err(RegionCodeError::BadLength(_))
        ));
        assert!(matches!(
            "".parse::<RegionCode>(),
            Err(RegionCodeError::NotDigits(_))
        ));
    }

    #[test]
    fn serde_round_trips_as_string() {
        let c: RegionCode = "820001".parse().unwrap();
        let j = serde_json::to_string(&c).unwrap();
        assert_eq!(j, "\"820001000000\"");
        assert_eq!(serde_json::from_str::<RegionCode>(&j).unwrap(), c);
    }
}

/// Each region's parent: the one it names when that is known, else the
/// known region whose code is its longest prefix (community 310101001001
/// under street 310101001). Figures roll up along these links.
pub fn parents(regions: &[Region]) -> std::collections::HashMap<RegionCode, RegionCode> {
    let known: std::collections::HashSet<RegionCode> = regions.iter().map(|r| r.code).collect();
    regions
        .iter()
        .filter_map(|r| {
            let p = r.parent.filter(|p| known.contains(p)).or_else(|| {
                let sig = r.code.significant();
                [9, 6, 4, 2]
                    .into_iter()
                    .filter(|&n| n < sig.len())
                    .filter_map(|n| sig[..n].parse::<RegionCode>().ok())
                    .find(|c| known.contains(c))
            })?;
            (p != r.code).then_some((r.code, p))
        })
        .collect()
}
