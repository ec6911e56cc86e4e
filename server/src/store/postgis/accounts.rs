//! [`AccountStore`] for PostGIS: users, tokens, sessions and the
//! append-only audit log (a trigger refuses updates, deletes and
//! truncation), as the GeoPackage keeps them.

use deadpool_postgres::ClientWrapper;
use tokio_postgres::error::SqlState;
use tokio_postgres::Row;

use super::{pg, PostGis};
use crate::access::account::{AuditArchive, AuditEntry, Session, Token, User};
use crate::access::Role;
use crate::store::accounts::{scope_of, scope_text};
use crate::store::{AccountStore, Dump, Result, StoreError};

const USER_COLS: &str = "id, name, role, scope, password_hash, disabled, created_at";
const TOKEN_COLS: &str = "id, user_id, label, digest, created_at, expires_at, revoked";
const AUDIT_COLS: &str = "id, at, user_name, action, target, source, detail";

fn user_of(r: &Row) -> User {
    let role: String = r.get(2);
    let scope: String = r.get(3);
    User {
        id: r.get(0),
        name: r.get(1),
        role: Role::parse(&role).unwrap_or(Role::Viewer),
        scope: scope_of(&scope),
        password_hash: r.get(4),
        disabled: r.get(5),
        created_at: r.get(6),
    }
}

fn token_of(r: &Row) -> Token {
    Token {
        id: r.get(0),
        user_id: r.get(1),
        label: r.get(2),
        digest: r.get(3),
        created_at: r.get(4),
        expires_at: r.get(5),
        revoked: r.get(6),
    }
}

fn audit_of(r: &Row) -> AuditEntry {
    AuditEntry {
        id: r.get(0),
        at: r.get(1),
        user: r.get(2),
        action: r.get(3),
        target: r.get(4),
        from: r.get(5),
        detail: r.get(6),
    }
}

/// Appends one audit line; `keep_id` keeps the id of a copied line.
pub(super) async fn insert_audit(
    c: &ClientWrapper,
    e: &AuditEntry,
    keep_id: Option<i64>,
) -> Result<()> {
    let op = "append to the audit log";
    let done = if let Some(id) = keep_id {
        c.execute(
            "INSERT INTO wangge_audit (id, at, user_name, action, target, source, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[&id, &e.at, &e.user, &e.action, &e.target, &e.from, &e.detail],
        )
        .await
    } else {
        let st = c
            .prepare_cached("INSERT INTO wangge_audit (at, user_name, action, target, source, detail) VALUES ($1, $2, $3, $4, $5, $6)")
            .await
            .map_err(pg(op))?;
        c.execute(
            &st,
            &[&e.at, &e.user, &e.action, &e.target, &e.from, &e.detail],
        )
        .await
    };
    done.map(|_| ()).map_err(pg(op))
}

/// Writes the accounts, tokens and audit log of a dump, ids kept.
pub(super) async fn restore(c: &ClientWrapper, dump: &Dump) -> Result<()> {
    for u in &dump.users {
        c.execute(
            &format!("INSERT INTO wangge_users ({USER_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"),
            &[
                &u.id,
                &u.name,
                &u.role.as_str(),
                &scope_text(&u.scope),
                &u.password_hash,
                &u.disabled,
                &u.created_at,
            ],
        )
        .await
        .map_err(pg("copy users"))?;
    }
    for t in &dump.tokens {
        c.execute(
            &format!(
                "INSERT INTO wangge_tokens ({TOKEN_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
            ),
            &[
                &t.id,
                &t.user_id,
                &t.label,
                &t.digest,
                &t.created_at,
                &t.expires_at,
                &t.revoked,
            ],
        )
        .await
        .map_err(pg("copy tokens"))?;
    }
    for e in &dump.audit {
        insert_audit(c, e, Some(e.id)).await?;
    }
    Ok(())
}

impl AccountStore for PostGis {
    fn user_by_name(&self, name: &str) -> Result<Option<User>> {
        let c = self.read_conn("read user")?;
        self.block_on(async {
            c.query_opt(
                &format!("SELECT {USER_COLS} FROM wangge_users WHERE name = $1"),
                &[&name],
            )
            .await
            .map(|r| r.as_ref().map(user_of))
            .map_err(pg("read user"))
        })
    }

    fn user(&self, id: i64) -> Result<Option<User>> {
        let c = self.read_conn("read user")?;
        self.block_on(async {
            c.query_opt(
                &format!("SELECT {USER_COLS} FROM wangge_users WHERE id = $1"),
                &[&id],
            )
            .await
            .map(|r| r.as_ref().map(user_of))
            .map_err(pg("read user"))
        })
    }

    fn put_user(&self, u: &User) -> Result<i64> {
        let c = self.read_conn("add user")?;
        self.block_on(async {
            if u.id > 0 {
                c.execute(
                    "UPDATE wangge_users SET name = $2, role = $3, scope = $4, password_hash = $5, disabled = $6 WHERE id = $1",
                    &[&u.id, &u.name, &u.role.as_str(), &scope_text(&u.scope), &u.password_hash, &u.disabled],
                )
                .await
                .map_err(pg("update user"))?;
                Ok(u.id)
            } else {
                c.query_one(
                    "INSERT INTO wangge_users (name, role, scope, password_hash, disabled, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                    &[&u.name, &u.role.as_str(), &scope_text(&u.scope), &u.password_hash, &u.disabled, &u.created_at],
                )
                .await
                .map(|r| r.get(0))
                .map_err(|e| {
                    if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
                        StoreError::Conflict(format!("user {} exists", u.name))
                    } else {
                        pg("add user")(e)
                    }
                })
            }
        })
    }

    fn users(&self) -> Result<Vec<User>> {
        let c = self.read_conn("list users")?;
        self.block_on(async {
            c.query(
                &format!(r#"SELECT {USER_COLS} FROM wangge_users ORDER BY name COLLATE "C""#),
                &[],
            )
            .await
            .map(|rows| rows.iter().map(user_of).collect())
            .map_err(pg("list users"))
        })
    }

    fn put_token(&self, t: &Token) -> Result<i64> {
        let c = self.read_conn("add token")?;
        self.block_on(async {
            if t.id > 0 {
                c.execute(
                    "UPDATE wangge_tokens SET revoked = $2, expires_at = $3 WHERE id = $1",
                    &[&t.id, &t.revoked, &t.expires_at],
                )
                .await
                .map_err(pg("update token"))?;
                Ok(t.id)
            } else {
                c.query_one(
                    "INSERT INTO wangge_tokens (user_id, label, digest, created_at, expires_at, revoked) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                    &[&t.user_id, &t.label, &t.digest, &t.created_at, &t.expires_at, &t.revoked],
                )
                .await
                .map(|r| r.get(0))
                .map_err(pg("add token"))
            }
        })
    }

    fn token_by_digest(&self, digest: &str) -> Result<Option<Token>> {
        let c = self.read_conn("read token")?;
        self.block_on(async {
            c.query_opt(
                &format!("SELECT {TOKEN_COLS} FROM wangge_tokens WHERE digest = $1"),
                &[&digest],
            )
            .await
            .map(|r| r.as_ref().map(token_of))
            .map_err(pg("read token"))
        })
    }

    fn tokens(&self, user_id: i64) -> Result<Vec<Token>> {
        let c = self.read_conn("list tokens")?;
        self.block_on(async {
            c.query(
                &format!("SELECT {TOKEN_COLS} FROM wangge_tokens WHERE user_id = $1 ORDER BY id"),
                &[&user_id],
            )
            .await
            .map(|rows| rows.iter().map(token_of).collect())
            .map_err(pg("list tokens"))
        })
    }

    fn put_session(&self, s: &Session) -> Result<()> {
        let c = self.read_conn("add session")?;
        self.block_on(async {
            c.execute(
                "INSERT INTO wangge_sessions (digest, user_id, csrf, expires_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (digest) DO UPDATE SET user_id = excluded.user_id, csrf = excluded.csrf, expires_at = excluded.expires_at",
                &[&s.digest, &s.user_id, &s.csrf, &s.expires_at],
            )
            .await
            .map(|_| ())
            .map_err(pg("add session"))
        })
    }

    fn session(&self, digest: &str) -> Result<Option<Session>> {
        let c = self.read_conn("read session")?;
        self.block_on(async {
            c.query_opt(
                "SELECT digest, user_id, csrf, expires_at FROM wangge_sessions WHERE digest = $1",
                &[&digest],
            )
            .await
            .map(|r| {
                r.map(|r| Session {
                    digest: r.get(0),
                    user_id: r.get(1),
                    csrf: r.get(2),
                    expires_at: r.get(3),
                })
            })
            .map_err(pg("read session"))
        })
    }

    fn delete_session(&self, digest: &str) -> Result<()> {
        let c = self.read_conn("end session")?;
        self.block_on(async {
            c.execute("DELETE FROM wangge_sessions WHERE digest = $1", &[&digest])
                .await
                .map(|_| ())
                .map_err(pg("end session"))
        })
    }

    fn audit(&self, e: &AuditEntry) -> Result<()> {
        let c = self.read_conn("append to the audit log")?;
        self.block_on(insert_audit(&c, e, None))
    }

    fn audit_many(&self, entries: &[AuditEntry]) -> Result<()> {
        let op = "append to the audit log";
        let tx = super::Tx {
            conn: Some(self.read_conn(op)?),
        };
        self.block_on(async {
            tx.c().batch_execute("BEGIN").await.map_err(pg(op))?;
            for e in entries {
                insert_audit(tx.c(), e, None).await?;
            }
            Ok::<_, StoreError>(())
        })?;
        tx.commit(self, op)
    }

    fn audit_chain(&self) -> Result<Option<AuditArchive>> {
        let c = self.read_conn("read the audit archives")?;
        self.block_on(async {
            c.query_opt(
                "SELECT archived_at, cutoff, last_id, lines, last_hash, file FROM wangge_audit_archives ORDER BY id DESC LIMIT 1",
                &[],
            )
            .await
            .map(|r| {
                r.map(|r| AuditArchive {
                    archived_at: r.get(0),
                    before: r.get(1),
                    last_id: r.get(2),
                    lines: r.get(3),
                    last_hash: r.get(4),
                    file: r.get(5),
                })
            })
            .map_err(pg("read the audit archives"))
        })
    }

    fn audit_older(&self, before: &str, after: i64, limit: usize) -> Result<Vec<AuditEntry>> {
        let c = self.read_conn("read the audit log")?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.block_on(async {
            c.query(
                &format!(
                    "SELECT {AUDIT_COLS} FROM wangge_audit WHERE at < $1 AND id > $2 ORDER BY id LIMIT $3"
                ),
                &[&before, &after, &limit],
            )
            .await
            .map(|rows| rows.iter().map(audit_of).collect())
            .map_err(pg("read the audit log"))
        })
    }

    fn audit_prune(&self, prev: Option<&str>, a: &AuditArchive) -> Result<u64> {
        let op = "prune the audit log";
        let tx = super::Tx {
            conn: Some(self.read_conn(op)?),
        };
        let n = self.block_on(async {
            let c = tx.c();
            c.batch_execute("BEGIN; LOCK TABLE wangge_audit_archives IN EXCLUSIVE MODE")
                .await
                .map_err(pg(op))?;
            let newest: Option<String> = c
                .query_opt(
                    "SELECT last_hash FROM wangge_audit_archives ORDER BY id DESC LIMIT 1",
                    &[],
                )
                .await
                .map_err(pg(op))?
                .map(|r| r.get(0));
            if newest.as_deref() != prev {
                return Err(StoreError::Conflict(
                    "another archive of the audit log was made meanwhile: delete this archive file and run again".into(),
                ));
            }
            c.execute(
                "INSERT INTO wangge_audit_archives (archived_at, cutoff, last_id, lines, last_hash, file) VALUES ($1, $2, $3, $4, $5, $6)",
                &[&a.archived_at, &a.before, &a.last_id, &a.lines, &a.last_hash, &a.file],
            )
            .await
            .map_err(pg(op))?;
            c.execute(
                "DELETE FROM wangge_audit WHERE at < $1 AND id <= $2",
                &[&a.before, &a.last_id],
            )
            .await
            .map_err(pg(op))
        })?;
        tx.commit(self, op)?;
        Ok(n)
    }

    fn audit_of(&self, target: &str, limit: usize) -> Result<Vec<AuditEntry>> {
        let c = self.read_conn("read a record's audit lines")?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.block_on(async {
            c.query(
                &format!(
                    "SELECT {AUDIT_COLS} FROM wangge_audit WHERE target = $1 ORDER BY id DESC LIMIT $2"
                ),
                &[&target, &limit],
            )
            .await
            .map(|rows| rows.iter().map(audit_of).collect())
            .map_err(pg("read a record's audit lines"))
        })
    }

    fn audit_log(
        &self,
        user: Option<&str>,
        since: Option<&str>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>> {
        let c = self.read_conn("read the audit log")?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.block_on(async {
            c.query(
                &format!(
                    "SELECT {AUDIT_COLS} FROM wangge_audit
                     WHERE ($1::text IS NULL OR user_name = $1) AND ($2::text IS NULL OR at >= $2)
                     ORDER BY id LIMIT $3"
                ),
                &[&user, &since, &limit],
            )
            .await
            .map(|rows| rows.iter().map(audit_of).collect())
            .map_err(pg("read the audit log"))
        })
    }
}
