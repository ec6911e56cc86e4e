//! Coordinate reference systems an import may state, and their conversion to
//! WGS-84. (Placeholder signatures; the conversions land with their tests.)

use std::fmt;
use std::str::FromStr;

use geo_types::Coord;

/// The CRS an import states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Crs {
    /// EPSG:4326.
    Wgs84,
    /// EPSG:4490, treated as equal to WGS-84 at this accuracy.
    Cgcs2000,
    /// China's obfuscated "Mars" coordinates (Amap, Tencent).
    Gcj02,
    /// Baidu's coordinates, GCJ-02 shifted again.
    Bd09,
}

/// An unknown CRS name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown CRS {0:?}: use wgs84, cgcs2000, gcj02 or bd09")]
pub struct UnknownCrs(pub String);

impl FromStr for Crs {
    type Err = UnknownCrs;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().replace(['-', '_', ':'], "").as_str() {
            "wgs84" | "epsg4326" | "4326" => Ok(Self::Wgs84),
            "cgcs2000" | "epsg4490" | "4490" => Ok(Self::Cgcs2000),
            "gcj02" => Ok(Self::Gcj02),
            "bd09" | "bd09ll" => Ok(Self::Bd09),
            _ => Err(UnknownCrs(s.to_string())),
        }
    }
}

impl fmt::Display for Crs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Wgs84 => "wgs84",
            Self::Cgcs2000 => "cgcs2000",
            Self::Gcj02 => "gcj02",
            Self::Bd09 => "bd09",
        })
    }
}

impl Crs {
    /// Converts one lon/lat coordinate in this CRS to WGS-84.
    pub fn to_wgs84(self, c: Coord<f64>) -> Coord<f64> {
        c
    }
}
