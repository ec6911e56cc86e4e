#![no_main]
//! Query parameters: the bbox parser and region codes.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let _ = wangge::api::parse_bbox(&s);
    let _ = s.parse::<wangge::domain::RegionCode>();
    let _ = s.parse::<wangge::spatial::crs::Crs>();
});
