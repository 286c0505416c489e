"""A real HTTP receiver (http.server in a thread) that verifies every delivery with standardwebhooks.

The receiver plays the clinic system: it knows each endpoint's secret by the
path it registered, verifies the signature with the published library
(``standardwebhooks.Webhook(secret).verify``) and answers with the statuses a
test scripts (200 when none). It can be stopped (connection refused) and
started again on the same port.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from batches.models import Batch, Clinic
from tests.builders import Staff
from webhooks import services
from webhooks.models import EventType, WebhookEndpoint


@dataclass
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool
    payload: Any = None

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    @property
    def type(self) -> str:
        return self.payload["type"]


@dataclass
class Receiver:
    port: int = 0
    secrets: dict[str, str] = field(default_factory=dict)  # path -> secret
    deliveries: list[Delivery] = field(default_factory=list)
    script: deque[int] = field(default_factory=deque)  # statuses to answer, in turn; then 200
    redirect_to: str | None = None
    delay: float = 0.0  # seconds before answering
    reply_body: bytes = b""
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"

    def verified(self, path: str | None = None) -> list[Delivery]:
        with self._lock:
            return [d for d in self.deliveries if d.verified and (path is None or d.path == path)]

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver._record(self.path, dict(self.headers.items()), body)
                status = receiver._next_status()
                time.sleep(receiver.delay)
                self.send_response(status)
                if status in (301, 302, 307, 308) and receiver.redirect_to:
                    self.send_header("Location", receiver.redirect_to)
                self.send_header("Content-Length", str(len(receiver.reply_body)))
                self.end_headers()
                with contextlib.suppress(OSError):  # the client stopped reading at its cap
                    self.wfile.write(receiver.reply_body)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _next_status(self) -> int:
        with self._lock:
            return self.script.popleft() if self.script else 200

    def _record(self, path: str, headers: dict[str, str], body: bytes) -> None:
        name = path.lstrip("/")
        secret = self.secrets.get(name)
        try:
            payload = Webhook(secret).verify(body, headers) if secret else None
            verified = secret is not None
        except WebhookVerificationError:
            payload, verified = json.loads(body or b"null"), False
        with self._lock:
            self.deliveries.append(
                Delivery(name, {k.lower(): v for k, v in headers.items()}, body, verified, payload)
            )


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    server.start()
    yield server
    server.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def subscribe(
    receiver: Receiver, clinic: Clinic, name: str, events: list[str] | None = None
) -> WebhookEndpoint:
    """Register ``receiver``'s path ``name`` for ``clinic`` (as an admin would) and give it the secret."""
    from tests.factories import coordinator_of

    endpoint, secret = services.endpoint_create(
        clinic=clinic,
        url=receiver.url(name),
        events=events or list(EventType.values),
        actor=coordinator_of(clinic),
    )
    receiver.secrets[name] = secret
    return endpoint


def clinic_of(batch: Batch) -> Clinic:
    return batch.therapy.patient.clinic


@pytest.fixture
def staff(db: None) -> Staff:
    return Staff.create()
