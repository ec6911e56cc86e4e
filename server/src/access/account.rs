//! Users, API tokens, sessions and the audit log: the records, and the
//! [`AccountStore`] every store implements for them.

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

/// Storage for accounts and the audit log.
pub trait AccountStore: Send + Sync {
    fn user_by_name(&self, name: &str) -> crate::store::Result<Option<User>>;
    fn user(&self, id: i64) -> crate::store::Result<Option<User>>;
    /// Inserts (id ≤ 0) or updates a user; returns its id.
    fn put_user(&self, user: &User) -> crate::store::Result<i64>;
    fn users(&self) -> crate::store::Result<Vec<User>>;
    fn put_token(&self, token: &Token) -> crate::store::Result<i64>;
    fn token_by_digest(&self, digest: &str) -> crate::store::Result<Option<Token>>;
    fn tokens(&self, user_id: i64) -> crate::store::Result<Vec<Token>>;
    fn put_session(&self, session: &Session) -> crate::store::Result<()>;
    fn session(&self, digest: &str) -> crate::store::Result<Option<Session>>;
    fn delete_session(&self, digest: &str) -> crate::store::Result<()>;
    /// Appends to the audit log (its own transaction).
    fn audit(&self, entry: &AuditEntry) -> crate::store::Result<()>;
    /// Appends several lines in one transaction (the server batches reads
    /// of personal data this way so that auditing costs no fsync per request).
    fn audit_many(&self, entries: &[AuditEntry]) -> crate::store::Result<()> {
        entries.iter().try_for_each(|e| self.audit(e))
    }
    /// The newest archive of the audit log, whose `last_hash` the next
    /// archive continues (`None` before the first).
    fn audit_chain(&self) -> crate::store::Result<Option<AuditArchive>>;
    /// Lines older than `before` with ids above `after`, by id, at most
    /// `limit` (the archiver pages through them).
    fn audit_older(
        &self,
        before: &str,
        after: i64,
        limit: usize,
    ) -> crate::store::Result<Vec<AuditEntry>>;
    /// In one transaction, while the newest archive's hash is still
    /// `prev`: records `archive` and deletes the lines it holds (older than
    /// its `before`, ids up to its `last_id`); returns how many. The store
    /// refuses to delete any line no archive holds.
    fn audit_prune(&self, prev: Option<&str>, archive: &AuditArchive) -> crate::store::Result<u64>;
    /// Audit lines, oldest first, optionally of one user and since a time.
    fn audit_log(
        &self,
        user: Option<&str>,
        since: Option<&str>,
        limit: usize,
    ) -> crate::store::Result<Vec<AuditEntry>>;
}
