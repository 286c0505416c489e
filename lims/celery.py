"""The Celery application. Tasks live in each app's tasks.py; the schedule is in settings."""

import os
from typing import Any

from celery import Celery
from celery.signals import worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lims.settings")

app = Celery("lims")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_ready.connect
def sweep_on_start(sender: Any = None, **kwargs: Any) -> None:
    """Run every sweep as soon as a worker is up, not one beat interval later (off in tests)."""
    if app.conf.get("sweep_on_worker_ready"):
        app.send_task("batches.sweep_all")
