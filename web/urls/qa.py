"""Web UI routes of QA work on a batch (mounted at the site root)."""

from django.urls import path

from web.views import qa as views

app_name = "compliance"

urlpatterns = [
    path("batches/<str:din>/release/", views.checklist, name="checklist"),
    path("batches/<str:din>/release/items/<str:code>/sign/", views.checklist_sign, name="checklist_sign"),
    path("batches/<str:din>/release/sign/", views.checklist_sign_many, name="checklist_sign_many"),
    path("batches/<str:din>/release/decision/", views.release_decide, name="release"),
    path("batches/<str:din>/findings/<int:pk>/assess/", views.finding_assess, name="finding_assess"),
    path("batches/<str:din>/deviations/", views.deviation_open, name="deviation_open"),
    path("batches/<str:din>/deviations/<uuid:pk>/", views.deviation_detail, name="deviation"),
    path(
        "batches/<str:din>/deviations/<uuid:pk>/investigate/",
        views.deviation_investigate,
        name="deviation_investigate",
    ),
    path("batches/<str:din>/deviations/<uuid:pk>/assess/", views.deviation_assess, name="deviation_assess"),
    path("batches/<str:din>/deviations/<uuid:pk>/close/", views.deviation_close, name="deviation_close"),
]
