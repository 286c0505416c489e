"""The API's JSON parser: bounded body size and nesting depth (REST_FRAMEWORK's default parser).

Python's json module recurses once per nesting level: 10,000 nested
brackets end in a RecursionError. No API body needs more than a few levels, so
a body nested deeper than ``MAX_DEPTH`` arrays/objects is refused before it is
decoded: ``400`` problem+json.

The size is bounded before any parser runs: DRF reads a JSON body through
``request.body``, which refuses one larger than ``DATA_UPLOAD_MAX_MEMORY_SIZE``
(RequestDataTooBig; ``api.errors`` answers it ``413`` problem+json).
"""

from __future__ import annotations

import io
import re
from typing import IO, Any

from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.parsers import JSONParser

MAX_DEPTH = 32
# A string literal (skipped: brackets inside it do not nest) or one bracket.
_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


def nesting_depth(raw: bytes) -> int:
    """The deepest nesting of arrays and objects in JSON text (unbalanced text is json's to refuse)."""
    depth = deepest = 0
    for token in _TOKEN.findall(raw):
        if token in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        elif token in (b"]", b"}"):
            depth -= 1
    return deepest


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser (strict: no NaN or Infinity) behind a depth limit."""

    def parse(self, stream: IO[bytes], media_type: str | None = None, parser_context: Any = None) -> Any:
        raw = stream.read()  # already in memory: DRF hands JSON parsers request.body, size-checked
        if nesting_depth(raw) > MAX_DEPTH:
            raise exceptions.ParseError(
                _("JSON parse error - nested deeper than %(depth)s levels.") % {"depth": MAX_DEPTH}
            )
        return super().parse(io.BytesIO(raw), media_type, parser_context)
