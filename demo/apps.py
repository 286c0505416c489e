from django.apps import AppConfig


class DemoConfig(AppConfig):
    """``seed_demo``: clinics, staff, protocols and batches in every state."""

    name = "demo"
    verbose_name = "Demo data"
