"""The API's JSON parser: bounded body size and nesting depth (REST_FRAMEWORK's default parser).

DRF reads a JSON body straight from the request stream, so Django's
``DATA_UPLOAD_MAX_MEMORY_SIZE`` never applies to it, and Python's json module
recurses once per nesting level: 10,000 nested brackets end in a
RecursionError. No API body needs more than a few levels, so the body is
refused before it is decoded:

* larger than ``DATA_UPLOAD_MAX_MEMORY_SIZE`` bytes: ``413`` problem+json;
* nested deeper than ``MAX_DEPTH`` arrays/objects: ``400`` problem+json.
"""

from __future__ import annotations

import io
import re
from typing import IO, Any

from django.conf import settings
from rest_framework import exceptions, status
from rest_framework.parsers import JSONParser

MAX_DEPTH = 32
# A string literal (skipped: brackets inside it do not nest) or one bracket.
_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


class BodyTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "body_too_large"


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
    """DRF's JSON parser (strict: no NaN or Infinity) behind a size and a depth limit."""

    def parse(self, stream: IO[bytes], media_type: str | None = None, parser_context: Any = None) -> Any:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read(limit + 1)
        if len(raw) > limit:
            raise BodyTooLarge(f"The request body is larger than {limit} bytes.")
        if nesting_depth(raw) > MAX_DEPTH:
            raise exceptions.ParseError(f"JSON parse error - nested deeper than {MAX_DEPTH} levels.")
        return super().parse(io.BytesIO(raw), media_type, parser_context)
