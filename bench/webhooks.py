"""Benchmark: outbox emit cost and delivery throughput to a local receiver that verifies every signature.

Uses its own database ``lims_bench_webhooks`` on the development server (the
embedded PostgreSQL, or the server of DATABASE_URL), never the development
data. One clinic with ``--endpoints`` endpoints pointing at a threaded
http.server on 127.0.0.1 that verifies each delivery with
``standardwebhooks.Webhook(secret).verify``; ``--events`` facts are emitted
(one transaction each, as the services do), then drained by ``--drains``
concurrent drains (threads, each its own connection: as several workers):

    .venv/bin/python bench/webhooks.py --events 2000 --endpoints 2 --drains 4

Prints the emit time per fact, the drain wall time, deliveries per second,
and checks that every event arrived exactly once and verified.
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from _setup import configure  # bench/ is the script's directory


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--endpoints", type=int, default=2)
    parser.add_argument("--drains", type=int, default=4)
    args = parser.parse_args()

    os.environ["LIMS_ENV"] = "test"  # loopback receivers are allowed in the test profile only
    configure("lims_bench_webhooks")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from standardwebhooks import Webhook

    from batches.models import Clinic
    from webhooks import delivery
    from webhooks.models import OutboxEvent, WebhookEndpoint
    from webhooks.outbox import emit
    from webhooks.services import new_secret

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:  # a fresh start: the outbox is not audited
        cursor.execute("DELETE FROM webhooks_outboxevent")
    secrets: dict[str, str] = {}
    seen: Counter[str] = Counter()
    bad: list[str] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            try:
                Webhook(secrets[self.path.lstrip("/")]).verify(body, dict(self.headers.items()))
            except Exception as error:
                bad.append(str(error))
            with lock:
                seen[self.headers["webhook-id"]] += 1
            self.send_response(204)
            self.end_headers()

        def log_message(self, *a: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    clinic, _ = Clinic.objects.get_or_create(code="BENCH-WH", defaults={"name": "Bench webhooks"})
    WebhookEndpoint.objects.filter(clinic=clinic).update(active=False)
    for n in range(args.endpoints):
        name = f"hook{n}-{time.time_ns()}"
        secrets[name] = new_secret()
        WebhookEndpoint.objects.create(
            clinic=clinic, url=f"http://127.0.0.1:{server.server_address[1]}/{name}",
            events=["batch.released"], secret=secrets[name],
        )  # fmt: skip

    start = time.perf_counter()
    for n in range(args.events):
        with transaction.atomic():
            emit(clinic_id=clinic.pk, type="batch.released", key=f"bench:{time.time_ns()}:{n}",
                 data={"din": f"A9999{n:08d}", "status": "released"})  # fmt: skip
    emitted = time.perf_counter() - start
    total = OutboxEvent.objects.filter(status="pending").count()

    def drain() -> None:
        try:
            while delivery.drain(rounds=1000).delivered:
                pass
        finally:
            connection.close()

    start = time.perf_counter()
    threads = [threading.Thread(target=drain) for _ in range(args.drains)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    drained = time.perf_counter() - start
    server.shutdown()

    print(f"facts emitted          {args.events} x {args.endpoints} endpoints = {total} events")
    print(f"emit, per fact         {emitted / args.events * 1000:.2f} ms (own transaction each)")
    print(f"drain ({args.drains} concurrent)   {drained:.2f} s, {total / drained:.0f} deliveries/s")
    print(f"arrived                {len(seen)} distinct ids, {sum(seen.values())} requests, "
          f"duplicates {sum(c - 1 for c in seen.values())}, signature failures {len(bad)}")  # fmt: skip
    left = OutboxEvent.objects.exclude(status="delivered").count()
    print(f"not delivered          {left}")


if __name__ == "__main__":
    main()
