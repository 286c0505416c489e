"""The load mix: clinics polling readiness, technicians logging counts, QC entering results, QA signing.

Run through ``bench/load/run.py`` (which seeds, starts the stack and runs 10, 50
and 200 users). Counted as a failure: any 5xx other than 503, a connection
error, or an unexpected 4xx. A 409 (a rule refused the action: the batch was
in the wrong state, evidence not met) is a correct answer under load, and 429
or 503 are the clean "too busy" answers; both are reported separately.
"""

from __future__ import annotations

import json
import os
import random
from datetime import UTC, datetime
from pathlib import Path

from locust import HttpUser, between, events, task

FIXTURES = json.loads(Path(os.environ.get("LOAD_FIXTURES", "var/load/fixtures.json")).read_text())
CLEAN_REFUSALS = {409}
BUSY = {429, 503}
busy_answers = {"429": 0, "503": 0}
created: dict[
    str, int
] = {}  # 201 answers per request name: acknowledged writes, checked against the database


def _check(response, name: str = "") -> None:  # type: ignore[no-untyped-def]
    status = response.status_code
    if status == 201:
        created[name] = created.get(name, 0) + 1
    if 200 <= status < 300 or status in CLEAN_REFUSALS:
        response.success()
    elif status in BUSY:
        busy_answers[str(status)] += 1
        response.success()  # clean back-pressure, counted apart
    else:
        response.failure(f"status {status}: {response.text[:200]}")


class ApiUser(HttpUser):
    abstract = True
    role = "clinic"
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        self.client.headers["Authorization"] = f"Bearer {random.choice(FIXTURES['tokens'][self.role])}"

    def post(self, path: str, body: dict, name: str) -> None:
        with self.client.post(path, json=body, name=name, catch_response=True) as response:
            _check(response, name)

    def get(self, path: str, name: str) -> None:
        with self.client.get(path, name=name, catch_response=True) as response:
            _check(response)


class ClinicSystem(ApiUser):
    """A clinic system polling its batches' readiness (the bulk of the traffic)."""

    weight = 6
    role = "clinic"

    @task
    def readiness(self) -> None:
        self.get(f"/api/v1/batches/{random.choice(FIXTURES['readiness'])}/readiness", "readiness")


class Technician(ApiUser):
    weight = 2
    role = "technician"

    @task
    def cell_count(self) -> None:
        scanned = random.choice(FIXTURES["culture"])
        self.post(
            f"/api/v1/batches/{scanned[:-1]}/steps/",
            {"kind": "cell_count", "performed_at": datetime.now(UTC).isoformat(), "scanned_identifier": scanned,
             "viable_cells": random.randint(10**7, 10**9), "viability_pct": 93.0, "confluence_pct": 70.0},
            "step cell_count",
        )  # fmt: skip


class QcAnalyst(ApiUser):
    weight = 1
    role = "qc"

    @task
    def result(self) -> None:
        din = random.choice(FIXTURES["qc"])[:-1]
        self.post(f"/api/v1/batches/{din}/qc-results/", {"test": "viability", "value": 92.5}, "qc result")


class QaReviewer(ApiUser):
    weight = 1
    role = "qa"

    @task
    def sign(self) -> None:
        din = random.choice(FIXTURES["qa"])[:-1]
        self.post(
            f"/api/v1/batches/{din}/checklist/deviations_closed/sign",
            {"password": FIXTURES["password"], "meaning": "reviewed"},
            "checklist sign",
        )


@events.quitting.add_listener
def _report_busy(environment, **kwargs) -> None:  # type: ignore[no-untyped-def]
    out = {"busy": busy_answers, "created": created}
    Path(os.environ.get("LOAD_BUSY_FILE", "var/load/busy.json")).write_text(json.dumps(out))
