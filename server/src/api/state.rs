//! Shared state of the handlers (cheap to clone: `Arc`s), and the caller
//! extractors every handler takes.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::access::ratelimit::LoginThrottle;
use crate::access::{Caller, Scope};
use crate::snapshot::SnapshotCell;
use crate::store::AccountStore;
use crate::store::Store;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub accounts: Arc<dyn AccountStore>,
    /// Incidents, kept beside the layers (no snapshot holds them).
    pub incidents: Arc<dyn crate::store::IncidentStore>,
    pub snapshot: Arc<SnapshotCell>,
    /// Failed logins per account and address, and per address.
    pub logins: Arc<LoginThrottle>,
    /// What anonymous callers are (a public map: `viewer` over a scope), or
    /// `None`: they may call public routes only.
    pub anonymous: Option<Caller>,
    /// Cookies get `Secure` when served over TLS.
    pub secure_cookies: bool,
    /// Credentials recently found good (a cache of at most
    /// [`super::auth::AuthCache::TTL`]).
    pub auth_cache: Arc<super::auth::AuthCache>,
    /// Staffing ratios, radii and care levels for analyses.
    pub policy: Arc<crate::domain::Policy>,
    /// Plan jobs and evaluated plans.
    pub plans: Arc<super::plans::Plans>,
    /// Encoded vector tiles and the region grids they are cut from.
    pub tiles: Arc<crate::tiles::TileCache>,
    /// Where CPU-heavy requests run, with deadlines and queue limits.
    pub heavy: Arc<super::heavy::HeavyPool>,
    /// The batching audit writer, when the server runs one.
    pub audit_sink: Option<std::sync::mpsc::Sender<crate::access::account::AuditEntry>>,
    /// Household writes: their order into the snapshot.
    pub ledger: Arc<super::ledger::LedgerState>,
    /// Which changes of the store's log the snapshot holds; the change
    /// stream listens to it.
    pub follow: Arc<crate::snapshot::follow::Follow>,
    /// Upload jobs (their dry runs and reports), in memory.
    pub uploads: Arc<super::uploads::Uploads>,
}

impl AppState {
    /// The state of a server over `store`, serving `snapshot`: no public
    /// map, plain HTTP, audit lines written at once (no batching writer).
    /// `wangge serve` sets those fields after; tests and the in-process
    /// fuzz target use it as it is. The snapshot is taken to hold every
    /// change the store's log has now (`wangge serve` reads the log's
    /// last seq before loading instead, and sets `follow` from it).
    pub fn new(
        store: Arc<dyn crate::store::Backend>,
        snapshot: crate::snapshot::Snapshot,
        policy: Arc<crate::domain::Policy>,
        heavy: Arc<super::heavy::HeavyPool>,
    ) -> Self {
        let applied = store.last_seq().unwrap_or(0);
        Self {
            store: store.clone(),
            incidents: store.clone(),
            accounts: store,
            snapshot: Arc::new(SnapshotCell::new(snapshot)),
            logins: Arc::default(),
            anonymous: None,
            secure_cookies: false,
            auth_cache: Arc::default(),
            tiles: Arc::new(crate::tiles::TileCache::new(policy.clone())),
            policy,
            plans: Arc::default(),
            heavy,
            audit_sink: None,
            ledger: Arc::default(),
            follow: Arc::new(crate::snapshot::follow::Follow::new(applied)),
            uploads: Arc::default(),
        }
    }
}

/// The authenticated caller, put in the request by [`super::auth`] before
/// any handler runs. Handlers take it and pass it into the core.
#[derive(Debug, Clone)]
pub struct CallerOf(pub Caller);

impl<S: Send + Sync> FromRequestParts<S> for CallerOf {
    type Rejection = super::ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<super::auth::Authenticated>()
            .and_then(|a| a.caller.clone())
            .map(CallerOf)
            .ok_or(super::ApiError::Unauthorized("sign in first".into()))
    }
}

/// The caller's region scope alone, for handlers that touch no personal
/// field (regions, counts).
#[derive(Debug, Clone)]
pub struct CallerScope(pub Scope);

impl<S: Send + Sync> FromRequestParts<S> for CallerScope {
    type Rejection = super::ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        CallerOf::from_request_parts(parts, state)
            .await
            .map(|c| Self(c.0.scope))
    }
}
