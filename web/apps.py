from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebConfig(AppConfig):
    """The HTML UI of both apps: views, forms, templates and template tags."""

    name = "web"
    verbose_name = _("Web UI")

    def ready(self) -> None:
        from web import idle, second_factor  # noqa: F401 - connect their user_logged_in receivers
