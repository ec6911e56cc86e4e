//! End-to-end suites: the real `wangge` binary, real files, real HTTP.
//! Suites named `real_*` read `../shared/data/real/` (see its README).

mod common;
