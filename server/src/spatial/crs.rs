//! Coordinate reference systems an import may state, and their conversion to
//! WGS-84.
//!
//! GCJ-02 is China's legally mandated obfuscation of WGS-84 (used by Amap and
//! Tencent); BD-09 is Baidu's further shift of GCJ-02. The forward formulas
//! are the published ones (the same constants and terms as the `gcoord` and
//! `prcoords` libraries, which the tests compare against); there is no closed
//! inverse, so the inverse is iterated until the forward image of the answer
//! is within 1e-9° of the input (well below the 1e-7° promised).
//! Outside China's bounding box nothing is shifted, as in those libraries.

use std::f64::consts::PI;
use std::fmt;
use std::str::FromStr;

use geo_types::Coord;

/// The CRS an import states.
///
/// # Examples
///
/// A point read off Amap (GCJ-02) converted to WGS-84 and back:
///
/// ```
/// use geo_types::Coord;
/// use wangge::spatial::crs::Crs;
///
/// let gcj02: Crs = "gcj02".parse()?;
/// let amap = Coord { x: 116.397_428, y: 39.909_23 }; // Tiananmen on Amap
/// let wgs84 = gcj02.to_wgs84(amap);
/// // In Beijing the shift is several hundred metres (about 0.006° east-west)...
/// assert!((amap.x - wgs84.x).abs() > 0.005);
/// // ...and the inverse undoes it to well below 1e-7°.
/// let back = gcj02.from_wgs84(wgs84);
/// assert!((back.x - amap.x).abs() < 1e-7 && (back.y - amap.y).abs() < 1e-7);
/// // Outside China nothing moves, as in the reference libraries.
/// let paris = Coord { x: 2.35, y: 48.85 };
/// assert_eq!(gcj02.to_wgs84(paris), paris);
/// # Ok::<(), wangge::spatial::crs::UnknownCrs>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Crs {
    /// EPSG:4326.
    Wgs84,
    /// EPSG:4490; equal to WGS-84 within centimetres, so taken as it is.
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
        match s
            .trim()
            .to_ascii_lowercase()
            .replace(['-', '_', ':'], "")
            .as_str()
        {
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
    #[must_use]
    pub fn to_wgs84(self, c: Coord<f64>) -> Coord<f64> {
        match self {
            Self::Wgs84 | Self::Cgcs2000 => c,
            Self::Gcj02 => gcj02_to_wgs84(c),
            Self::Bd09 => bd09_to_wgs84(c),
        }
    }

    /// Converts one WGS-84 lon/lat coordinate into this CRS (for exports).
    #[must_use]
    pub fn from_wgs84(self, c: Coord<f64>) -> Coord<f64> {
        match self {
            Self::Wgs84 | Self::Cgcs2000 => c,
            Self::Gcj02 => wgs84_to_gcj02(c),
            Self::Bd09 => wgs84_to_bd09(c),
        }
    }
}

/// Krasovsky 1940 semi-major axis and eccentricity squared, as published.
const KRASOVSKY_A: f64 = 6_378_245.0;
const KRASOVSKY_EE: f64 = 0.006_693_421_622_965_943;
const BD_X_PI: f64 = PI * 3000.0 / 180.0;

/// China's bounding box as the reference libraries define it.
#[must_use]
pub fn in_china_bbox(c: Coord<f64>) -> bool {
    (72.004..=137.8347).contains(&c.x) && (0.8293..=55.8271).contains(&c.y)
}

fn transform_lat(x: f64, y: f64) -> f64 {
    let mut ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    ret += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    ret += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    ret += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    ret
}

fn transform_lon(x: f64, y: f64) -> f64 {
    let mut ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    ret += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    ret += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    ret += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    ret
}

/// WGS-84 → GCJ-02, the published forward formula.
#[must_use]
pub fn wgs84_to_gcj02(c: Coord<f64>) -> Coord<f64> {
    if !in_china_bbox(c) {
        return c;
    }
    let (lon, lat) = (c.x, c.y);
    let d_lat = transform_lat(lon - 105.0, lat - 35.0);
    let d_lon = transform_lon(lon - 105.0, lat - 35.0);
    let rad_lat = lat / 180.0 * PI;
    let magic = 1.0 - KRASOVSKY_EE * rad_lat.sin() * rad_lat.sin();
    let sqrt_magic = magic.sqrt();
    let d_lat =
        (d_lat * 180.0) / ((KRASOVSKY_A * (1.0 - KRASOVSKY_EE)) / (magic * sqrt_magic) * PI);
    let d_lon = (d_lon * 180.0) / (KRASOVSKY_A / sqrt_magic * rad_lat.cos() * PI);
    Coord {
        x: lon + d_lon,
        y: lat + d_lat,
    }
}

/// GCJ-02 → BD-09, the published forward formula.
#[must_use]
pub fn gcj02_to_bd09(c: Coord<f64>) -> Coord<f64> {
    let (x, y) = (c.x, c.y);
    let z = (x * x + y * y).sqrt() + 0.000_02 * (y * BD_X_PI).sin();
    let theta = y.atan2(x) + 0.000_003 * (x * BD_X_PI).cos();
    Coord {
        x: z * theta.cos() + 0.0065,
        y: z * theta.sin() + 0.006,
    }
}

/// BD-09 → GCJ-02, the published approximate inverse (what Baidu's SDK and
/// the reference libraries use as the forward BD-09 → GCJ-02 conversion).
#[must_use]
pub fn bd09_to_gcj02_published(c: Coord<f64>) -> Coord<f64> {
    let (x, y) = (c.x - 0.0065, c.y - 0.006);
    let z = (x * x + y * y).sqrt() - 0.000_02 * (y * BD_X_PI).sin();
    let theta = y.atan2(x) - 0.000_003 * (x * BD_X_PI).cos();
    Coord {
        x: z * theta.cos(),
        y: z * theta.sin(),
    }
}

/// WGS-84 → BD-09.
#[must_use]
pub fn wgs84_to_bd09(c: Coord<f64>) -> Coord<f64> {
    if !in_china_bbox(c) {
        return c;
    }
    gcj02_to_bd09(wgs84_to_gcj02(c))
}

/// Inverts `forward` near `target` by fixed-point iteration: the shifts are
/// smooth and small (< 1 km), so each step gains several digits.
fn invert(target: Coord<f64>, forward: impl Fn(Coord<f64>) -> Coord<f64>) -> Coord<f64> {
    let mut guess = target;
    for _ in 0..30 {
        let image = forward(guess);
        let (dx, dy) = (image.x - target.x, image.y - target.y);
        guess = Coord {
            x: guess.x - dx,
            y: guess.y - dy,
        };
        if dx.abs() < 1e-11 && dy.abs() < 1e-11 {
            break;
        }
    }
    guess
}

/// GCJ-02 → WGS-84 by iterating the forward formula.
#[must_use]
pub fn gcj02_to_wgs84(c: Coord<f64>) -> Coord<f64> {
    if !in_china_bbox(c) {
        return c;
    }
    invert(c, wgs84_to_gcj02)
}

/// BD-09 → GCJ-02 by iterating the forward formula (more exact than the
/// published approximation, which is off by up to ~1e-6°).
#[must_use]
pub fn bd09_to_gcj02(c: Coord<f64>) -> Coord<f64> {
    invert(c, gcj02_to_bd09)
}

/// BD-09 → WGS-84.
#[must_use]
pub fn bd09_to_wgs84(c: Coord<f64>) -> Coord<f64> {
    if !in_china_bbox(c) {
        return c;
    }
    invert(c, wgs84_to_bd09)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: Coord<f64>, b: Coord<f64>, tol: f64) -> bool {
        (a.x - b.x).abs() <= tol && (a.y - b.y).abs() <= tol
    }

    #[test]
    fn parses_names_and_refuses_unknown() {
        assert_eq!("GCJ-02".parse::<Crs>(), Ok(Crs::Gcj02));
        assert_eq!("EPSG:4326".parse::<Crs>(), Ok(Crs::Wgs84));
        assert_eq!("bd09ll".parse::<Crs>(), Ok(Crs::Bd09));
        let e = "utm50n".parse::<Crs>().unwrap_err();
        assert!(e.to_string().contains("utm50n") && e.to_string().contains("gcj02"));
    }

    #[test]
    fn forward_shift_in_shanghai_is_a_few_hundred_metres() {
        // The Bund, WGS-84; Amap shows it about 0.0045° east and 0.002° south.
        let w = Coord {
            x: 121.490_317,
            y: 31.241_701,
        };
        let g = wgs84_to_gcj02(w);
        let (dx, dy) = (g.x - w.x, g.y - w.y);
        assert!((0.004..0.005).contains(&dx), "dx {dx}");
        assert!((-0.0025..-0.0015).contains(&dy), "dy {dy}");
    }

    #[test]
    fn inverses_round_trip_across_china() {
        for i in 0..400 {
            let c = Coord {
                x: 75.0 + f64::from(i % 20) * 3.0,
                y: 5.0 + f64::from(i / 20) * 2.5,
            };
            let g = wgs84_to_gcj02(c);
            assert!(close(gcj02_to_wgs84(g), c, 1e-9), "{c:?}");
            let b = wgs84_to_bd09(c);
            assert!(close(bd09_to_wgs84(b), c, 1e-9), "{c:?}");
            let gb = gcj02_to_bd09(c);
            assert!(close(bd09_to_gcj02(gb), c, 1e-9), "{c:?}");
        }
    }

    #[test]
    fn outside_china_nothing_moves() {
        for c in [
            Coord { x: 2.35, y: 48.85 },
            Coord { x: 139.7, y: 35.7 },
            Coord { x: 100.0, y: -1.0 },
        ] {
            assert_eq!(Crs::Gcj02.to_wgs84(c), c);
            assert_eq!(Crs::Bd09.to_wgs84(c), c);
            assert_eq!(Crs::Gcj02.from_wgs84(c), c);
        }
    }

    #[test]
    fn cgcs2000_is_taken_as_is() {
        let c = Coord { x: 116.4, y: 39.9 };
        assert_eq!(Crs::Cgcs2000.to_wgs84(c), c);
    }
}
