#![no_main]
//! XLSX importer: any bytes (a zip of sheets, shared strings, styles), as
//! households and as people.
#[path = "common.rs"]
mod common;
use libfuzzer_sys::fuzz_target;
use wangge::domain::Layer;

fuzz_target!(|data: &[u8]| {
    common::import(data, "xlsx", Some(Layer::Households));
    common::import(data, "xlsx", Some(Layer::People));
});
