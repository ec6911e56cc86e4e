#![no_main]
//! GeoPackage geometry blobs (the `GP` header, then ISO WKB), as a file
//! written by another tool (QGIS, GDAL) holds them: any bytes as a whole
//! blob, and any bytes as WKB behind a valid header, so that the fuzzer
//! reaches the WKB reader at once. A decoded geometry encodes again and
//! decodes to a geometry of the same kind.
use libfuzzer_sys::fuzz_target;
use wangge::store::gpkg::blob;

/// A little-endian header, SRS 4326, no envelope.
const HEADER: [u8; 8] = [b'G', b'P', 0, 0b0000_0001, 0xE6, 0x10, 0, 0];

fuzz_target!(|data: &[u8]| {
    let _ = blob::decode(data);
    let mut b = HEADER.to_vec();
    b.extend_from_slice(data);
    if let Ok(g) = blob::decode(&b) {
        let again = blob::decode(&blob::encode(&g)).expect("our own blob decodes");
        assert_eq!(
            std::mem::discriminant(&again),
            std::mem::discriminant(&g),
            "re-encoding keeps the geometry's kind"
        );
    }
});
