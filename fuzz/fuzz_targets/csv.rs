#![no_main]
//! CSV importer: any bytes (encoding detection included), as households
//! and as people.
#[path = "common.rs"]
mod common;
use libfuzzer_sys::fuzz_target;
use wangge::domain::Layer;

fuzz_target!(|data: &[u8]| {
    common::import(data, "csv", Some(Layer::Households));
    common::import(data, "csv", Some(Layer::People));
});
