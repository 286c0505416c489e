from django.apps import AppConfig


class WebConfig(AppConfig):
    """The HTML UI of both apps: views, forms, templates and template tags."""

    name = "web"
    verbose_name = "Web UI"
