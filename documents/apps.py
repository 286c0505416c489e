from django.apps import AppConfig


class DocumentsConfig(AppConfig):
    """Batch record and certificate PDFs, ISBT 128 labels (PDF and ZPL), CSV exports, the growth chart."""

    name = "documents"
    verbose_name = "Documents"
    default_auto_field = "django.db.models.BigAutoField"
