//! HTTP API (axum).
