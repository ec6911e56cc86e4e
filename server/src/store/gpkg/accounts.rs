//! [`AccountStore`] for the GeoPackage: users, tokens, sessions and the
//! append-only audit log in attribute tables (schema version 2; older files
//! get the tables when opened).

use rusqlite::{params, OptionalExtension, Row};

use super::{sql, GeoPackage};
use crate::access::account::{AuditArchive, AuditEntry, Session, Token, User};
use crate::access::Role;
use crate::store::accounts::{scope_of, scope_text};
use crate::store::{AccountStore, Dump, Result, StoreError};

pub(super) const SCHEMA: &str = include_str!("accounts.sql");
pub(super) const ARCHIVE_SCHEMA: &str = include_str!("audit_archive.sql");

fn user_of(r: &Row<'_>) -> rusqlite::Result<User> {
    let role: String = r.get(2)?;
    let scope: String = r.get(3)?;
    Ok(User {
        id: r.get(0)?,
        name: r.get(1)?,
        role: Role::parse(&role).unwrap_or(Role::Viewer),
        scope: scope_of(&scope),
        password_hash: r.get(4)?,
        disabled: r.get(5)?,
        created_at: r.get(6)?,
    })
}

fn token_of(r: &Row<'_>) -> rusqlite::Result<Token> {
    Ok(Token {
        id: r.get(0)?,
        user_id: r.get(1)?,
        label: r.get(2)?,
        digest: r.get(3)?,
        created_at: r.get(4)?,
        expires_at: r.get(5)?,
        revoked: r.get(6)?,
    })
}

fn audit_row(r: &Row<'_>) -> rusqlite::Result<AuditEntry> {
    Ok(AuditEntry {
        id: r.get(0)?,
        at: r.get(1)?,
        user: r.get(2)?,
        action: r.get(3)?,
        target: r.get(4)?,
        from: r.get(5)?,
        detail: r.get(6)?,
    })
}

const USER_COLS: &str = "id, name, role, scope, password_hash, disabled, created_at";
const TOKEN_COLS: &str = "id, user_id, label, digest, created_at, expires_at, revoked";

/// Writes the accounts, tokens and audit log of a dump, ids kept, inside
/// the copy's transaction.
pub(super) fn restore(tx: &rusqlite::Transaction<'_>, dump: &Dump) -> Result<()> {
    let op = "copy accounts";
    for u in &dump.users {
        tx.execute(
            &format!("INSERT INTO wangge_users ({USER_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"),
            params![
                u.id,
                u.name,
                u.role.as_str(),
                scope_text(&u.scope),
                u.password_hash,
                u.disabled,
                u.created_at
            ],
        )
        .map_err(sql(op))?;
    }
    for t in &dump.tokens {
        tx.execute(
            &format!(
                "INSERT INTO wangge_tokens ({TOKEN_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
            ),
            params![
                t.id,
                t.user_id,
                t.label,
                t.digest,
                t.created_at,
                t.expires_at,
                t.revoked
            ],
        )
        .map_err(sql(op))?;
    }
    for e in &dump.audit {
        tx.execute(
            "INSERT INTO wangge_audit (id, at, user, action, target, source, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![e.id, e.at, e.user, e.action, e.target, e.from, e.detail],
        )
        .map_err(sql(op))?;
    }
    Ok(())
}

/// Appends one audit line inside the caller's transaction.
pub(super) fn insert_audit(c: &rusqlite::Connection, e: &AuditEntry) -> Result<()> {
    c.prepare_cached(
        "INSERT INTO wangge_audit (at, user, action, target, source, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .and_then(|mut st| st.execute(params![e.at, e.user, e.action, e.target, e.from, e.detail]))
    .map_err(sql("append to the audit log"))?;
    Ok(())
}

impl AccountStore for GeoPackage {
    fn user_by_name(&self, name: &str) -> Result<Option<User>> {
        self.lock()
            .prepare_cached(&format!(
                "SELECT {USER_COLS} FROM wangge_users WHERE name = ?1"
            ))
            .and_then(|mut st| st.query_row([name], user_of))
            .optional()
            .map_err(sql("read user"))
    }

    fn user(&self, id: i64) -> Result<Option<User>> {
        self.lock()
            .prepare_cached(&format!(
                "SELECT {USER_COLS} FROM wangge_users WHERE id = ?1"
            ))
            .and_then(|mut st| st.query_row([id], user_of))
            .optional()
            .map_err(sql("read user"))
    }

    fn put_user(&self, u: &User) -> Result<i64> {
        let c = self.lock();
        if u.id > 0 {
            c.execute(
                "UPDATE wangge_users SET name = ?2, role = ?3, scope = ?4, password_hash = ?5, disabled = ?6 WHERE id = ?1",
                params![u.id, u.name, u.role.as_str(), scope_text(&u.scope), u.password_hash, u.disabled],
            )
            .map_err(sql("update user"))?;
            Ok(u.id)
        } else {
            c.execute(
                "INSERT INTO wangge_users (name, role, scope, password_hash, disabled, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![u.name, u.role.as_str(), scope_text(&u.scope), u.password_hash, u.disabled, u.created_at],
            )
            .map_err(|e| match e {
                rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
                    StoreError::Conflict(format!("user {} exists", u.name))
                }
                e => StoreError::Sqlite { op: "add user", source: e },
            })?;
            Ok(c.last_insert_rowid())
        }
    }

    fn users(&self) -> Result<Vec<User>> {
        let c = self.lock();
        let mut st = c
            .prepare(&format!(
                "SELECT {USER_COLS} FROM wangge_users ORDER BY name"
            ))
            .map_err(sql("list users"))?;
        let rows = st.query_map([], user_of).map_err(sql("list users"))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(sql("list users"))
    }

    fn put_token(&self, t: &Token) -> Result<i64> {
        let c = self.lock();
        if t.id > 0 {
            c.execute(
                "UPDATE wangge_tokens SET revoked = ?2, expires_at = ?3 WHERE id = ?1",
                params![t.id, t.revoked, t.expires_at],
            )
            .map_err(sql("update token"))?;
            Ok(t.id)
        } else {
            c.execute(
                "INSERT INTO wangge_tokens (user_id, label, digest, created_at, expires_at, revoked) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![t.user_id, t.label, t.digest, t.created_at, t.expires_at, t.revoked],
            )
            .map_err(sql("add token"))?;
            Ok(c.last_insert_rowid())
        }
    }

    fn token_by_digest(&self, digest: &str) -> Result<Option<Token>> {
        self.lock()
            .prepare_cached(&format!(
                "SELECT {TOKEN_COLS} FROM wangge_tokens WHERE digest = ?1"
            ))
            .and_then(|mut st| st.query_row([digest], token_of))
            .optional()
            .map_err(sql("read token"))
    }

    fn tokens(&self, user_id: i64) -> Result<Vec<Token>> {
        let c = self.lock();
        let mut st = c
            .prepare(&format!(
                "SELECT {TOKEN_COLS} FROM wangge_tokens WHERE user_id = ?1 ORDER BY id"
            ))
            .map_err(sql("list tokens"))?;
        let rows = st
            .query_map([user_id], token_of)
            .map_err(sql("list tokens"))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(sql("list tokens"))
    }

    fn put_session(&self, s: &Session) -> Result<()> {
        self.lock()
            .execute(
                "INSERT OR REPLACE INTO wangge_sessions (digest, user_id, csrf, expires_at) VALUES (?1, ?2, ?3, ?4)",
                params![s.digest, s.user_id, s.csrf, s.expires_at],
            )
            .map_err(sql("add session"))?;
        Ok(())
    }

    fn session(&self, digest: &str) -> Result<Option<Session>> {
        self.lock()
            .query_row(
                "SELECT digest, user_id, csrf, expires_at FROM wangge_sessions WHERE digest = ?1",
                [digest],
                |r| {
                    Ok(Session {
                        digest: r.get(0)?,
                        user_id: r.get(1)?,
                        csrf: r.get(2)?,
                        expires_at: r.get(3)?,
                    })
                },
            )
            .optional()
            .map_err(sql("read session"))
    }

    fn delete_session(&self, digest: &str) -> Result<()> {
        self.lock()
            .execute("DELETE FROM wangge_sessions WHERE digest = ?1", [digest])
            .map_err(sql("end session"))?;
        Ok(())
    }

    fn audit(&self, e: &AuditEntry) -> Result<()> {
        self.lock()
            .execute(
                "INSERT INTO wangge_audit (at, user, action, target, source, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![e.at, e.user, e.action, e.target, e.from, e.detail],
            )
            .map_err(sql("append to the audit log"))?;
        Ok(())
    }

    fn audit_many(&self, entries: &[AuditEntry]) -> Result<()> {
        let mut c = self.lock();
        let tx = c.transaction().map_err(sql("append to the audit log"))?;
        {
            let mut st = tx
                .prepare_cached("INSERT INTO wangge_audit (at, user, action, target, source, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
                .map_err(sql("append to the audit log"))?;
            for e in entries {
                st.execute(params![e.at, e.user, e.action, e.target, e.from, e.detail])
                    .map_err(sql("append to the audit log"))?;
            }
        }
        tx.commit().map_err(sql("append to the audit log"))
    }

    fn audit_chain(&self) -> Result<Option<AuditArchive>> {
        self.lock()
            .query_row(
                "SELECT archived_at, cutoff, last_id, lines, last_hash, file FROM wangge_audit_archives ORDER BY id DESC LIMIT 1",
                [],
                |r| {
                    Ok(AuditArchive {
                        archived_at: r.get(0)?,
                        before: r.get(1)?,
                        last_id: r.get(2)?,
                        lines: r.get(3)?,
                        last_hash: r.get(4)?,
                        file: r.get(5)?,
                    })
                },
            )
            .optional()
            .map_err(sql("read the audit archives"))
    }

    fn audit_older(&self, before: &str, after: i64, limit: usize) -> Result<Vec<AuditEntry>> {
        let c = self.lock();
        let mut st = c
            .prepare_cached(
                "SELECT id, at, user, action, target, source, detail FROM wangge_audit
                 WHERE at < ?1 AND id > ?2 ORDER BY id LIMIT ?3",
            )
            .map_err(sql("read the audit log"))?;
        let rows = st
            .query_map(params![before, after, limit as i64], audit_row)
            .map_err(sql("read the audit log"))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(sql("read the audit log"))
    }

    fn audit_prune(&self, prev: Option<&str>, a: &AuditArchive) -> Result<u64> {
        let op = "prune the audit log";
        let mut c = self.lock();
        let tx = c.transaction().map_err(sql(op))?;
        let newest: Option<String> = tx
            .query_row(
                "SELECT last_hash FROM wangge_audit_archives ORDER BY id DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql(op))?;
        if newest.as_deref() != prev {
            return Err(StoreError::Conflict(
                "another archive of the audit log was made meanwhile: delete this archive file and run again".into(),
            ));
        }
        tx.execute(
            "INSERT INTO wangge_audit_archives (archived_at, cutoff, last_id, lines, last_hash, file) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![a.archived_at, a.before, a.last_id, a.lines, a.last_hash, a.file],
        )
        .map_err(sql(op))?;
        let n = tx
            .execute(
                "DELETE FROM wangge_audit WHERE at < ?1 AND id <= ?2",
                params![a.before, a.last_id],
            )
            .map_err(sql(op))?;
        tx.commit().map_err(sql(op))?;
        Ok(n as u64)
    }

    fn audit_of(&self, target: &str, limit: usize) -> Result<Vec<AuditEntry>> {
        let c = self.lock();
        let mut st = c
            .prepare(
                "SELECT id, at, user, action, target, source, detail FROM wangge_audit
                 WHERE target = ?1 ORDER BY id DESC LIMIT ?2",
            )
            .map_err(sql("read a record's audit lines"))?;
        let rows = st
            .query_map(params![target, limit as i64], audit_row)
            .map_err(sql("read a record's audit lines"))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(sql("read a record's audit lines"))
    }

    fn audit_log(
        &self,
        user: Option<&str>,
        since: Option<&str>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>> {
        let c = self.lock();
        let mut st = c
            .prepare(
                "SELECT id, at, user, action, target, source, detail FROM wangge_audit
                 WHERE (?1 IS NULL OR user = ?1) AND (?2 IS NULL OR at >= ?2) ORDER BY id LIMIT ?3",
            )
            .map_err(sql("read the audit log"))?;
        let rows = st
            .query_map(params![user, since, limit as i64], audit_row)
            .map_err(sql("read the audit log"))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(sql("read the audit log"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str) -> User {
        User {
            id: 0,
            name: name.into(),
            role: Role::Office,
            scope: vec!["610902001".into()],
            password_hash: "x".into(),
            disabled: false,
            created_at: "2026-11-25T00:00:00Z".into(),
        }
    }

    #[test]
    fn users_tokens_sessions_and_an_append_only_audit_log() {
        let dir = tempfile::tempdir().unwrap();
        let s = GeoPackage::open(dir.path().join("a.gpkg")).unwrap();
        let id = s.put_user(&user("li")).unwrap();
        assert!(matches!(
            s.put_user(&user("li")),
            Err(StoreError::Conflict(_))
        ));
        let mut u = s.user_by_name("li").unwrap().unwrap();
        assert_eq!((u.id, u.scope.clone()), (id, vec!["610902001".to_string()]));
        u.scope = vec![String::new()];
        u.disabled = true;
        s.put_user(&u).unwrap();
        let u = s.user(id).unwrap().unwrap();
        assert!(u.disabled && u.scope == vec![String::new()]);

        let t = Token {
            id: 0,
            user_id: id,
            label: "cron".into(),
            digest: "d1".into(),
            created_at: "2026".into(),
            expires_at: None,
            revoked: false,
        };
        let tid = s.put_token(&t).unwrap();
        s.put_token(&Token {
            id: tid,
            revoked: true,
            ..t
        })
        .unwrap();
        assert!(s.token_by_digest("d1").unwrap().unwrap().revoked);

        s.put_session(&Session {
            digest: "s1".into(),
            user_id: id,
            csrf: "c".into(),
            expires_at: "2099".into(),
        })
        .unwrap();
        assert!(s.session("s1").unwrap().is_some());
        s.delete_session("s1").unwrap();
        assert!(s.session("s1").unwrap().is_none());

        let e = AuditEntry {
            id: 0,
            at: "2026-11-25T01:00:00Z".into(),
            user: "li".into(),
            action: "login".into(),
            target: "-".into(),
            from: "127.0.0.1".into(),
            detail: String::new(),
        };
        s.audit(&e).unwrap();
        s.audit(&AuditEntry {
            user: "wang".into(),
            at: "2026-11-25T02:00:00Z".into(),
            ..e
        })
        .unwrap();
        assert_eq!(s.audit_log(Some("li"), None, 10).unwrap().len(), 1);
        assert_eq!(
            s.audit_log(None, Some("2026-11-25T01:30:00Z"), 10)
                .unwrap()
                .len(),
            1
        );
        let c = s.lock();
        assert!(
            c.execute("DELETE FROM wangge_audit", []).is_err(),
            "append-only"
        );
        assert!(
            c.execute("UPDATE wangge_audit SET user = 'x'", []).is_err(),
            "append-only"
        );
    }
}
