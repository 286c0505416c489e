"""The SQL side of the audit trail, (re)installed after every migrate.

``CREATE OR REPLACE`` makes installation idempotent, so the post_migrate hook
can simply install everything each time: a newly ``@audited`` model gets its
triggers at the next ``migrate`` without a hand-written migration.
"""

from __future__ import annotations

from typing import Any

from django.db import connections

from core.audit.registry import AuditSpec, audited_models

# The hash input is a JSON array of every stored column of the entry, so a
# change to any of them (or to the order of entries) breaks the chain. The
# verifier calls this same function: one definition of "the content".
HASH_FUNCTION = r"""
CREATE OR REPLACE FUNCTION lims_audit_hash(
    prev_hash text, seq bigint, occurred_at timestamptz, table_name text, object_pk text,
    action text, before jsonb, after jsonb, actor_id bigint, actor_name text,
    request_id text, reason text, context jsonb
) RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT encode(sha256(convert_to(jsonb_build_array(
        prev_hash, seq, extract(epoch FROM occurred_at)::text, table_name, object_pk, action,
        before, after, actor_id, actor_name, request_id, reason, context
    )::text, 'UTF8')), 'hex')
$$;
"""

# Statement-level: the chain head is locked and written once per statement,
# whatever the number of rows (a row-level trigger rewrote it per row, which
# made one large UPDATE quadratic). Rows are chained in primary-key order.
RECORD_FUNCTION = r"""
CREATE OR REPLACE FUNCTION lims_audit_masked(j jsonb, mask_cols text[]) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN j IS NULL OR cardinality(mask_cols) = 0 THEN j ELSE (
        SELECT jsonb_object_agg(key, CASE WHEN key = ANY(mask_cols)
                                     THEN '"(changed; value not recorded)"'::jsonb ELSE value END)
          FROM jsonb_each(j)) END
$$;

CREATE OR REPLACE FUNCTION lims_audit_statement() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    skip_cols text[] := string_to_array(coalesce(TG_ARGV[0], ''), ',');
    mask_cols text[] := string_to_array(coalesce(TG_ARGV[1], ''), ',');
    ctx jsonb := nullif(current_setting('lims.audit_context', true), '')::jsonb;
    actor bigint := (ctx ->> 'actor_id')::bigint;
    actor_name text := coalesce(ctx ->> 'actor_name', '');
    request_id text := coalesce(ctx ->> 'request_id', '');
    reason text := coalesce(ctx ->> 'reason', '');
    -- Each event has its own transition tables, so the query is chosen per event.
    changes text := CASE TG_OP
        WHEN 'INSERT' THEN 'SELECT n.id::text AS pk, NULL::jsonb AS old_row, to_jsonb(n) AS new_row FROM lims_new n ORDER BY n.id'
        WHEN 'UPDATE' THEN 'SELECT n.id::text AS pk, to_jsonb(o) AS old_row, to_jsonb(n) AS new_row
                            FROM lims_old o JOIN lims_new n ON n.id = o.id ORDER BY n.id'
        ELSE 'SELECT o.id::text AS pk, to_jsonb(o) AS old_row, NULL::jsonb AS new_row FROM lims_old o ORDER BY o.id'
    END;
    change record;
    before_v jsonb;
    after_v jsonb;
    ts timestamptz;
    locked boolean := false;
    head_seq bigint;
    head_hash text;
    entry_hash text;
BEGIN
    FOR change IN EXECUTE changes LOOP
        before_v := change.old_row - skip_cols;
        after_v := change.new_row - skip_cols;
        IF TG_OP = 'UPDATE' THEN
            SELECT jsonb_object_agg(o.key, o.value) INTO before_v
              FROM jsonb_each(change.old_row - skip_cols) o WHERE change.new_row -> o.key IS DISTINCT FROM o.value;
            CONTINUE WHEN before_v IS NULL;  -- nothing that matters changed
            SELECT jsonb_object_agg(n.key, n.value) INTO after_v
              FROM jsonb_each(change.new_row - skip_cols) n WHERE change.old_row -> n.key IS DISTINCT FROM n.value;
        END IF;
        IF NOT locked THEN
            -- The chain head serialises audited writes: the chain order is the commit order.
            INSERT INTO compliance_auditchainhead (id, last_seq, last_hash)
                VALUES (1, 0, repeat('0', 64)) ON CONFLICT (id) DO NOTHING;
            -- A head created here while entries exist would restart at #1 and fork the
            -- chain. Re-seeding it from the last entry would hide a removed tail, so a
            -- missing head is refused until a person has run verify_audit_chain.
            IF FOUND AND EXISTS (SELECT 1 FROM compliance_auditentry) THEN
                RAISE EXCEPTION 'the audit chain head is missing while audit entries exist; audited writes are refused until it is restored'
                    USING ERRCODE = 'data_corrupted',
                          HINT = 'Run manage.py verify_audit_chain, then manage.py verify_audit_chain --restore-head.';
            END IF;
            SELECT h.last_seq, h.last_hash INTO head_seq, head_hash
              FROM compliance_auditchainhead h WHERE h.id = 1 FOR UPDATE;
            locked := true;
        END IF;
        before_v := lims_audit_masked(before_v, mask_cols);
        after_v := lims_audit_masked(after_v, mask_cols);
        head_seq := head_seq + 1;
        ts := clock_timestamp();
        entry_hash := lims_audit_hash(head_hash, head_seq, ts, TG_TABLE_NAME, change.pk, TG_OP, before_v, after_v,
                                      actor, actor_name, request_id, reason, ctx);
        INSERT INTO compliance_auditentry (
            seq, occurred_at, table_name, object_pk, action, before, after, actor_id, actor_name,
            request_id, reason, context, prev_hash, hash)
        VALUES (head_seq, ts, TG_TABLE_NAME, change.pk, TG_OP, before_v, after_v, actor, actor_name,
                request_id, reason, ctx, head_hash, entry_hash);
        head_hash := entry_hash;
    END LOOP;
    IF locked THEN
        UPDATE compliance_auditchainhead SET last_seq = head_seq, last_hash = head_hash WHERE id = 1;
    END IF;
    RETURN NULL;
END
$$;
"""

REFUSE_FUNCTIONS = r"""
CREATE OR REPLACE FUNCTION lims_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit entries are append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE OR REPLACE FUNCTION lims_refuse_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'regulated records are never deleted (table %); record a correction instead', TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END
$$;
CREATE OR REPLACE FUNCTION lims_refuse_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'regulated records are never deleted: TRUNCATE of % refused', TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END
$$;
CREATE OR REPLACE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON compliance_auditentry
    FOR EACH ROW EXECUTE FUNCTION lims_audit_append_only();
CREATE OR REPLACE TRIGGER audit_no_truncate BEFORE TRUNCATE ON compliance_auditentry
    FOR EACH STATEMENT EXECUTE FUNCTION lims_audit_append_only();
-- The head is the evidence of the chain's length: without it a removed tail goes
-- unnoticed, and the next audited write would restart at #1. Updates stay allowed
-- (every audited statement moves it).
CREATE OR REPLACE TRIGGER audit_head_no_delete BEFORE DELETE ON compliance_auditchainhead
    FOR EACH ROW EXECUTE FUNCTION lims_audit_append_only();
CREATE OR REPLACE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON compliance_auditchainhead
    FOR EACH STATEMENT EXECUTE FUNCTION lims_audit_append_only();
"""


def _table_triggers(spec: AuditSpec) -> str:
    table = spec.model._meta.db_table
    args = f"'{','.join(spec.skip)}', '{','.join(spec.mask)}'"
    audit = "FOR EACH STATEMENT EXECUTE FUNCTION lims_audit_statement"
    # TRUNCATE fires no row trigger: it would empty a table without an audit entry.
    sql = f"""
DROP TRIGGER IF EXISTS lims_audit ON "{table}";
CREATE OR REPLACE TRIGGER lims_no_truncate BEFORE TRUNCATE ON "{table}"
    FOR EACH STATEMENT EXECUTE FUNCTION lims_refuse_truncate();
CREATE OR REPLACE TRIGGER lims_audit_insert AFTER INSERT ON "{table}"
    REFERENCING NEW TABLE AS lims_new {audit}({args});
CREATE OR REPLACE TRIGGER lims_audit_update AFTER UPDATE ON "{table}"
    REFERENCING OLD TABLE AS lims_old NEW TABLE AS lims_new {audit}({args});
"""
    if spec.deletable:
        return (
            sql
            + f"""
CREATE OR REPLACE TRIGGER lims_audit_delete AFTER DELETE ON "{table}"
    REFERENCING OLD TABLE AS lims_old {audit}({args});
"""
        )
    return (
        sql
        + f"""
CREATE OR REPLACE TRIGGER lims_no_delete BEFORE DELETE ON "{table}"
    FOR EACH ROW EXECUTE FUNCTION lims_refuse_delete();
"""
    )


def install_triggers(using: str = "default") -> None:
    """Create or replace the audit functions and every regulated table's triggers."""
    sql = HASH_FUNCTION + RECORD_FUNCTION + REFUSE_FUNCTIONS
    sql += "".join(_table_triggers(spec) for spec in audited_models())
    # The row-level function of earlier versions, once no trigger uses it.
    sql += "DROP FUNCTION IF EXISTS lims_audit_record();\n"
    with connections[using].cursor() as cursor:
        cursor.execute(sql)


def install_triggers_after_migrate(sender: Any, using: str = "default", **kwargs: Any) -> None:
    install_triggers(using)
