from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    """The audit trail and roles; installed first so its triggers exist before any app writes."""

    name = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        from core import audit

        audit.connect_signals()
        post_migrate.connect(audit.install_triggers_after_migrate, sender=self)
