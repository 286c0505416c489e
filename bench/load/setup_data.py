"""Seed the load-test database: 100,000 batches, staff with passwords, tokens, and the DINs each scenario uses.

    .venv/bin/python bench/load/setup_data.py [--batches 100000]

Writes ``var/load/fixtures.json`` (tokens and DIN samples; never committed).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # bench/
from _setup import BASE_DIR, configure  # noqa: E402

DATABASE = "lims_bench_load"
TOKENS_PER_ROLE = 40
PASSWORD = "load-test-password-1"  # noqa: S105 - a throwaway account in the bench database


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=100_000)
    args = parser.parse_args()
    configure(DATABASE)
    import django

    django.setup()
    import sweep as sweep_bench  # bench/sweep.py: the set-based seeding
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.utils import timezone

    from batches.models import Batch, Clinic
    from compliance.models import User
    from compliance.tokens import token_issue
    from core.isbt128 import check_character
    from core.roles import Role

    call_command("migrate", verbosity=0)
    print(f"seeded {args.batches:,} batches in {sweep_bench._seed(args.batches, timezone.now()):.1f} s")
    clinic = Clinic.objects.get(code="BENCH")
    # Many clinic systems and staff members, each with its own token: the per-token rate
    # (1,200/min) is then a limit on one caller, as in production, not on the whole test.
    tokens: dict[str, list[str]] = {"clinic": [token_issue(clinic=clinic)[1] for _ in range(TOKENS_PER_ROLE)]}
    for role in (Role.TECHNICIAN, Role.QC, Role.QA):
        tokens[str(role)] = []
        for i in range(TOKENS_PER_ROLE):
            user, _ = User.objects.get_or_create(
                username=f"load-{role}-{i}", defaults={"full_name": f"Load {role} {i}"}
            )
            user.set_password(PASSWORD)
            user.save()
            user.groups.add(Group.objects.get(name=role))
            tokens[str(role)].append(token_issue(user=user)[1])
    print("refreshing stored readiness facts")
    call_command("refresh_readiness_facts", "--all", verbosity=0)

    def sample(status: str, n: int) -> list[str]:
        dins = Batch.objects.filter(status=status).order_by("?").values_list("din", flat=True)[:n]
        return [din + check_character(din) for din in dins]

    fixtures = {
        "password": PASSWORD,
        "tokens": tokens,
        "readiness": [d[:-1] for d in sample("in_culture", 3000) + sample("released", 1000)],
        "culture": sample("in_culture", 3000),
        "qc": sample("harvested", 2000) + sample("pending_release", 2000),
        "qa": sample("pending_release", 1000),
    }
    out = BASE_DIR / "var" / "load" / "fixtures.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(fixtures))
    print(f"fixtures written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
