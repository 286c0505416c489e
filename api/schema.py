"""OpenAPI postprocessing: what every authenticated operation can answer besides its own responses."""

from __future__ import annotations

from typing import Any

from api.errors import PROBLEM_JSON

TOO_MANY = {
    "description": (
        "Too many requests: the caller's token (or, for failed authentication, its client address) "
        "is over its rate. Wait for `Retry-After` seconds."
    ),
    "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}},
    "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
}


def document_throttling(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Add the 429 response to every operation (the throttles apply to all of them)."""
    for path in result.get("paths", {}).values():
        for method, operation in path.items():
            if method in {"get", "put", "post", "patch", "delete"}:
                operation.setdefault("responses", {}).setdefault("429", TOO_MANY)
    return result
