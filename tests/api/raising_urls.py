"""A test-only URLconf: the project's URLs plus an API view and a page that fail with a bug."""

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


urlpatterns = [path("api/v1/broken/", Broken.as_view()), path("broken/", broken_page), *project.urlpatterns]
handler404 = project.handler404
handler500 = getattr(project, "handler500", None)  # Django's default page when the project has none
