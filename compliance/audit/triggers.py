"""The SQL side of the audit trail, (re)installed after every migrate.

``CREATE OR REPLACE`` makes installation idempotent, so the post_migrate hook
can simply install everything each time: a newly ``@audited`` model gets its
triggers at the next ``migrate`` without a hand-written migration.
"""

from __future__ import annotations

from typing import Any

from django.db import connections

from compliance.audit.registry import AuditSpec, audited_models

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

RECORD_FUNCTION = r"""
CREATE OR REPLACE FUNCTION lims_audit_record() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    skip_cols text[] := string_to_array(coalesce(TG_ARGV[0], ''), ',');
    mask_cols text[] := string_to_array(coalesce(TG_ARGV[1], ''), ',');
    old_row jsonb;
    new_row jsonb;
    before_v jsonb;
    after_v jsonb;
    ctx jsonb := nullif(current_setting('lims.audit_context', true), '')::jsonb;
    head compliance_auditchainhead%ROWTYPE;
    ts timestamptz := clock_timestamp();
    entry_hash text;
BEGIN
    IF TG_OP <> 'INSERT' THEN old_row := to_jsonb(OLD) - skip_cols; END IF;
    IF TG_OP <> 'DELETE' THEN new_row := to_jsonb(NEW) - skip_cols; END IF;
    IF TG_OP = 'UPDATE' THEN
        SELECT jsonb_object_agg(o.key, o.value) INTO before_v
          FROM jsonb_each(old_row) o WHERE new_row -> o.key IS DISTINCT FROM o.value;
        IF before_v IS NULL THEN
            RETURN NULL;  -- nothing that matters changed
        END IF;
        SELECT jsonb_object_agg(n.key, n.value) INTO after_v
          FROM jsonb_each(new_row) n WHERE old_row -> n.key IS DISTINCT FROM n.value;
    ELSE
        before_v := old_row;
        after_v := new_row;
    END IF;
    IF cardinality(mask_cols) > 0 THEN
        SELECT jsonb_object_agg(key, CASE WHEN key = ANY(mask_cols) THEN '"(changed; value not recorded)"'::jsonb ELSE value END)
          INTO before_v FROM jsonb_each(before_v);
        SELECT jsonb_object_agg(key, CASE WHEN key = ANY(mask_cols) THEN '"(changed; value not recorded)"'::jsonb ELSE value END)
          INTO after_v FROM jsonb_each(after_v);
    END IF;

    -- The chain head serialises audited writes: seq and prev_hash are taken
    -- under its row lock, so the chain order is the commit order.
    SELECT * INTO head FROM compliance_auditchainhead WHERE id = 1 FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO compliance_auditchainhead (id, last_seq, last_hash)
            VALUES (1, 0, repeat('0', 64)) ON CONFLICT (id) DO NOTHING;
        SELECT * INTO head FROM compliance_auditchainhead WHERE id = 1 FOR UPDATE;
    END IF;

    entry_hash := lims_audit_hash(
        head.last_hash, head.last_seq + 1, ts, TG_TABLE_NAME, coalesce(new_row, old_row) ->> 'id', TG_OP,
        before_v, after_v, (ctx ->> 'actor_id')::bigint, coalesce(ctx ->> 'actor_name', ''),
        coalesce(ctx ->> 'request_id', ''), coalesce(ctx ->> 'reason', ''), ctx);
    INSERT INTO compliance_auditentry (
        seq, occurred_at, table_name, object_pk, action, before, after, actor_id, actor_name,
        request_id, reason, context, prev_hash, hash)
    VALUES (
        head.last_seq + 1, ts, TG_TABLE_NAME, coalesce(new_row, old_row) ->> 'id', TG_OP, before_v, after_v,
        (ctx ->> 'actor_id')::bigint, coalesce(ctx ->> 'actor_name', ''), coalesce(ctx ->> 'request_id', ''),
        coalesce(ctx ->> 'reason', ''), ctx, head.last_hash, entry_hash);
    UPDATE compliance_auditchainhead SET last_seq = head.last_seq + 1, last_hash = entry_hash WHERE id = 1;
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
CREATE OR REPLACE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON compliance_auditentry
    FOR EACH ROW EXECUTE FUNCTION lims_audit_append_only();
"""


def _table_triggers(spec: AuditSpec) -> str:
    table = spec.model._meta.db_table
    args = f"'{','.join(spec.skip)}', '{','.join(spec.mask)}'"
    if spec.deletable:
        return f"""
CREATE OR REPLACE TRIGGER lims_audit AFTER INSERT OR UPDATE OR DELETE ON "{table}"
    FOR EACH ROW EXECUTE FUNCTION lims_audit_record({args});
"""
    return f"""
CREATE OR REPLACE TRIGGER lims_audit AFTER INSERT OR UPDATE ON "{table}"
    FOR EACH ROW EXECUTE FUNCTION lims_audit_record({args});
CREATE OR REPLACE TRIGGER lims_no_delete BEFORE DELETE ON "{table}"
    FOR EACH ROW EXECUTE FUNCTION lims_refuse_delete();
"""


def install_triggers(using: str = "default") -> None:
    """Create or replace the audit functions and every regulated table's triggers."""
    sql = HASH_FUNCTION + RECORD_FUNCTION + REFUSE_FUNCTIONS
    sql += "".join(_table_triggers(spec) for spec in audited_models())
    with connections[using].cursor() as cursor:
        cursor.execute(sql)


def install_triggers_after_migrate(sender: Any, using: str = "default", **kwargs: Any) -> None:
    install_triggers(using)
