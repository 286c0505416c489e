from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DocumentsConfig(AppConfig):
    """Batch record and certificate PDFs, ISBT 128 labels (PDF and ZPL), CSV exports, the growth chart."""

    name = "documents"
    verbose_name = _("Documents")
    default_auto_field = "django.db.models.BigAutoField"
