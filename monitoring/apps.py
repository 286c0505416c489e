from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MonitoringConfig(AppConfig):
    """Sweeps, flags' notifications and the Celery tasks (found by autodiscovery in ``tasks``)."""

    name = "monitoring"
    verbose_name = _("Monitoring")
