from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class ComplianceConfig(AppConfig):
    name = "compliance"
    verbose_name = _("Compliance")

    def ready(self) -> None:
        from batches.signals import projection_changed
        from compliance import checklists, webhook_events
        from compliance.readiness import versions
        from core import roles

        post_migrate.connect(roles.ensure_role_groups_after_migrate, sender=self)
        post_migrate.connect(checklists.ensure_reference_checklist_after_migrate, sender=self)
        # Readiness facts versions: after the audit triggers (core is installed first;
        # the bump is an UPDATE of an audited table).
        post_migrate.connect(versions.install_facts_triggers_after_migrate, sender=self)
        # Clinic systems hear of a projection move in the transaction that stored it.
        projection_changed.connect(webhook_events.on_projection_changed, dispatch_uid="webhook-projection")
