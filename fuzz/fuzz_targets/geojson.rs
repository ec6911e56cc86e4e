#![no_main]
//! GeoJSON importer: any bytes, as one layer and as a multi-layer file.
#[path = "common.rs"]
mod common;
use libfuzzer_sys::fuzz_target;
use wangge::domain::Layer;

fuzz_target!(|data: &[u8]| {
    common::import(data, "geojson", Some(Layer::Regions));
    common::import(data, "geojson", None);
});
