"""Routes of the batches API, mounted at /api/v1/ (lims/urls.py).

Unknown URLs under /api/ get a problem+json 404 from ``api.errors.handler404``.
"""

from django.urls import path

from api.lab import views

app_name = "batches_api"

urlpatterns = [
    path("protocols/", views.ProtocolList.as_view(), name="protocol-list"),
    path("locations/", views.LocationList.as_view(), name="location-list"),
    path("patients/", views.PatientCreate.as_view(), name="patient-create"),
    path("patients/<uuid:pk>/", views.PatientDetail.as_view(), name="patient-detail"),
    path("therapies/", views.TherapyCreate.as_view(), name="therapy-create"),
    path("collections/", views.CollectionCreate.as_view(), name="collection-create"),
    path("batches/", views.BatchList.as_view(), name="batch-list"),
    path("batches/<str:din>/", views.BatchDetail.as_view(), name="batch-detail"),
    path("batches/<str:din>/custody/", views.CustodyCreate.as_view(), name="batch-custody"),
    path("batches/<str:din>/steps/", views.StepCreate.as_view(), name="batch-steps"),
]
