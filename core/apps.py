from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    """The audit trail and roles; installed first so its triggers exist before any app writes."""

    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from core import audit

        audit.connect_signals()
        post_migrate.connect(audit.install_triggers_after_migrate, sender=self)
