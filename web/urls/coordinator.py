"""Web UI routes of the clinic side: the coordinator's worklist, scheduling, the bedside."""

from django.urls import path

from web.views import coordinator as views

app_name = "coordinator"

urlpatterns = [
    path("coordinator/", views.worklist, name="worklist"),
    path("doses/<str:dose_id>/schedule/", views.dose_schedule, name="schedule"),
    path("infusions/<uuid:pk>/", views.infusion_detail, name="infusion"),
    path("infusions/<uuid:pk>/cancel/", views.infusion_cancel_view, name="cancel"),
    path("infusions/<uuid:pk>/reschedule/", views.infusion_reschedule_view, name="reschedule"),
    path("infusions/<uuid:pk>/bedside/", views.bedside, name="bedside"),
    path("infusions/<uuid:pk>/observations/", views.observation_add, name="observation"),
]
