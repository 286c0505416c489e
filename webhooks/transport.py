"""One HTTP POST to a checked address: bounded in time and size, no redirects followed.

``http.client`` rather than a full client library, because what matters here
is what it does NOT do: it follows no redirect (a 3xx is just a failed
attempt), reads no proxy settings from the environment, and lets us connect
the socket to the address ``safety.check_url`` approved, while TLS still
checks the certificate against the host name (SNI and hostname verification).
"""

from __future__ import annotations

import http.client
import socket
import ssl
from dataclasses import dataclass

from django.conf import settings

from webhooks.safety import Target


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes  # at most WEBHOOKS_MAX_RESPONSE_BYTES


def _connect(target: Target) -> socket.socket:
    sock = socket.create_connection((target.address, target.port), timeout=settings.WEBHOOKS_CONNECT_TIMEOUT)
    sock.settimeout(settings.WEBHOOKS_READ_TIMEOUT)
    return sock


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, target: Target) -> None:
        super().__init__(target.host, target.port)
        self._target = target

    def connect(self) -> None:
        self.sock = _connect(self._target)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, target: Target) -> None:
        super().__init__(target.host, target.port, context=ssl.create_default_context())
        self._target = target

    def connect(self) -> None:
        self.sock = self._context.wrap_socket(_connect(self._target), server_hostname=self._target.host)


def post(target: Target, body: bytes, headers: dict[str, str]) -> Response:
    """POST ``body`` to ``target``; raises OSError (refused, timeout, TLS) or http.client errors."""
    connection_class = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(target)
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        response = connection.getresponse()
        # Read no more than the cap: a receiver cannot make us buffer an endless reply.
        return Response(response.status, response.read(settings.WEBHOOKS_MAX_RESPONSE_BYTES))
    finally:
        connection.close()
