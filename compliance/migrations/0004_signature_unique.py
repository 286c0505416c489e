"""One signature per (record, signer, meaning, signed content), enforced by the database.

Signatures are regulated records and are never deleted, so duplicates that
concurrent signing created before this constraint existed are kept and marked
instead: every repeat gets ``duplicate_of`` = the earliest identical signature
(an audited UPDATE, so the marking itself is in the trail), and the unique
constraint covers only unmarked rows. That makes the constraint addable on any
existing data without losing or rewriting what was signed.
"""

import django.db.models.deletion
from django.db import migrations, models

MARK_DUPLICATES = """
SELECT set_config('lims.audit_context', jsonb_build_object(
    'actor_name', 'migration compliance.0004_signature_unique',
    'reason', 'repeat of an identical signature marked as duplicate (issue 9)')::text, true);
UPDATE compliance_signature s SET duplicate_of_id = first.id
  FROM (SELECT DISTINCT ON (record_type, record_id, signer_id, meaning, content_hash)
               id, record_type, record_id, signer_id, meaning, content_hash
          FROM compliance_signature
         ORDER BY record_type, record_id, signer_id, meaning, content_hash, signed_at, id) first
 WHERE (s.record_type, s.record_id, s.signer_id, s.meaning, s.content_hash)
     = (first.record_type, first.record_id, first.signer_id, first.meaning, first.content_hash)
   AND s.id <> first.id;
-- The new foreign key's deferred checks must run now: ALTER TABLE refuses pending trigger events.
SET CONSTRAINTS ALL IMMEDIATE;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("compliance", "0003_administration_attempts"),
    ]

    operations = [
        migrations.AddField(
            model_name="signature",
            name="duplicate_of",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="compliance.signature",
            ),
        ),
        migrations.RunSQL(MARK_DUPLICATES, migrations.RunSQL.noop),
        migrations.AddConstraint(
            model_name="signature",
            constraint=models.UniqueConstraint(
                condition=models.Q(("duplicate_of__isnull", True)),
                fields=("record_type", "record_id", "signer", "meaning", "content_hash"),
                name="signature_once_per_content",
            ),
        ),
    ]
