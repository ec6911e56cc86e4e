//! End-to-end suites: the real `wangge` binary, real files, real HTTP.
//! Suites named `real_*` read `../shared/data/real/` (see its README).

// An end-to-end test is one user's journey read top to bottom (sign in,
// act, check every view); cutting it into helpers hides the story.
#![allow(clippy::too_many_lines)]

mod access;
mod anonymity;
mod at_rest;
mod audit;
mod changes;
mod common;
mod coverage;
mod crs_reference;
mod edits;
mod edits_durability;
mod edits_snap;
mod emergency;
mod estimate;
mod gis_clients;
mod ground;
mod hardening;
mod heavy;
mod http_api;
mod import;
mod incidents;
mod ledger;
mod ledger_history;
mod ledger_staff;
mod ogc;
mod ogc_plans;
mod openapi;
mod partition;
mod partition_guard;
mod plan_layers;
mod plans;
mod postgis;
mod real_data;
mod search;
mod sessions;
mod tiles;
mod tls;
mod upload;
mod volunteers;
