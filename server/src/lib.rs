//! wangge (网格): grid-based community governance for Chinese cities.
//!
//! Street offices and communities divide their territory into three nested
//! levels of grids, staff every grid and must show that every household is
//! covered. This crate holds the whole service: a pure core (domain,
//! spatial, partition, coverage, emergency, edit, access) with no I/O, and
//! the edges that talk to the world (store, io, api).
//!
//! # Layout
//!
//! - [`domain`]: the shared words: regions, atoms, plans, grids, households,
//!   people, layers, records, datasets, policy. Plain data, no I/O.
//! - [`spatial`]: CRS conversion (GCJ-02, BD-09 → WGS-84), the local metric
//!   projection, R-tree indexes, point-in-region placement and the walking
//!   network (coverage and emergency both walk it).
//! - [`partition`]: atoms, the atom graph, the nested grid solver and plan
//!   operations, one file each.
//! - [`coverage`]: gaps, staffing, reach, findings, roll-ups, suggestions.
//! - [`emergency`]: nearest reserve volunteers (its own index), hazard
//!   areas, dispatch.
//! - [`incident`]: emergency incidents kept from the first call to the
//!   close: areas redrawn as water rises, a timeline of who did what.
//! - [`cancel`]: the flag long computations check to stop early.
//! - [`edit`]: every plan edit (reassign, merge, move, split, re-solve,
//!   restore) named, checked, made and measured (figures, staffing).
//! - [`access`]: users, roles, region scopes, personal-field projection.
//! - [`sealing`]: personal fields encrypted at rest, the key and its
//!   sources, the phone blind index.
//! - [`store`]: the `Store` and `AccountStore` traits, their GeoPackage and
//!   PostGIS implementations, the audit archive.
//! - [`io`]: importers (GeoJSON, CSV/XLSX, OSM PBF) and exporters.
//! - [`snapshot`]: the immutable in-memory view every request reads, and
//!   the one home of evaluated plans (each version evaluated once).
//! - [`search`]: regions, grids and addresses by what people type.
//! - [`tiles`]: vector tiles rendered from the snapshot, cached with ETags.
//! - [`ogc`]: OGC API – Features documents over the snapshot.
//! - [`api`]: axum routers, problem documents, GeoJSON layers.
//! - [`cli`]: the `wangge` subcommands, one file each.

pub mod access;
pub mod api;
pub mod basemap;
pub mod cancel;
pub mod cli;
pub mod coverage;
pub mod domain;
pub mod edit;
pub mod emergency;
pub mod estimate;
pub mod generate;
pub mod incident;
pub mod io;
pub mod ledger;
pub mod ogc;
pub mod partition;
pub mod sealing;
pub mod search;
pub mod snapshot;
pub mod spatial;
pub mod store;
pub mod tiles;
