//! Users, API tokens, sessions and the audit log: the records. The
//! storage every store implements for them is
//! [`AccountStore`](crate::store::AccountStore), in the store.

use serde::{Deserialize, Serialize};

use super::Role;

/// A user account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: i64,
    /// Login name, unique.
    pub name: String,
    pub role: Role,
    /// Region-code prefixes the user may see; empty means nothing, `[""]`
    /// everything (admins of a whole deployment).
    pub scope: Vec<String>,
    /// Argon2id PHC string; never serialised to clients.
    #[serde(skip_serializing, default)]
    pub password_hash: String,
    pub disabled: bool,
    /// RFC 3339 UTC.
    pub created_at: String,
}

/// An API token for scripts. Only the digest of the secret is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Token {
    pub id: i64,
    pub user_id: i64,
    pub label: String,
    #[serde(skip_serializing, default)]
    pub digest: String,
    pub created_at: String,
    /// RFC 3339 UTC; `None` = no expiry.
    pub expires_at: Option<String>,
    pub revoked: bool,
}

/// A login session; the cookie carries the secret, the store its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub digest: String,
    pub user_id: i64,
    /// Anti-CSRF token the viewer sends back in a header on writes.
    pub csrf: String,
    pub expires_at: String,
}

/// One line of the append-only audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    /// RFC 3339 UTC.
    pub at: String,
    /// User name, `-` when unknown (a failed login names what was tried).
    pub user: String,
    /// `login`, `login_failed`, `import`, `read_personal`, `token_create`...
    pub action: String,
    /// What was touched: a layer, route or object ids.
    pub target: String,
    /// Client address.
    pub from: String,
    pub detail: String,
}

/// One archive of the audit log: the lines older than `before` (up to
/// `last_id`) went to `file`, whose last line hashes to `last_hash`; the
/// next archive's first line carries that hash, so files chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditArchive {
    /// RFC 3339 UTC.
    pub archived_at: String,
    /// Lines strictly older than this (RFC 3339 UTC) were archived.
    pub before: String,
    pub last_id: i64,
    pub lines: i64,
    /// Hex SHA-256 of the file's last line.
    pub last_hash: String,
    pub file: String,
}
