"""Routes of the webhooks API, mounted at /api/v1/webhooks/."""

from django.urls import path

from api.webhooks import views

app_name = "webhooks_api"

urlpatterns = [
    path("endpoints/", views.EndpointList.as_view(), name="endpoint-list"),
    path("endpoints/<uuid:pk>/", views.EndpointDetail.as_view(), name="endpoint-detail"),
    path("endpoints/<uuid:pk>/rotate-secret", views.EndpointRotateSecret.as_view(), name="endpoint-rotate"),
    path("events/", views.EventList.as_view(), name="event-list"),
    path("events/<uuid:pk>/", views.EventDetail.as_view(), name="event-detail"),
    path("events/<uuid:pk>/redeliver", views.EventRedeliver.as_view(), name="event-redeliver"),
]
