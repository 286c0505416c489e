"""Routes of the compliance API, mounted at /api/v1/ beside the batches API."""

from django.urls import path

from api.gmp import views

app_name = "compliance_api"

urlpatterns = [
    path("batches/<str:din>/qc-results/", views.QcResultCreate.as_view(), name="qc-result-create"),
    path("batches/<str:din>/deviations/", views.DeviationCreate.as_view(), name="deviation-create"),
    path("deviations/<uuid:pk>/close", views.DeviationClose.as_view(), name="deviation-close"),
    path("deviations/<uuid:pk>/assess", views.DeviationAssess.as_view(), name="deviation-assess"),
    path(
        "deviations/<uuid:pk>/investigation",
        views.DeviationInvestigate.as_view(),
        name="deviation-investigate",
    ),
    path("batches/<str:din>/checklist/", views.ChecklistDetail.as_view(), name="checklist"),
    path(
        "batches/<str:din>/checklist/<slug:item_code>/sign",
        views.ChecklistSign.as_view(),
        name="checklist-sign",
    ),
    path("batches/<str:din>/release", views.BatchReleaseView.as_view(), name="batch-release"),
    path("batches/<str:din>/readiness", views.Readiness.as_view(), name="readiness"),
    path(
        "batches/<str:din>/administration-attempts/",
        views.AdministrationAttemptList.as_view(),
        name="administration-attempts",
    ),
    path("infusions/", views.InfusionCreate.as_view(), name="infusion-create"),
    path("infusions/<uuid:pk>/cancel", views.InfusionCancel.as_view(), name="infusion-cancel"),
    path("infusions/<uuid:pk>/reschedule", views.InfusionReschedule.as_view(), name="infusion-reschedule"),
    path(
        "infusions/<uuid:pk>/observations/", views.ObservationCreate.as_view(), name="infusion-observations"
    ),
    path("infusions/<uuid:pk>/administer", views.InfusionAdminister.as_view(), name="infusion-administer"),
    path("fhir/BiologicallyDerivedProduct/<str:dose_id>", views.FhirProduct.as_view(), name="fhir-bdp"),
]
