//! The immutable in-memory snapshot every request reads.
