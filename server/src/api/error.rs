//! The API's one error type, mapped once to RFC 9457 problem documents.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::store::StoreError;

/// Seconds a client is told to wait when the store is unreachable.
pub const STORE_RETRY_SECS: u64 = 5;

/// Everything a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Missing, or outside the caller's scope: the two look the same so that
    /// existence is not disclosed.
    #[error("{0}")]
    NotFound(String),
    /// No route answers this path (under `/api`, `/ogc` or `/tiles`): 404
    /// with `code: no_route`, so a client that guessed a URL (GDAL asks
    /// for `/tiles/{source}/metadata.json`) gets a problem, never the
    /// viewer's page.
    #[error("{0}")]
    NoRoute(String),
    #[error("{0}")]
    BadRequest(String),
    /// Not signed in, or the credentials are bad, expired or revoked.
    #[error("{0}")]
    Unauthorized(String),
    /// Signed in, but the role may not do this (or a CSRF token is missing).
    #[error("{0}")]
    Forbidden(String),
    /// The caller's role sees households and people only as counts
    /// (`viewer`, a public map): 403 with `code: counts_only`.
    #[error("{0}")]
    CountsOnly(String),
    /// The client accepts no format the route serves (`Accept`).
    #[error("{0}")]
    NotAcceptable(String),
    /// Too many failed logins; retry after this many seconds.
    #[error("too many failed logins: try again in {0} s")]
    TooManyAttempts(u64),
    /// Well-formed but refused by a rule (an edit that would break the
    /// plan); `extra` adds members to the problem document (the rule, the
    /// offending geometry).
    #[error("{detail}")]
    Refused {
        detail: String,
        extra: serde_json::Value,
    },
    /// `If-Match` names a version that is no longer current; `extra` says
    /// what changed since.
    #[error("{detail}")]
    Stale {
        detail: String,
        extra: serde_json::Value,
    },
    /// The records are not in the state the request needs (a dispatch of
    /// volunteers no longer on duty): 409; `extra` holds a `code` and what
    /// is in the way.
    #[error("{detail}")]
    Conflict {
        detail: String,
        extra: serde_json::Value,
    },
    /// A write that must name the version it builds on did not.
    #[error("{0}")]
    PreconditionRequired(String),
    /// Asks for more than a limit of [`super::limits`] allows: 413 or 422
    /// with `limit`, `max` and `got` in the problem document.
    #[error("{0}")]
    OverLimit(super::limits::OverLimit),
    /// The server will not do this work now: the heavy-work queue is full,
    /// or the work passed its deadline. 503 with `Retry-After` seconds.
    #[error("{detail}")]
    Busy { detail: String, retry_after: u64 },
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("internal: {0}")]
    Internal(String),
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            Self::NotFound(_) | Self::NoRoute(_) => StatusCode::NOT_FOUND,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) | Self::CountsOnly(_) => StatusCode::FORBIDDEN,
            Self::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
            Self::TooManyAttempts(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Refused { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::Stale { .. } | Self::Store(StoreError::Stale { .. }) => {
                StatusCode::PRECONDITION_FAILED
            }
            Self::PreconditionRequired(_) => StatusCode::PRECONDITION_REQUIRED,
            Self::OverLimit(o) => {
                StatusCode::from_u16(o.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY)
            }
            Self::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Store(StoreError::NotFound { .. }) => StatusCode::NOT_FOUND,
            Self::Store(StoreError::Conflict(_)) => StatusCode::CONFLICT,
            Self::Store(StoreError::Unavailable { .. }) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Store(_) | Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The problem document's `code`: stable, so clients show the message
    /// in their own language instead of `detail`, which is English prose.
    /// A few messages of one variant get their own code (wrong credentials,
    /// a missing CSRF token, the role's refusal), matched on the fixed text
    /// the server writes for them.
    pub fn code(&self) -> &'static str {
        match self {
            // A plan collection's `?version=` naming no version in scope.
            Self::NotFound(d) if d.starts_with("plan version ") => "unknown_plan_version",
            Self::NotFound(_) => "not_found",
            Self::NoRoute(_) => "no_route",
            Self::BadRequest(_) => "bad_request",
            Self::Unauthorized(d) if d.contains("wrong name or password") => "wrong_credentials",
            Self::Unauthorized(d) if d.starts_with("sign in first") => "sign_in",
            Self::Unauthorized(_) => "session_ended",
            Self::Forbidden(d) if d.contains("X-CSRF-Token") => "csrf",
            Self::Forbidden(d) if d.starts_with("role ") => "role_forbidden",
            Self::Forbidden(d) if d.starts_with("outside your scope") => "out_of_scope",
            Self::Forbidden(_) => "forbidden",
            Self::CountsOnly(_) => "counts_only",
            Self::NotAcceptable(_) => "not_acceptable",
            Self::TooManyAttempts(_) => "too_many_attempts",
            Self::Refused { .. } => "refused",
            Self::Stale { .. } | Self::Store(StoreError::Stale { .. }) => "stale",
            Self::PreconditionRequired(_) => "precondition_required",
            Self::Conflict { .. } => "conflict",
            Self::OverLimit(_) => "over_limit",
            Self::Busy { .. } => "busy",
            Self::Store(StoreError::NotFound { .. }) => "not_found",
            Self::Store(StoreError::Conflict(_)) => "conflict",
            Self::Store(StoreError::Unavailable { .. }) => "store_unavailable",
            Self::Store(_) | Self::Internal(_) => "internal",
        }
    }
}

/// The `code` of a problem document made from a bare status (a route that
/// does not exist, a method not allowed, a timeout): see [`ApiError::code`].
pub fn status_code_name(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "bad_request",
        401 => "session_ended",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        406 => "not_acceptable",
        408 => "timeout",
        409 => "conflict",
        412 => "stale",
        413 => "over_limit",
        415 => "unsupported_media_type",
        422 => "refused",
        428 => "precondition_required",
        429 => "too_many_attempts",
        503 => "busy",
        s if s >= 500 => "internal",
        _ => "error",
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        // Internal causes go to the log, never to the client.
        let store_down = matches!(&self, Self::Store(StoreError::Unavailable { .. }));
        let detail = if let Self::Busy { detail, .. } = &self {
            detail.clone()
        } else if store_down {
            tracing::error!(error = %self, "request failed: the store is unreachable");
            format!("the store is unreachable; try again in {STORE_RETRY_SECS} s")
        } else if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
            "internal error; the server log has the cause".to_string()
        } else {
            self.to_string()
        };
        let mut body = json!({
            "type": "about:blank",
            "title": status.canonical_reason().unwrap_or("error"),
            "status": status.as_u16(),
            "detail": detail,
            "code": self.code(),
        });
        let extra = match &self {
            Self::Refused { extra, .. }
            | Self::Stale { extra, .. }
            | Self::Conflict { extra, .. } => Some(extra.clone()),
            Self::OverLimit(o) => Some(o.members()),
            _ => None,
        };
        if let (Some(serde_json::Value::Object(extra)), Some(b)) = (extra, body.as_object_mut()) {
            b.extend(extra);
        }
        let mut resp = (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body.to_string(),
        )
            .into_response();
        if let Self::TooManyAttempts(secs)
        | Self::Busy {
            retry_after: secs, ..
        } = self
        {
            resp.headers_mut().insert(header::RETRY_AFTER, secs.into());
        }
        if store_down {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, STORE_RETRY_SECS.into());
        }
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer realm=\"wangge\""),
            );
        }
        resp
    }
}

impl From<crate::cancel::Cancelled> for ApiError {
    /// Work stops only when its deadline passed or its client left; the
    /// latter never reads this.
    fn from(_: crate::cancel::Cancelled) -> Self {
        Self::Busy {
            detail: "the work was stopped: it passed its deadline".into(),
            retry_after: super::heavy::RETRY_AFTER_SECS,
        }
    }
}

/// Blocking work (a store read or write) run off the async workers, its
/// error mapped into the API's; a panic in it is an internal error.
pub async fn blocking<T, E, F>(work: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    E: Into<ApiError> + Send + 'static,
    F: FnOnce() -> Result<T, E> + Send + 'static,
{
    tokio::task::spawn_blocking(work).await?.map_err(Into::into)
}

/// Failures that are the server's own (a panicked task, a body or header
/// it could not write): 500, the cause in the log only.
macro_rules! internal_from {
    ($($t:ty),*) => {$(
        impl From<$t> for ApiError {
            fn from(e: $t) -> Self {
                Self::Internal(e.to_string())
            }
        }
    )*};
}

internal_from!(
    tokio::task::JoinError,
    serde_json::Error,
    axum::http::header::InvalidHeaderValue,
    std::io::Error,
    rust_xlsxwriter::XlsxError
);
