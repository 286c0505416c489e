from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class BatchesConfig(AppConfig):
    name = "batches"
    verbose_name = _("Batches")

    def ready(self) -> None:
        from batches import protocols

        # After the audit triggers (core is installed first), so the
        # reference protocols are created on the record.
        post_migrate.connect(protocols.ensure_reference_protocols_after_migrate, sender=self)
