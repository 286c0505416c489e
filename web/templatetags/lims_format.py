"""How the web UI prints what people read: code names, the DIN as ISBT 128 prints it, times with their zone.

``{% load lims_format %}``, then ``{{ test|label }}``, ``{{ batch.din|din_label }}``,
``{{ infusion.scheduled_for|when }}`` and ``{% idle_logout_settings %}``.
"""

from __future__ import annotations

import datetime as dt

from django import template
from django.conf import settings
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from core import isbt128
from web import labels
from web.idle import idle_seconds_left

register = template.Library()

# Unambiguous in a lab (no US month/day order); Japanese reads 2026年12月2日 14:30.
_WHEN_FORMATS = {"ja": "Y年n月j日 H:i"}
_WHEN_DEFAULT = "Y-m-d H:i"


@register.filter
def label(code: object) -> str:
    """``viable_cell_count`` -> "Viable cell count" (translated): see ``web.labels``."""
    return labels.label(code)


@register.filter
def din_label(din: str) -> SafeString | str:
    """The DIN as the eye-readable ISBT 128 label prints it: FIN, year, sequence, then K in a box.

    ``A999926000001`` -> ``A9999 26 000001 [M]``; the check character is set apart
    so nobody types it as part of the DIN. Anything that is not a DIN is shown unchanged.
    """
    try:
        k = isbt128.check_character(din)
    except (ValueError, TypeError):
        return din
    return format_html(
        '<span class="din-label" translate="no"><span class="din-fin">{}</span> <span class="din-year">{}</span> '
        '<span class="din-seq">{}</span> <span class="din-k" title="{}">{}</span></span>',
        din[:5],
        din[5:7],
        din[7:],
        _("Keyboard check character"),
        k,
    )


@register.filter
def when(value: dt.datetime | None) -> SafeString | str:
    """An aware time in the facility's zone with the zone named, inside ``<time datetime=...>``."""
    if not isinstance(value, dt.datetime):
        return "" if value is None else str(value)
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    language = (get_language() or "en").split("-")[0]
    text = formats.date_format(local, _WHEN_FORMATS.get(language, _WHEN_DEFAULT))
    return format_html('<time datetime="{}">{} {}</time>', local.isoformat(), text, local.tzname() or "")


@register.inclusion_tag("web/_idle_logout.html", takes_context=True)
def idle_logout_settings(context: template.Context) -> dict[str, object]:
    """The idle-logout warning dialog and its timings, for ``web/static/web/idle.js`` (signed-in pages only)."""
    user, request = context.get("user"), context.get("request")
    enabled = bool(user is not None and user.is_authenticated and request is not None)
    return {
        "enabled": enabled,
        "timeout_seconds": int(settings.LIMS_IDLE_TIMEOUT.total_seconds()),
        "warning_seconds": int(settings.LIMS_IDLE_WARNING.total_seconds()),
        "remaining_seconds": idle_seconds_left(request) if enabled else 0,
    }
