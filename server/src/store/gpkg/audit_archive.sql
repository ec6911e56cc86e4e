-- Audit retention: archives of the audit log (hash-chained JSON lines
-- files) and the rule that only archived lines may be deleted.
CREATE TABLE IF NOT EXISTS wangge_audit_archives (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  archived_at TEXT NOT NULL,
  cutoff TEXT NOT NULL,
  last_id INTEGER NOT NULL,
  lines INTEGER NOT NULL,
  last_hash TEXT NOT NULL,
  file TEXT NOT NULL
);
DROP TRIGGER IF EXISTS wangge_audit_no_delete;
CREATE TRIGGER wangge_audit_no_delete BEFORE DELETE ON wangge_audit
  WHEN OLD.id > (SELECT coalesce(max(last_id), 0) FROM wangge_audit_archives)
    OR OLD.at >= (SELECT coalesce(max(cutoff), '') FROM wangge_audit_archives)
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: only archived lines may be pruned'); END;
CREATE TRIGGER IF NOT EXISTS wangge_audit_archives_no_change BEFORE UPDATE ON wangge_audit_archives
  BEGIN SELECT RAISE(ABORT, 'audit archives are append-only'); END;
CREATE TRIGGER IF NOT EXISTS wangge_audit_archives_no_delete BEFORE DELETE ON wangge_audit_archives
  BEGIN SELECT RAISE(ABORT, 'audit archives are append-only'); END;
