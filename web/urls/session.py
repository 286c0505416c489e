"""Web UI routes of the session itself (idle logout's keepalive)."""

from django.urls import path

from web import idle

app_name = "web"

urlpatterns = [path("session/keepalive/", idle.keepalive, name="keepalive")]
