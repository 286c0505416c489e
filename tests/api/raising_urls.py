"""A test-only URLconf: the project's URLs plus an API view and a page that fail with a bug."""

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.views import APIView

from lims import urls as project


class Broken(APIView):
    permission_classes = [AllowAny]

    def get(self, request: Request) -> None:
        raise RuntimeError("secret internal detail")


def broken_page(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("secret internal detail")


class DatabaseGone(APIView):
    """What a request sees while PostgreSQL restarts (bench/faults/pg_restart.py does it for real)."""

    permission_classes = [AllowAny]

    def get(self, request: Request) -> None:
        raise OperationalError("server closed the connection unexpectedly")


def database_gone_page(request: HttpRequest) -> HttpResponse:
    raise InterfaceError("connection already closed")


urlpatterns = [
    path("api/v1/broken/", Broken.as_view()),
    path("broken/", broken_page),
    path("api/v1/database-gone/", DatabaseGone.as_view()),
    path("database-gone/", database_gone_page),
    *project.urlpatterns,
]
handler404 = project.handler404
handler500 = getattr(project, "handler500", None)  # Django's default page when the project has none
