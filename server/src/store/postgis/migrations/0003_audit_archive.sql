-- Audit retention: archives of the audit log (hash-chained JSON lines
-- files) and the rule that only archived lines may be deleted.
CREATE TABLE wangge_audit_archives (
  id BIGSERIAL PRIMARY KEY,
  archived_at TEXT NOT NULL,
  cutoff TEXT NOT NULL,
  last_id BIGINT NOT NULL,
  lines BIGINT NOT NULL,
  last_hash TEXT NOT NULL,
  file TEXT NOT NULL
);
CREATE OR REPLACE FUNCTION wangge_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE'
     AND OLD.id <= (SELECT coalesce(max(last_id), 0) FROM wangge_audit_archives)
     AND OLD.at < (SELECT coalesce(max(cutoff), '') FROM wangge_audit_archives) THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'the audit log is append-only: only archived lines may be pruned';
END $$;
CREATE FUNCTION wangge_audit_archives_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit archives are append-only';
END $$;
CREATE TRIGGER wangge_audit_archives_no_change BEFORE UPDATE OR DELETE ON wangge_audit_archives
  FOR EACH ROW EXECUTE FUNCTION wangge_audit_archives_append_only();
CREATE TRIGGER wangge_audit_archives_no_truncate BEFORE TRUNCATE ON wangge_audit_archives
  FOR EACH STATEMENT EXECUTE FUNCTION wangge_audit_archives_append_only();
