"""The web UI of the batches app: thin views over the selectors and services."""

from web.views.detail import batch_detail, custody_log, render_detail, step_fields, step_log
from web.views.home import home
from web.views.lists import batch_list, flag_acknowledge, notification_read, notifications, worklists

__all__ = [
    "batch_detail",
    "batch_list",
    "custody_log",
    "flag_acknowledge",
    "home",
    "notification_read",
    "notifications",
    "render_detail",
    "step_fields",
    "step_log",
    "worklists",
]
