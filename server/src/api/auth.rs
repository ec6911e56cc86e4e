//! Authentication and authorization, in front of every route.
//!
//! [`authenticate`] turns a bearer token or the session cookie into a
//! [`Caller`] (bad, expired or revoked credentials answer 401 and are
//! audited); each route then passes its rule from the route table through
//! [`authorize`], so a handler cannot run for a caller its rule excludes.
//! Cookie-authenticated writes must echo the session's CSRF token in
//! `X-CSRF-Token`.

use std::time::Instant;

use axum::extract::{ConnectInfo, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::{Access, ApiError, AppState, CallerOf};
use crate::access::account::{AuditEntry, Session, User};
use crate::access::secret::{new_secret, secret_digest, verify_password};
use crate::access::Caller;

/// The session cookie's name.
pub const COOKIE: &str = "wangge_session";
/// How long a login lasts.
pub const SESSION_HOURS: i64 = 12;

/// What [`authenticate`] found, in the request's extensions.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub caller: Option<Caller>,
    /// The session's CSRF token when the caller came by cookie.
    pub csrf: Option<String>,
    pub address: String,
}

/// RFC 3339 UTC now (plus `secs`).
pub fn timestamp(secs: i64) -> String {
    (OffsetDateTime::now_utc() + time::Duration::seconds(secs))
        .format(&Rfc3339)
        .expect("formats")
}

fn expired(at: &str) -> bool {
    OffsetDateTime::parse(at, &Rfc3339).map_or(true, |t| t <= OffsetDateTime::now_utc())
}

/// Appends to the audit log: through the server's batching writer when it
/// has one (reads of personal data, many a second), else at once. A
/// failure to audit is logged loudly, never silently dropped.
pub fn audit(st: &AppState, user: &str, action: &str, target: &str, from: &str, detail: &str) {
    let e = entry(user, action, target, from, detail);
    if let Some(sink) = &st.audit_sink {
        if let Err(std::sync::mpsc::SendError(e)) = sink.send(e) {
            write_now(st, &e);
        }
    } else {
        write_now(st, &e);
    }
}

/// An audit line stamped now, for a write that carries it into its own
/// transaction (or for [`audit`]).
pub fn entry(user: &str, action: &str, target: &str, from: &str, detail: &str) -> AuditEntry {
    AuditEntry {
        id: 0,
        at: timestamp(0),
        user: user.to_string(),
        action: action.to_string(),
        target: target.to_string(),
        from: from.to_string(),
        detail: detail.to_string(),
    }
}

fn write_now(st: &AppState, e: &AuditEntry) {
    if let Err(err) = st.accounts.audit(e) {
        tracing::error!(%err, action = e.action, user = e.user, "could not append to the audit log");
    }
}

fn cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| {
            kv.trim()
                .strip_prefix(&format!("{COOKIE}="))
                .map(str::to_string)
        })
}

fn address(req: &Request) -> String {
    req.extensions()
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map_or_else(|| "-".into(), |c| c.0.ip().to_string())
}

fn caller_of(u: &User) -> Caller {
    Caller::of_user(&u.name, u.role, &u.scope)
}

/// Resolves the caller of every request.
pub async fn authenticate(State(st): State<AppState>, mut req: Request, next: Next) -> Response {
    let from = address(&req);
    let (bearer, basic_user) = match token_of(req.headers()) {
        Ok(t) => t,
        Err(why) => {
            audit(&st, "-", "auth_failed", req.uri().path(), &from, &why);
            return challenge(
                ApiError::Unauthorized(why).into_response(),
                req.uri().path(),
            );
        }
    };
    // A store read may wait behind a write (an audit batch's commit): do
    // it off the async workers, so other requests keep flowing meanwhile.
    let lookup = |st: AppState, f: fn(&AppState, &str) -> Found, key: String, secret: String| async move {
        if let Some(hit) = st.auth_cache.get(&key) {
            return Ok(hit);
        }
        let st2 = st.clone();
        let found = tokio::task::spawn_blocking(move || f(&st2, &secret))
            .await
            .unwrap_or_else(|e| {
                Err(Denied::Store(crate::store::StoreError::Corrupt {
                    what: "authentication".into(),
                    reason: e.to_string(),
                }))
            });
        if let Ok(hit) = &found {
            st.auth_cache.put(&key, hit.clone());
        }
        found
    };
    let by_cookie = bearer.is_none();
    let found = match (bearer, cookie(req.headers())) {
        (Some(token), _) => {
            lookup(
                st.clone(),
                by_token,
                format!("t:{}", secret_digest(&token)),
                token,
            )
            .await
        }
        (None, Some(secret)) => {
            lookup(
                st.clone(),
                by_session,
                format!("s:{}", secret_digest(&secret)),
                secret,
            )
            .await
        }
        (None, None) => Ok((st.anonymous.clone(), None)),
    };
    // Basic names the user too: it must be the token's account.
    let found = match (found, basic_user) {
        (Ok((Some(c), _)), Some(user)) if c.name != user => Err(Denied::Bad(
            user,
            "the user name is not the API token's account".into(),
        )),
        (found, _) => found,
    };
    let found = match found {
        // A stale or planted cookie must never stand in the way of signing
        // in: the login goes ahead as anonymous and sets a fresh cookie.
        Err(Denied::Bad(..)) if by_cookie && req.uri().path() == "/api/login" => {
            Ok((st.anonymous.clone(), None))
        }
        other => other,
    };
    match found {
        Ok((caller, csrf)) => {
            req.extensions_mut().insert(Authenticated {
                caller,
                csrf,
                address: from,
            });
            next.run(req).await
        }
        Err(Denied::Store(e)) => ApiError::Store(e).into_response(),
        Err(Denied::Bad(who, why)) => {
            audit(&st, &who, "auth_failed", req.uri().path(), &from, &why);
            let mut resp = challenge(
                ApiError::Unauthorized(why).into_response(),
                req.uri().path(),
            );
            if by_cookie {
                // The browser cannot drop an HttpOnly cookie itself.
                resp.headers_mut()
                    .insert(header::SET_COOKIE, HeaderValue::from_static(CLEAR_COOKIE));
            }
            resp
        }
    }
}

/// The API token an `Authorization` header carries: `Bearer TOKEN`, or
/// `Basic base64(user:TOKEN)` for desktop GIS that can send only Basic
/// (QGIS 3.22's OGC API connections), then with the user it names. No
/// header: `(None, None)`; a Basic header that is not `user:token` in
/// base64 is refused with why.
fn token_of(headers: &HeaderMap) -> Result<(Option<String>, Option<String>), String> {
    use base64::Engine as _;
    let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Ok((None, None));
    };
    if let Some(t) = v.strip_prefix("Bearer ") {
        return Ok((Some(t.trim().to_string()), None));
    }
    let Some(b64) = v
        .strip_prefix("Basic ")
        .or_else(|| v.strip_prefix("basic "))
    else {
        return Ok((None, None));
    };
    let bad = || "malformed Basic credentials: base64 of user:token expected".to_string();
    let text = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(bad)?;
    let (user, token) = text.split_once(':').ok_or_else(bad)?;
    if token.is_empty() {
        return Err("Basic credentials need an API token as the password".into());
    }
    Ok((Some(token.to_string()), Some(user.to_string())))
}

/// A 401 under `/ogc` also offers Basic, which desktop GIS answer with a
/// user and password prompt (the token goes in as the password). Only
/// there: a browser would prompt for it on the viewer's own requests.
fn challenge(mut resp: Response, path: &str) -> Response {
    let ogc = path == "/ogc" || path.starts_with("/ogc/");
    if ogc && resp.status() == axum::http::StatusCode::UNAUTHORIZED {
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"wangge\", charset=\"UTF-8\""),
        );
    }
    resp
}

/// Why credentials did not resolve to a caller.
#[derive(Debug)]
enum Denied {
    /// Bad, expired or revoked: (who, why), audited, 401.
    Bad(String, String),
    /// The store could not be asked (503 when it is unreachable); not
    /// audited: nobody's credentials were found wrong.
    Store(crate::store::StoreError),
}

type Found = Result<(Option<Caller>, Option<String>), Denied>;

/// Set-Cookie that makes the browser forget the session cookie.
const CLEAR_COOKIE: &str = "wangge_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0";

/// Credentials recently found good, kept for [`AuthCache::TTL`] so that a
/// busy script does not cost two store reads a request. Revoking a token,
/// disabling a user or signing out therefore takes effect within that
/// time (sign-out also evicts its own session at once). Failures are never
/// cached: every one is checked and audited.
#[derive(Debug, Default)]
pub struct AuthCache(
    std::sync::Mutex<std::collections::HashMap<String, (Instant, Option<Caller>, Option<String>)>>,
);

impl AuthCache {
    pub const TTL: std::time::Duration = std::time::Duration::from_secs(2);

    fn get(&self, key: &str) -> Option<(Option<Caller>, Option<String>)> {
        let m = self.0.lock().expect("auth cache");
        let (at, c, csrf) = m.get(key)?;
        (at.elapsed() < Self::TTL).then(|| (c.clone(), csrf.clone()))
    }

    fn put(&self, key: &str, (c, csrf): (Option<Caller>, Option<String>)) {
        let mut m = self.0.lock().expect("auth cache");
        if m.len() > 10_000 {
            m.clear();
        }
        m.insert(key.to_string(), (Instant::now(), c, csrf));
    }

    /// Forgets one credential at once (sign-out).
    pub fn evict(&self, key: &str) {
        self.0.lock().expect("auth cache").remove(key);
    }
}

fn by_token(st: &AppState, token: &str) -> Found {
    let bad = |why: &str| Err(Denied::Bad("-".to_string(), why.to_string()));
    let Some(t) = st
        .accounts
        .token_by_digest(&secret_digest(token))
        .map_err(Denied::Store)?
    else {
        return bad("unknown API token");
    };
    if t.revoked {
        return bad("the API token was revoked");
    }
    if t.expires_at.as_deref().is_some_and(expired) {
        return bad("the API token has expired");
    }
    match st.accounts.user(t.user_id).map_err(Denied::Store)? {
        Some(u) if !u.disabled => Ok((Some(caller_of(&u)), None)),
        Some(u) => Err(Denied::Bad(u.name, "the account is disabled".into())),
        None => bad("the token's account is gone"),
    }
}

fn by_session(st: &AppState, secret: &str) -> Found {
    let bad = |why: &str| Err(Denied::Bad("-".to_string(), why.to_string()));
    let Some(s) = st
        .accounts
        .session(&secret_digest(secret))
        .map_err(Denied::Store)?
    else {
        return bad("the session is unknown or has ended: sign in again");
    };
    if expired(&s.expires_at) {
        return bad("the session has expired: sign in again");
    }
    match st.accounts.user(s.user_id).map_err(Denied::Store)? {
        Some(u) if !u.disabled => Ok((Some(caller_of(&u)), Some(s.csrf))),
        Some(u) => Err(Denied::Bad(u.name, "the account is disabled".into())),
        None => bad("the session's account is gone"),
    }
}

/// Applies one route's rule; see [`Access`].
pub async fn authorize(access: Access, req: Request, next: Next) -> Response {
    let auth = req.extensions().get::<Authenticated>().cloned();
    let caller = auth.as_ref().and_then(|a| a.caller.clone());
    let allowed = match (access, &caller) {
        (Access::Public, _) => Ok(()),
        (_, None) => Err(ApiError::Unauthorized(
            "sign in first (session cookie, Bearer token, or Basic with the token as password)"
                .into(),
        )),
        (Access::SignedIn, Some(_)) => Ok(()),
        (Access::Roles(roles), Some(c)) if roles.contains(&c.role) => Ok(()),
        (Access::Roles(roles), Some(c)) => Err(ApiError::Forbidden(format!(
            "role {} may not do this (allowed: {})",
            c.role.as_str(),
            roles
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    };
    if let Err(e) = allowed {
        return challenge(e.into_response(), req.uri().path());
    }
    // Writes with a session cookie must carry the session's CSRF token.
    let write = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if let (
        true,
        Some(Authenticated {
            csrf: Some(csrf), ..
        }),
    ) = (write, &auth)
    {
        let sent = req
            .headers()
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok());
        if sent != Some(csrf.as_str()) {
            return ApiError::Forbidden(
                "missing or wrong X-CSRF-Token header for a write with a session cookie".into(),
            )
            .into_response();
        }
    }
    next.run(req).await
}

#[derive(Deserialize)]
pub struct Login {
    name: String,
    password: String,
}

/// `POST /api/login`: a session cookie, and the CSRF token for writes.
pub async fn login(State(st): State<AppState>, req: Request) -> Result<Response, ApiError> {
    let from = req
        .extensions()
        .get::<Authenticated>()
        .map_or_else(|| "-".into(), |a| a.address.clone());
    let body = axum::body::to_bytes(req.into_body(), 64 * 1024)
        .await
        .map_err(|_| ApiError::BadRequest("login body too large".into()))?;
    let Login { name, password } = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("expected {{\"name\", \"password\"}}: {e}")))?;
    super::text::capped("name", &name, super::text::NAME)?;
    super::text::capped("password", &password, super::text::PASSWORD)?;
    let now = Instant::now();
    // Spent before the password is checked so that concurrent guesses
    // cannot overspend the budget; see access::ratelimit.
    if let Err(wait) = st.logins.try_attempt(&name, &from, now) {
        audit(&st, &name, "login_throttled", "/api/login", &from, "");
        return Err(ApiError::TooManyAttempts(wait.as_secs_f64().ceil() as u64));
    }
    let st2 = st.clone();
    let name2 = name.clone();
    let user = super::error::blocking(move || -> Result<Option<User>, ApiError> {
        let u = st2.accounts.user_by_name(&name2)?;
        // Verify against a dummy hash for unknown users: same timing.
        let hash = u
            .as_ref()
            .map_or(DUMMY_HASH.as_str(), |u| u.password_hash.as_str());
        let ok = verify_password(&password, hash);
        Ok(u.filter(|u| ok && !u.disabled))
    })
    .await?;
    let Some(user) = user else {
        audit(
            &st,
            &name,
            "login_failed",
            "/api/login",
            &from,
            "wrong name or password, or disabled",
        );
        return Err(ApiError::Unauthorized("wrong name or password".into()));
    };
    st.logins.succeeded(&name, &from);
    let secret = new_secret("wgs_");
    let csrf = new_secret("wgc_");
    st.accounts.put_session(&Session {
        digest: secret_digest(&secret),
        user_id: user.id,
        csrf: csrf.clone(),
        expires_at: timestamp(SESSION_HOURS * 3600),
    })?;
    audit(&st, &user.name, "login", "/api/login", &from, "");
    let secure = if st.secure_cookies { "; Secure" } else { "" };
    let set = format!(
        "{COOKIE}={secret}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{secure}",
        SESSION_HOURS * 3600
    );
    let mut resp = Json(
        json!({ "user": user.name, "role": user.role.as_str(), "scope": user.scope, "csrf": csrf }),
    )
    .into_response();
    resp.headers_mut()
        .insert(header::SET_COOKIE, HeaderValue::from_str(&set)?);
    Ok(resp)
}

/// An Argon2id hash of a random password nobody knows, so that unknown
/// users cost as much time as known ones.
static DUMMY_HASH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    crate::access::secret::hash_password(&format!(
        "{}-{}",
        crate::access::secret::generate_password(),
        "unused"
    ))
    .expect("a random password is acceptable")
});

/// `POST /api/logout`: ends the session and clears the cookie.
pub async fn logout(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if let Some(secret) = cookie(&headers) {
        let digest = secret_digest(&secret);
        st.accounts.delete_session(&digest)?;
        st.auth_cache.evict(&format!("s:{digest}"));
    }
    audit(&st, &caller.name, "logout", "/api/logout", "-", "");
    let mut resp = Json(json!({ "signed_out": true })).into_response();
    resp.headers_mut()
        .insert(header::SET_COOKIE, HeaderValue::from_static(CLEAR_COOKIE));
    Ok(resp)
}

/// `GET /api/me`: who the caller is and what they may do; for a cookie
/// session also its CSRF token, so a second tab can write (CORS is closed,
/// so only our own pages can read it).
pub async fn me(
    CallerOf(c): CallerOf,
    axum::Extension(auth): axum::Extension<Authenticated>,
) -> Json<Value> {
    Json(json!({
        "csrf": auth.csrf,
        "user": c.name,
        "role": c.role.as_str(),
        "scope": if c.scope.is_all() { vec![String::new()] } else { c.scope.prefix_list() },
        "sees_personal_fields": crate::access::projection::reveals_personal(c.role),
    }))
}

#[derive(Deserialize)]
pub struct AuditQuery {
    user: Option<String>,
    since: Option<String>,
    limit: Option<usize>,
}

/// `GET /api/audit` (admin): the audit log, oldest first.
pub async fn audit_log(
    State(st): State<AppState>,
    Query(q): Query<AuditQuery>,
) -> Result<Json<Value>, ApiError> {
    let since = q
        .since
        .as_deref()
        .map(|s| super::when::query_time("since", s))
        .transpose()?;
    let entries = st.accounts.audit_log(
        q.user.as_deref(),
        since.as_deref(),
        q.limit.unwrap_or(1000).min(10_000),
    )?;
    Ok(Json(json!({ "entries": entries })))
}
