"""Web UI routes of QC work on a batch (mounted at the site root)."""

from django.urls import path

from web.views import qc as views

app_name = "qc"

urlpatterns = [
    path("batches/<str:din>/qc/", views.qc_results, name="results"),
    path("batches/<str:din>/qc/<str:test>/", views.qc_result_new, name="result_new"),
]
