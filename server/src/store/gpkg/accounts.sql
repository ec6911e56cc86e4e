-- Accounts and the audit log (schema version 2). Attribute tables, so GIS
-- tools see them but never as layers; secrets are stored only as digests.
CREATE TABLE IF NOT EXISTS wangge_users (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL UNIQUE,
  role TEXT NOT NULL,
  scope TEXT NOT NULL,
  password_hash TEXT NOT NULL,
  disabled INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS wangge_tokens (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id INTEGER NOT NULL REFERENCES wangge_users(id),
  label TEXT NOT NULL,
  digest TEXT NOT NULL UNIQUE,
  created_at TEXT NOT NULL,
  expires_at TEXT,
  revoked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS wangge_sessions (
  digest TEXT PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES wangge_users(id),
  csrf TEXT NOT NULL,
  expires_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS wangge_audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at TEXT NOT NULL,
  user TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  source TEXT NOT NULL,
  detail TEXT NOT NULL
);
-- Append-only: the store refuses to change or delete audit lines.
CREATE TRIGGER IF NOT EXISTS wangge_audit_no_update BEFORE UPDATE ON wangge_audit
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS wangge_audit_no_delete BEFORE DELETE ON wangge_audit
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE INDEX IF NOT EXISTS wangge_audit_user ON wangge_audit(user, at);
INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description) VALUES
  ('wangge_audit', 'attributes', 'wangge_audit', 'append-only audit log of writes and reveals of personal data');
UPDATE wangge_meta SET value = '2' WHERE key = 'schema_version';
