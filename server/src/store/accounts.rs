//! The storage of accounts and the audit log, which every store implements
//! beside [`Store`](super::Store). The records themselves are
//! [`crate::access::account`]'s: the store knows them, access does not know
//! the store.

use super::Result;
use crate::access::account::{AuditArchive, AuditEntry, Session, Token, User};

/// A user's scope as both stores keep it: `*` for everything, otherwise
/// the prefixes joined by commas.
pub(crate) fn scope_text(scope: &[String]) -> String {
    if scope.iter().any(String::is_empty) {
        "*".into()
    } else {
        scope.join(",")
    }
}

/// The scope back from its stored text (see [`scope_text`]).
pub(crate) fn scope_of(text: &str) -> Vec<String> {
    if text == "*" {
        vec![String::new()]
    } else {
        text.split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    }
}

/// Storage for accounts and the audit log.
pub trait AccountStore: Send + Sync {
    fn user_by_name(&self, name: &str) -> Result<Option<User>>;
    fn user(&self, id: i64) -> Result<Option<User>>;
    /// Inserts (id ≤ 0) or updates a user; returns its id.
    fn put_user(&self, user: &User) -> Result<i64>;
    fn users(&self) -> Result<Vec<User>>;
    fn put_token(&self, token: &Token) -> Result<i64>;
    fn token_by_digest(&self, digest: &str) -> Result<Option<Token>>;
    fn tokens(&self, user_id: i64) -> Result<Vec<Token>>;
    fn put_session(&self, session: &Session) -> Result<()>;
    fn session(&self, digest: &str) -> Result<Option<Session>>;
    fn delete_session(&self, digest: &str) -> Result<()>;
    /// Appends to the audit log (its own transaction).
    fn audit(&self, entry: &AuditEntry) -> Result<()>;
    /// Appends several lines in one transaction (the server batches reads
    /// of personal data this way so that auditing costs no fsync per request).
    fn audit_many(&self, entries: &[AuditEntry]) -> Result<()> {
        entries.iter().try_for_each(|e| self.audit(e))
    }
    /// The newest archive of the audit log, whose `last_hash` the next
    /// archive continues (`None` before the first).
    fn audit_chain(&self) -> Result<Option<AuditArchive>>;
    /// Lines older than `before` with ids above `after`, by id, at most
    /// `limit` (the archiver pages through them).
    fn audit_older(&self, before: &str, after: i64, limit: usize) -> Result<Vec<AuditEntry>>;
    /// In one transaction, while the newest archive's hash is still
    /// `prev`: records `archive` and deletes the lines it holds (older than
    /// its `before`, ids up to its `last_id`); returns how many. The store
    /// refuses to delete any line no archive holds.
    fn audit_prune(&self, prev: Option<&str>, archive: &AuditArchive) -> Result<u64>;
    /// The audit lines of one record (`target`, as a record write names
    /// it: `households 12`), newest first, at most `limit`.
    fn audit_of(&self, target: &str, limit: usize) -> Result<Vec<AuditEntry>>;
    /// Audit lines, oldest first, optionally of one user and since a time.
    fn audit_log(
        &self,
        user: Option<&str>,
        since: Option<&str>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>>;
}

/// Every account store takes the audit writer's batches.
impl<T: AccountStore + ?Sized> crate::access::audit::AuditSink for T {
    fn append(
        &self,
        lines: &[AuditEntry],
    ) -> std::result::Result<(), Box<dyn std::error::Error + Send + Sync>> {
        Ok(self.audit_many(lines)?)
    }
}
