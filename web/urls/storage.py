"""Web UI routes of storage: tanks and freezers, a tank's map and its scan actions."""

from django.urls import path

from web.views import storage

app_name = "storage"

urlpatterns = [
    path("storage/", storage.storage_units, name="units"),
    path("storage/excursions/<int:pk>/assess/", storage.excursion_assess_view, name="excursion_assess"),
    path("storage/<str:code>/", storage.tank_map, name="tank"),
    path("storage/<str:code>/positions/<str:position>/", storage.position_history, name="position"),
    path("storage/<str:code>/<slug:action>/", storage.tank_action, name="action"),
]
