//! Geometry on the wire: PostGIS' binary form of `geometry` is EWKB, ISO
//! WKB with an SRID flag and the SRID after the top-level type. We reuse the
//! GeoPackage store's tested WKB codec ([`crate::store::gpkg::blob`]) and
//! only add or strip that SRID, so no WKB crate is needed.

use std::error::Error;

use bytes::BytesMut;
use geo_types::Geometry;
use tokio_postgres::types::{to_sql_checked, FromSql, IsNull, ToSql, Type};

use crate::store::gpkg::blob::{self, BlobError};

/// The SRID of every geometry column: WGS 84 longitude/latitude.
pub const SRID: u32 = 4326;
const SRID_FLAG: u32 = 0x2000_0000;
const Z_FLAG: u32 = 0x8000_0000;
const M_FLAG: u32 = 0x4000_0000;

/// A geometry encoded as EWKB with SRID 4326, bound to `geometry` parameters.
#[derive(Debug, Clone)]
pub struct Ewkb(pub Vec<u8>);

/// Encodes `g` as little-endian EWKB with SRID 4326.
pub fn encode(g: &Geometry<f64>) -> Ewkb {
    let wkb = blob::wkb(g);
    let mut out = Vec::with_capacity(wkb.len() + 4);
    out.push(wkb[0]);
    let t = u32::from_le_bytes(wkb[1..5].try_into().expect("4 bytes")) | SRID_FLAG;
    out.extend_from_slice(&t.to_le_bytes());
    out.extend_from_slice(&SRID.to_le_bytes());
    out.extend_from_slice(&wkb[5..]);
    Ewkb(out)
}

/// Decodes EWKB (or plain WKB) as PostGIS sends it; Z and M are refused
/// (the store never writes them).
pub fn decode(raw: &[u8]) -> Result<Geometry<f64>, BlobError> {
    if raw.len() < 5 {
        return Err(BlobError("truncated EWKB".into()));
    }
    let le = match raw[0] {
        0 => false,
        1 => true,
        b => return Err(BlobError(format!("invalid byte order {b}"))),
    };
    let tb: [u8; 4] = raw[1..5].try_into().expect("4 bytes");
    let t = if le {
        u32::from_le_bytes(tb)
    } else {
        u32::from_be_bytes(tb)
    };
    if t & (Z_FLAG | M_FLAG) != 0 {
        return Err(BlobError("Z or M coordinates are not supported".into()));
    }
    if t & SRID_FLAG == 0 {
        return blob::decode_wkb(raw);
    }
    if raw.len() < 9 {
        return Err(BlobError("truncated EWKB SRID".into()));
    }
    let plain = t & !SRID_FLAG;
    let mut wkb = Vec::with_capacity(raw.len() - 4);
    wkb.push(raw[0]);
    wkb.extend_from_slice(&if le {
        plain.to_le_bytes()
    } else {
        plain.to_be_bytes()
    });
    wkb.extend_from_slice(&raw[9..]);
    blob::decode_wkb(&wkb)
}

fn is_geometry(ty: &Type) -> bool {
    ty.name() == "geometry"
}

impl ToSql for Ewkb {
    fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        out.extend_from_slice(&self.0);
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        is_geometry(ty)
    }

    to_sql_checked!();
}

/// A `geometry` value read back from PostGIS.
pub struct Geom(pub Geometry<f64>);

impl<'a> FromSql<'a> for Geom {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn Error + Sync + Send>> {
        decode(raw).map(Geom).map_err(|e| e.0.into())
    }

    fn accepts(ty: &Type) -> bool {
        is_geometry(ty)
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use geo_types::{point, polygon, MultiPolygon};

    #[test]
    fn ewkb_carries_srid_4326_and_round_trips() {
        let g = Geometry::MultiPolygon(MultiPolygon(vec![polygon![
            (x: 109.0, y: 32.6), (x: 109.1, y: 32.6), (x: 109.1, y: 32.7), (x: 109.0, y: 32.6)
        ]]));
        let e = encode(&g);
        assert_eq!(&e.0[1..5], &(6 | SRID_FLAG).to_le_bytes());
        assert_eq!(&e.0[5..9], &4326u32.to_le_bytes());
        assert_eq!(decode(&e.0).unwrap(), g);
        let p = Geometry::Point(point!(x: 113.54, y: 22.19));
        assert_eq!(decode(&encode(&p).0).unwrap(), p);
    }

    #[test]
    fn z_coordinates_and_truncated_input_are_refused() {
        // POINT Z with the SRID flag, as PostGIS would send a 3D point.
        let mut raw = vec![1];
        raw.extend_from_slice(&(1 | SRID_FLAG | Z_FLAG).to_le_bytes());
        raw.extend_from_slice(&4326u32.to_le_bytes());
        assert!(decode(&raw).is_err());
        assert!(decode(&[1, 1, 0]).is_err());
    }
}
