"""The sweeps: flags open, stay single, escalate, notify once and resolve when the condition clears."""

import datetime as dt
import io

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from batches.models import Batch, Dose, Flag, Notification
from compliance.models import AuditEntry, Infusion, QcResult
from core.roles import Role
from monitoring import conditions, sweeps
from monitoring import reconcile as reconcile_module
from monitoring.sweeps import (
    batch_flags_refresh,
    flag_acknowledge,
    sweep_all,
    sweep_culture,
    sweep_expiry,
)
from tests.batches.conftest import DAY, HOUR, log
from tests.factories import ClinicFactory, UserFactory, coordinator_of

K = Flag.Kind


def open_flags(batch: Batch) -> dict[str, str]:
    return dict(Flag.objects.filter(batch=batch, resolved_at__isnull=True).values_list("kind", "severity"))


def counts(batch: Batch, technician, days: list[float], cells: list[int]) -> None:
    """Log cell counts ``days`` after seeding (time travels to just after the last one)."""
    seeded_at = batch.steps.get(kind="seeding").performed_at
    for day, n in zip(days, cells, strict=True):
        log(
            batch,
            "cell_count",
            technician,
            viable_cells=n,
            viability_pct=92,
            performed_at=seeded_at + day * DAY,
        )


@pytest.fixture
def traveller():
    """Move the clock: ``traveller(delta)`` jumps forward from the real now."""
    start = timezone.now()
    machines: list[time_machine.travel] = []

    def travel(delta: dt.timedelta) -> dt.datetime:
        if machines:
            machines.pop().stop()
        machines.append(time_machine.travel(start + delta, tick=False))
        machines[0].start()
        return start + delta

    yield travel
    if machines:
        machines.pop().stop()


def test_overdue_culture_flagged_once_however_often_the_sweep_runs(in_culture, technician, traveller):
    traveller(29 * DAY)
    first = {r.kind: r for r in sweep_culture()}
    second = {r.kind: r for r in sweep_culture()}

    assert open_flags(in_culture)[K.CULTURE_OVERDUE] == "critical"
    assert len(first[K.CULTURE_OVERDUE].opened) == 1
    assert second[K.CULTURE_OVERDUE].opened == [] and second[K.CULTURE_OVERDUE].kept == 1
    assert Flag.objects.filter(batch=in_culture, kind=K.CULTURE_OVERDUE).count() == 1


def test_due_soon_then_overdue_notifies_the_technicians_once_each(
    in_culture, technician, traveller, django_capture_on_commit_callbacks
):
    other_tech = UserFactory(role=Role.TECHNICIAN, email="tech2@example.org")
    UserFactory(role=Role.QC, email="qc@example.org")  # not responsible for culture flags
    technician.email = "tech@example.org"
    technician.save()

    traveller(27 * DAY)
    sweep_culture()
    sweep_culture()
    assert K.CULTURE_DUE_SOON in open_flags(in_culture)
    due_soon = Notification.objects.filter(flag__kind=K.CULTURE_DUE_SOON)
    assert sorted(due_soon.values_list("user_id", flat=True)) == sorted([technician.pk, other_tech.pk])

    traveller(29 * DAY)
    with django_capture_on_commit_callbacks(execute=True):
        sweep_culture()
    flags = open_flags(in_culture)
    assert K.CULTURE_DUE_SOON not in flags and flags[K.CULTURE_OVERDUE] == "critical"
    overdue = Notification.objects.filter(flag__kind=K.CULTURE_OVERDUE)
    assert overdue.count() == 2
    culture_mail = [m for m in mail.outbox if "maximum" in m.subject.lower()]
    assert {tuple(m.to) for m in culture_mail} == {("tech@example.org",), ("tech2@example.org",)}


def test_emails_leave_only_after_commit(
    in_culture, technician, traveller, django_capture_on_commit_callbacks
):
    technician.email = "tech@example.org"
    technician.save()
    traveller(29 * DAY)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        sweep_culture()
    assert mail.outbox == [] and callbacks
    for callback in callbacks:
        callback()
    assert any("Culture past its maximum" in m.subject for m in mail.outbox)


def test_feeding_overdue_resolves_when_a_feeding_is_logged(in_culture, technician, serum, traveller):
    traveller(4 * DAY)
    sweep_culture()
    assert K.FEEDING_OVERDUE in open_flags(in_culture)

    log(in_culture, "feeding", technician, medium_lot="M-2", serum_din=serum.din)
    results = {r.kind: r for r in sweep_culture()}

    assert results[K.FEEDING_OVERDUE].resolved == 1
    assert K.FEEDING_OVERDUE not in open_flags(in_culture)
    flag = Flag.objects.get(batch=in_culture, kind=K.FEEDING_OVERDUE)
    assert flag.resolved_at == timezone.now()


def test_received_batch_not_seeded_in_time_is_flagged_until_seeded(received, technician, serum, traveller):
    traveller(2 * DAY)
    sweep_culture()
    assert open_flags(received) == {K.SEEDING_OVERDUE: "warning"}

    log(received, "seeding", technician, seeded_cells=20_000_000, medium_lot="M-1", serum_din=serum.din)
    sweep_culture()
    assert K.SEEDING_OVERDUE not in open_flags(received)


def test_slow_culture_is_at_risk_and_misses_its_window_by_the_late_end_of_its_interval(
    in_culture, technician, traveller
):
    traveller(14 * DAY)
    counts(in_culture, technician, [5, 9.5, 13.9], [1_500_000, 3_000_000, 6_000_000])  # doubling 4.5 days
    sweep_culture()
    assert open_flags(in_culture)[K.CULTURE_AT_RISK] == "warning"
    assert K.INDICATION_WINDOW not in open_flags(in_culture)

    # The window now closes between the projected date and the late end of its 80% interval.
    stored = in_culture.projection
    assert stored.projected_ready_on < stored.ready_high_on
    patient, window_end = in_culture.therapy.patient, in_culture.therapy.protocol.infusion_window_end_day
    patient.injury_date = stored.ready_high_on - dt.timedelta(days=window_end + 1)
    patient.save()
    sweep_culture()
    assert open_flags(in_culture)[K.INDICATION_WINDOW] == "critical"
    detail = Flag.objects.get(batch=in_culture, kind=K.INDICATION_WINDOW).detail
    assert f"80% by {stored.ready_high_on:%Y-%m-%d}" in detail and "infusion window closes" in detail


def test_stalled_culture_is_critical(in_culture, technician, traveller):
    traveller(24 * DAY)
    stalled = [6_000_000, 6_010_000, 6_020_000, 6_030_000, 6_040_000]
    counts(in_culture, technician, [14, 16, 18, 20, 23.9], stalled)  # growth all but stops
    sweep_culture()
    assert open_flags(in_culture)[K.CULTURE_AT_RISK] == "critical"


def test_fast_culture_is_not_at_risk(in_culture, technician, traveller):
    traveller(10 * DAY)
    counts(in_culture, technician, [5, 9.9], [4_000_000, 30_000_000])
    sweep_culture()
    assert K.CULTURE_AT_RISK not in open_flags(in_culture)


def test_at_risk_escalates_to_critical_when_growth_stops(in_culture, technician, traveller):
    technician.email = "tech@example.org"
    technician.save()
    traveller(14 * DAY)
    counts(in_culture, technician, [5, 9.5, 13.9], [1_500_000, 3_000_000, 6_000_000])
    sweep_culture()
    traveller(20 * DAY)
    counts(in_culture, technician, [15, 17, 19.9], [5_000_000, 4_000_000, 3_000_000])  # falling: no growth
    results = {r.kind: r for r in sweep_culture()}

    flag = Flag.objects.get(batch=in_culture, kind=K.CULTURE_AT_RISK)
    assert flag.severity == "critical" and flag.escalated_at == timezone.now()
    assert results[K.CULTURE_AT_RISK].escalated == [flag.pk]
    assert list(flag.notifications.values_list("event", flat=True).order_by("id")) == ["opened", "escalated"]
    sweep_culture()
    assert flag.notifications.count() == 2


@pytest.fixture
def harvested(in_culture, technician, traveller) -> Batch:
    traveller(20 * DAY)
    log(in_culture, "harvest", technician, viable_cells=150_000_000, viability_pct=93)
    return in_culture


def test_qc_late_past_turnaround_until_the_results_arrive(harvested, technician, traveller):
    analyst = UserFactory(role=Role.QC)
    traveller(22 * DAY + 2 * HOUR)
    sweeps.sweep_qc_late()
    flag = Flag.objects.get(batch=harvested, kind=K.QC_LATE, resolved_at__isnull=True)
    assert "viability (1 d)" in flag.detail and "sterility" not in flag.detail
    assert flag.notifications.filter(user=analyst).exists()

    for test in ("viability", "viable_cell_count", "endotoxin"):
        QcResult.objects.create(
            batch=harvested, test=test, result="ok", within_spec=True, specification={},
            tested_at=timezone.now(), tested_by=analyst,
        )  # fmt: skip
    sweeps.sweep_qc_late()
    assert K.QC_LATE not in open_flags(harvested)


@pytest.fixture
def released(harvested) -> Batch:
    Batch.objects.filter(pk=harvested.pk).update(status="released")
    return harvested


def test_dose_expiring_flag_goes_to_qa_and_own_clinic_coordinator(
    released, traveller, django_capture_on_commit_callbacks
):
    qa = UserFactory(role=Role.QA, email="qa@example.org")
    clinic = released.therapy.patient.clinic
    coordinator = coordinator_of(clinic)  # registered the patient
    coordinator.email = "coord@example.org"
    coordinator.save()
    UserFactory(role=Role.COORDINATOR, clinic=ClinicFactory(), email="elsewhere@example.org")
    Dose.objects.create(batch=released, number=1, cells=100_000_000, volume_ml=50, status="available",
                        expires_at=timezone.now() + 12 * HOUR)  # fmt: skip

    with django_capture_on_commit_callbacks(execute=True):
        sweep_expiry()
    flag = Flag.objects.get(batch=released, kind=K.DOSE_EXPIRING)
    assert {to for m in mail.outbox for to in m.to} == {"qa@example.org", "coord@example.org"}
    assert set(flag.notifications.values_list("user_id", flat=True)) == {qa.pk, coordinator.pk}


def test_scheduling_an_infusion_resolves_the_expiring_flag(released):
    dose = Dose.objects.create(batch=released, number=1, cells=100_000_000, volume_ml=50, status="available",
                               expires_at=timezone.now() + 12 * HOUR)  # fmt: skip
    sweep_expiry()
    Infusion.objects.create(dose=dose, scheduled_for=timezone.now() + 6 * HOUR, route="iv")
    sweep_expiry()
    assert K.DOSE_EXPIRING not in open_flags(released)


def test_expired_doses_become_unavailable_and_the_batch_expires(released, traveller):
    dose = Dose.objects.create(batch=released, number=1, cells=100_000_000, volume_ml=50, status="available",
                               expires_at=timezone.now() + 12 * HOUR)  # fmt: skip
    traveller(21 * DAY)
    expiry, _ = sweep_expiry()
    again, _ = sweep_expiry()

    dose.refresh_from_db()
    released.refresh_from_db()
    assert dose.status == "unavailable" and released.status == "expired"
    assert expiry.doses_expired == 1 and expiry.batches_expired == [released.din]
    assert again.doses_expired == 0 and again.batches_expired == []
    audit = AuditEntry.objects.filter(table_name="batches_dose", action="UPDATE").last()
    assert audit.reason == "dose expired: past its shelf life"
    assert K.DOSE_EXPIRING not in open_flags(released)


def test_refresh_of_one_batch_leaves_other_batches_alone(in_culture, technician, traveller):
    traveller(4 * DAY)
    sweep_culture()
    Flag.objects.filter(batch=in_culture).update(detail="stale")  # kept flags get their detail back
    batch_flags_refresh(batch_id=in_culture.pk + 10_000)
    assert set(Flag.objects.filter(batch=in_culture).values_list("detail", flat=True)) == {"stale"}
    batch_flags_refresh(batch_id=in_culture.pk)
    assert "stale" not in set(Flag.objects.filter(batch=in_culture).values_list("detail", flat=True))


def test_acknowledging_is_recorded_once(in_culture, technician, traveller):
    traveller(4 * DAY)
    sweep_culture()
    flag = Flag.objects.get(batch=in_culture, kind=K.FEEDING_OVERDUE)
    assert flag_acknowledge(flag=flag, actor=technician, note="feeding at 14:00")
    assert not flag_acknowledge(flag=flag, actor=technician, note="again")
    assert (flag.acknowledged_by, flag.acknowledgement_note) == (technician, "feeding at 14:00")
    entry = AuditEntry.objects.filter(table_name="batches_flag", action="UPDATE").last()
    assert entry.reason == "flag acknowledged" and entry.actor_id == technician.pk


def test_kept_flags_do_not_flood_the_audit_trail(in_culture, technician, traveller):
    traveller(4 * DAY)
    sweep_culture()
    before = AuditEntry.objects.filter(table_name="batches_flag").count()
    traveller(4 * DAY + HOUR)
    sweep_culture()
    assert AuditEntry.objects.filter(table_name="batches_flag").count() == before


def _full_sweep_queries() -> int:
    with CaptureQueriesContext(connection) as ctx:
        sweep_all()
    return len(ctx.captured_queries)


def test_full_sweep_query_count_does_not_grow_with_batches(therapy, received, technician, traveller):
    from batches.services import collection_create

    traveller(2 * DAY)
    one_opened = _full_sweep_queries()  # opens seeding_overdue on one batch
    for _ in range(3):
        batch = collection_create(
            therapy=therapy,
            kind="bone_marrow",
            collected_at=timezone.now() - HOUR,
            volume_ml=30,
            actor=coordinator_of(therapy.patient.clinic),
        ).batch
        log(batch, "receipt", technician, temperature_c=20, seal_intact=True)
    traveller(4 * DAY)
    three_opened = _full_sweep_queries()  # opens seeding_overdue on three more
    steady = _full_sweep_queries()

    assert Flag.objects.filter(kind=K.SEEDING_OVERDUE, resolved_at__isnull=True).count() == 4
    assert one_opened == three_opened
    # Per flag kind: audit context set and restored, the reconcile statement, a savepoint pair;
    # plus the growth read, the dose expiry update and the expired-batch read. The
    # notification query, and the look for newly expiring doses to announce by webhook,
    # run only for a reconcile that opened or escalated flags.
    assert steady == one_opened - 2


def test_flag_overdue_command_prints_what_it_opened_kept_and_resolved(in_culture, technician, traveller):
    traveller(29 * DAY)
    out = io.StringIO()
    call_command("flag_overdue", stdout=out)
    text = out.getvalue()
    assert "culture_overdue" in text and f"opened culture_overdue on {in_culture.din}" in text
    out = io.StringIO()
    call_command("flag_overdue", stdout=out)
    assert "opened culture_overdue" not in out.getvalue()


def _nested_loops_rescanning(plan: dict, ctes: set[str]) -> list[str]:
    """Nested loops whose inner side scans one of ``ctes``: a CTE has no index, so that is outer x inner rows."""
    found = []
    children = plan.get("Plans", [])
    if plan["Node Type"] == "Nested Loop":
        inner = next(child for child in children if child["Parent Relationship"] == "Inner")
        while inner["Node Type"] in ("Materialize", "Memoize", "Hash") and inner.get("Plans"):
            inner = inner["Plans"][0]
        if inner["Node Type"] == "CTE Scan" and inner["CTE Name"] in ctes:
            found.append(f"nested loop over CTE {inner['CTE Name']}")
    for child in children:
        found += _nested_loops_rescanning(child, ctes)
    return found


def _reconcile_plan(hits_sql: str, kinds: list[str], params: dict) -> dict:
    """EXPLAIN of the reconcile statement, with hash and merge joins off: nested loops wherever possible."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_hashjoin = off")
        cursor.execute("SET LOCAL enable_mergejoin = off")
        sql = reconcile_module._RECONCILE.format(hits=hits_sql)
        arguments = {**params, "kinds": kinds, "last_seen_every": reconcile_module.LAST_SEEN_EVERY}
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, arguments)
        (plan,) = cursor.fetchone()[0]
        transaction.set_rollback(True)
    return plan["Plan"]


def test_matching_flags_with_hits_stays_linear_when_the_statistics_say_there_are_no_flags(
    in_culture, received, technician, traveller
):
    # Right after a sweep opens 59,000 flags the statistics still say "no flags" until
    # autovacuum runs (if it runs). Matching open flags with hits must not depend on that:
    # it is a full join (hashed or merged, never a nested loop), so even a planner pushed
    # to nested loops never rescans the hits per open flag (as the anti-join it replaced did).
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE batches_flag")  # empty: the statistics now say "no flags"
    traveller(29 * DAY)
    sweep_culture()
    assert Flag.objects.filter(resolved_at__isnull=True).count() >= 2

    params = conditions.params(timezone.now(), None)
    for kinds, sql in conditions.CONDITIONS.items():
        plan = _reconcile_plan(sql, list(kinds), params)
        assert _nested_loops_rescanning(plan, {"hits", "open_flags"}) == [], kinds
    for kind, sql in sweeps.GROWTH_CONDITIONS.items():  # read from the stored projection
        growth_hits = (
            f"SELECT a.batch_id, '{kind}', a.severity, a.detail FROM ({sql}) AS a(batch_id, severity, detail)"
        )
        plan = _reconcile_plan(growth_hits, [kind], params)
        assert _nested_loops_rescanning(plan, {"hits", "open_flags"}) == [], kind


def _planner_flag_kinds() -> set[str]:
    """The flag kinds the planner's statistics know of (transactional: only this test's ANALYZE)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(most_common_vals, histogram_bounds)::text::text[] FROM pg_stats "
            "WHERE tablename = 'batches_flag' AND attname = 'kind'"
        )
        row = cursor.fetchone()
    return set(row[0]) if row else set()


def test_sweep_that_opens_many_flags_leaves_the_planner_knowing_them(
    in_culture, technician, traveller, monkeypatch
):
    # The planner's idea of the flag table is what keeps the next reconcile from a
    # quadratic anti-join; it must not wait for autovacuum (1 flag stands for "many" here).
    monkeypatch.setattr(reconcile_module, "ANALYZE_AFTER", 1)
    traveller(29 * DAY)
    sweep_culture()

    kinds = set(Flag.objects.values_list("kind", flat=True))
    assert len(kinds) >= 2
    assert _planner_flag_kinds() == kinds


def test_flag_e_mails_are_written_in_the_facilitys_language(
    in_culture, technician, traveller, settings, django_capture_on_commit_callbacks
):
    """Users have no stored language: e-mails follow LANGUAGE_CODE, every word translated."""
    technician.email = "tech@example.org"
    technician.save()
    settings.LANGUAGE_CODE = "ja"
    traveller(29 * DAY)
    with django_capture_on_commit_callbacks(execute=True):
        sweep_culture()
    subjects = [m.subject for m in mail.outbox]
    assert subjects and all(in_culture.din in s or "バッチ" in s for s in subjects), subjects
    assert any("バッチ" in s for s in subjects), subjects
