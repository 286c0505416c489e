"""A coordinator belongs to exactly one clinic, enforced by the database.

Roles are Django groups (compliance.roles), so "is a coordinator" is a row in
the membership table, not a column of the user: a CHECK constraint cannot see
it. Two constraint triggers check the rule instead, one on each side that can
break it: joining the coordinator group, and setting or clearing the user's
clinic. They are DEFERRABLE INITIALLY IMMEDIATE: a refused write fails at the
statement (inside the service's transaction), and a transaction that needs to
set groups before the clinic can ``SET CONSTRAINTS ... DEFERRED``. One clinic
at most is the foreign key itself. Existing rows are not rechecked.
"""

from django.db import migrations

FUNCTION = r"""
CREATE OR REPLACE FUNCTION lims_coordinator_has_clinic() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    uid bigint;
BEGIN
    IF TG_TABLE_NAME = 'compliance_user' THEN
        uid := NEW.id;
    ELSE
        uid := NEW.user_id;
    END IF;
    IF EXISTS (
        SELECT 1 FROM compliance_user u
          JOIN compliance_user_groups m ON m.user_id = u.id
          JOIN auth_group g ON g.id = m.group_id
         WHERE u.id = uid AND g.name = 'coordinator' AND u.clinic_id IS NULL
    ) THEN
        RAISE EXCEPTION 'a coordinator must belong to a clinic (user %)', uid
            USING ERRCODE = 'check_violation', CONSTRAINT = 'coordinator_has_clinic';
    END IF;
    RETURN NULL;
END
$$;
"""

TRIGGERS = """
CREATE CONSTRAINT TRIGGER coordinator_has_clinic AFTER INSERT OR UPDATE OF clinic_id ON compliance_user
    DEFERRABLE INITIALLY IMMEDIATE FOR EACH ROW EXECUTE FUNCTION lims_coordinator_has_clinic();
CREATE CONSTRAINT TRIGGER coordinator_has_clinic AFTER INSERT OR UPDATE ON compliance_user_groups
    DEFERRABLE INITIALLY IMMEDIATE FOR EACH ROW EXECUTE FUNCTION lims_coordinator_has_clinic();
"""

REVERSE = """
DROP TRIGGER IF EXISTS coordinator_has_clinic ON compliance_user;
DROP TRIGGER IF EXISTS coordinator_has_clinic ON compliance_user_groups;
DROP FUNCTION IF EXISTS lims_coordinator_has_clinic();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("compliance", "0004_signature_unique"),
    ]

    operations = [migrations.RunSQL(FUNCTION + TRIGGERS, REVERSE)]
