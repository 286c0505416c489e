from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.utils.translation import gettext_lazy
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from lims import health
from web import views as batch_views
from web.views import second_factor

admin.site.site_header = gettext_lazy("Cell processing LIMS")
admin.site.site_title = gettext_lazy("LIMS admin")

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/second-factor/", second_factor.second_factor, name="second-factor"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include("api.lab.urls")),
    path("api/v1/", include("api.gmp.urls")),
    path("api/v1/", include("api.documents")),
    path("api/v1/webhooks/", include("api.webhooks.urls")),
    path("api/v1/", include("api.storage.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script as a file: the CSP allows no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("", batch_views.home, name="home"),  # each role's worklist, else the batch list; LOGIN_REDIRECT_URL
    path("", include("web.urls.lab")),
    path("", include("web.urls.qa")),
    path("", include("web.urls.qc")),
    path("", include("web.urls.coordinator")),
    path("", include("web.urls.session")),
    path("", include("web.urls.storage")),
]
handler404 = "api.errors.handler404"  # problem+json for unknown URLs under /api/
handler500 = "api.errors.handler500"  # problem+json for an unexpected error under /api/
