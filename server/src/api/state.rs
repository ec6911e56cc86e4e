//! Shared state of the handlers: cheap to clone (two `Arc`s).

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::access::Scope;
use crate::snapshot::SnapshotCell;
use crate::store::Store;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub snapshot: Arc<SnapshotCell>,
}

/// The caller's region scope, extracted once per request so that every
/// handler passes it into the core. Until accounts exist (issue 4) the
/// caller sees everything.
#[derive(Debug, Clone)]
pub struct CallerScope(pub Scope);

impl<S: Send + Sync> FromRequestParts<S> for CallerScope {
    type Rejection = super::ApiError;

    async fn from_request_parts(_parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(Scope::all()))
    }
}
