from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    """Sweeps, flags' notifications and the Celery tasks (found by autodiscovery in ``tasks``)."""

    name = "monitoring"
    verbose_name = "Monitoring"
