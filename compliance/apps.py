from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ComplianceConfig(AppConfig):
    name = "compliance"
    verbose_name = "Compliance"

    def ready(self) -> None:
        from compliance import audit, checklists, roles

        audit.connect_signals()
        post_migrate.connect(audit.install_triggers_after_migrate, sender=self)
        post_migrate.connect(roles.ensure_role_groups_after_migrate, sender=self)
        post_migrate.connect(checklists.ensure_reference_checklist_after_migrate, sender=self)
