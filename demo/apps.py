from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DemoConfig(AppConfig):
    """``seed_demo``: clinics, staff, protocols and batches in every state."""

    name = "demo"
    verbose_name = _("Demo data")
