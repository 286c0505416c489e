"""HTML templates to PDF with WeasyPrint, with the furniture every page carries.

Every page shows "page N of M", the batch identity, when the document was
generated (with the zone) and by whom: CSS page-margin boxes in
``documents/base.html`` fill them from ``furniture``. The page counter is
CSS (``counter(page)``/``counter(pages)``), so the translated sentence is cut
at its placeholders and rebuilt as a CSS ``content`` value in the
translation's own word order (Japanese puts the total first).
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

_PLACEHOLDER = re.compile(r"%\((page|pages)\)s")


def css_string(text: str) -> str:
    """``text`` as a CSS string literal (quotes, backslashes and line breaks escaped)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\A ")
    return f'"{escaped}"'


def page_counter_content() -> str:
    """CSS ``content`` for "page N of M" in the active language."""
    sentence = _("page %(page)s of %(pages)s")
    parts, position = [], 0
    for match in _PLACEHOLDER.finditer(sentence):
        if match.start() > position:
            parts.append(css_string(sentence[position : match.start()]))
        parts.append(f"counter({match.group(1)})")
        position = match.end()
    if position < len(sentence):
        parts.append(css_string(sentence[position:]))
    return " ".join(parts)


def furniture(*, title: str, identity_line: str, generated_by: str, size: str = "A4") -> dict[str, Any]:
    """The page header and footer: document title, batch identity, generated at (with zone) and by."""
    generated = timezone.localtime().strftime("%Y-%m-%d %H:%M:%S %Z (UTC%z)")
    return {
        "title": title,
        "size": size,
        "header_left": css_string(f"{title} · {identity_line}"),
        "footer_left": css_string(_("Generated %(at)s by %(who)s") % {"at": generated, "who": generated_by}),
        "footer_right": page_counter_content(),
        "generated_at": generated,
        "generated_by": generated_by,
        "language": get_language() or settings.LANGUAGE_CODE,
    }


def render_pdf(template_name: str, context: dict[str, Any]) -> bytes:
    """Render ``template_name`` with ``context`` and lay it out as PDF."""
    from weasyprint import HTML  # imported on use: loading pango costs a few hundred ms

    html = render_to_string(template_name, context)
    return HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf()
