"""Routes of the storage API, mounted at /api/v1/ beside the batches and compliance APIs."""

from django.urls import path

from api.storage import views

app_name = "storage_api"

urlpatterns = [
    path("storage/units/", views.StorageUnitList.as_view(), name="storage-unit-list"),
    path(
        "storage/units/<str:code>/positions",
        views.StorageUnitPositions.as_view(),
        name="storage-unit-positions",
    ),
    path(
        "storage/units/<str:code>/readings", views.StorageUnitReadings.as_view(), name="storage-unit-readings"
    ),
    path("doses/<str:dose_id>/store", views.DoseStore.as_view(), name="dose-store"),
    path("doses/<str:dose_id>/thaw", views.DoseThaw.as_view(), name="dose-thaw"),
]
