"""Web UI routes of the batches app (mounted at the site root)."""

from django.urls import path

from web import views
from web.views import lab

app_name = "batches"

urlpatterns = [
    path("batches/", views.batch_list, name="list"),  # "/" is each role's home (web.views.home)
    path("worklists/", views.worklists, name="worklists"),
    path("flags/<int:pk>/acknowledge/", views.flag_acknowledge, name="flag_acknowledge"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/<int:pk>/read/", views.notification_read, name="notification_read"),
    path("batches/<str:din>/", views.batch_detail, name="detail"),
    path("batches/<str:din>/steps/", views.step_log, name="step_log"),
    path("batches/<str:din>/steps/fields/", views.step_fields, name="step_fields"),
    path("batches/<str:din>/custody/", views.custody_log, name="custody_log"),
    path("scan/", lab.scan_open, name="scan"),
    path("batches/<str:din>/steps/<int:pk>/correct/", lab.step_correct, name="step_correct"),
]
