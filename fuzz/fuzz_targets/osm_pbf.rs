#![no_main]
//! OSM PBF importer: any bytes.
#[path = "common.rs"]
mod common;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    common::import(data, "osm.pbf", None);
});
