"""Input and output shapes of the compliance API (API.md names)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from api.fields import Timestamp
from compliance.domain import qc as qc_rules
from compliance.models import Deviation, Infusion, QcResult, Signature
from core import scan


class BlockerOut(serializers.Serializer):
    code = serializers.CharField()
    detail = serializers.CharField(source="message", help_text="In the Accept-Language language.")


class SignatureOut(serializers.Serializer):
    """The signature manifestation (21 CFR 11.50): printed name, date and time, meaning."""

    signed_by_name = serializers.CharField(source="printed_name")
    signed_by = serializers.CharField(source="signer.username")
    signed_at = serializers.DateTimeField()
    meaning = serializers.CharField()


class PasswordIn(serializers.Serializer):
    password = serializers.CharField(trim_whitespace=False, style={"input_type": "password"})


# --- QC and deviations --------------------------------------------------------------


class QcResultIn(serializers.Serializer):
    test = serializers.ChoiceField(choices=qc_rules.TESTS)
    value = serializers.DecimalField(max_digits=20, decimal_places=4, required=False, allow_null=True)
    result = serializers.CharField(required=False, allow_blank=True, default="", max_length=20)
    tested_at = Timestamp(required=False)
    method = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
    kit_lot = serializers.CharField(required=False, allow_blank=True, default="", max_length=64)


class QcResultOut(serializers.ModelSerializer):
    tested_by = serializers.CharField(source="tested_by.full_name")
    deviation = serializers.SerializerMethodField()

    class Meta:
        model = QcResult
        fields = ["id", "test", "value", "result", "unit", "within_spec", "specification", "method", "kit_lot",
                  "tested_at", "tested_by", "retest_of", "deviation"]  # fmt: skip

    def get_deviation(self, result: QcResult) -> str | None:
        deviation = getattr(result, "deviation", None)
        return str(deviation.pk) if deviation else None


class DeviationIn(serializers.Serializer):
    severity = serializers.ChoiceField(choices=Deviation.Severity.choices)
    description = serializers.CharField(max_length=4000)


class DeviationCloseIn(PasswordIn):
    impact_assessment = serializers.CharField(max_length=4000)
    capa = serializers.CharField(max_length=4000)


class DeviationAssessIn(PasswordIn):
    impact_assessment = serializers.CharField(max_length=4000)


class InvestigationIn(serializers.Serializer):
    investigation = serializers.CharField(max_length=4000)


class DeviationOut(serializers.ModelSerializer):
    batch = serializers.CharField(source="batch.din")
    closure_signature = SignatureOut(allow_null=True)
    assessment_signature = SignatureOut(allow_null=True)

    class Meta:
        model = Deviation
        fields = ["id", "batch", "severity", "status", "description", "opened_at", "investigation",
                  "impact_assessment", "capa", "closed_at", "closure_signature", "assessment_signature"]  # fmt: skip


# --- Checklist and release ----------------------------------------------------------


class EvidenceOut(serializers.Serializer):
    ok = serializers.BooleanField()
    detail = serializers.CharField()


class ChecklistSignatureOut(SignatureOut):
    valid = serializers.BooleanField(help_text="False once the covered record changed after signing.")


class ChecklistItemOut(serializers.Serializer):
    code = serializers.CharField()
    text = serializers.CharField()
    role = serializers.CharField()
    requires_second_person = serializers.BooleanField()
    evidence = EvidenceOut(allow_null=True)
    signatures = ChecklistSignatureOut(many=True)
    complete = serializers.BooleanField()


class ChecklistOut(serializers.Serializer):
    template = serializers.CharField()
    version = serializers.IntegerField()
    complete = serializers.BooleanField()
    items = ChecklistItemOut(many=True)


def checklist_data(status: Any) -> dict[str, Any]:
    """A ChecklistStatus as the plain structure ChecklistOut describes."""
    return {
        "template": status.template.code,
        "version": status.template.version,
        "complete": status.complete,
        "items": [
            {
                "code": entry.item.code, "text": entry.item.text, "role": entry.item.role,
                "requires_second_person": entry.item.requires_second_person,
                "evidence": None if entry.evidence is None else {"ok": entry.evidence.ok, "detail": entry.evidence.detail},
                "signatures": [{**SignatureOut(sig).data, "valid": valid} for sig, valid in entry.signatures],
                "complete": entry.complete,
            }
            for entry in status.items
        ],
    }  # fmt: skip


class SignIn(PasswordIn):
    meaning = serializers.ChoiceField(choices=[("reviewed", "reviewed"), ("verified", "verified")])


class ReleaseIn(PasswordIn):
    decision = serializers.ChoiceField(choices=[("release", "release"), ("reject", "reject")])
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=4000)


class ReleaseOut(SignatureOut):
    decision = serializers.CharField()
    status = serializers.CharField()


# --- Readiness and infusions ----------------------------------------------------------


class ReadinessDoseOut(serializers.Serializer):
    dose_id = serializers.CharField()
    ready = serializers.BooleanField()
    expires_at = serializers.DateTimeField(allow_null=True)
    infusion = serializers.CharField(allow_null=True)
    blockers = BlockerOut(many=True)


class ReadinessOut(serializers.Serializer):
    din = serializers.CharField()
    ready = serializers.BooleanField()
    status = serializers.CharField()
    at = serializers.DateTimeField()
    blockers = BlockerOut(many=True)
    projected_ready_on = serializers.DateField(
        allow_null=True, help_text="Projected ready date (the median of the growth projection)."
    )
    projected_ready_between = serializers.ListField(
        child=serializers.DateField(),
        min_length=2,
        max_length=2,
        allow_null=True,
        help_text="80% interval of the ready date, [low, high]; null without a projection.",
    )
    doses = ReadinessDoseOut(many=True)


class DoseIdField(serializers.CharField):
    """A dose identifier ``<din>-<n>`` (K after the DIN allowed), read by ``core.scan``."""

    def to_internal_value(self, data: Any) -> scan.Scan:
        try:
            return scan.parse_dose(super().to_internal_value(data))
        except scan.ScanError as error:
            raise serializers.ValidationError(error.message, code=error.code) from error


class InfusionIn(serializers.Serializer):
    dose = DoseIdField(help_text="Dose identifier: <din>-<n>.")
    scheduled_for = Timestamp()
    route = serializers.ChoiceField(choices=[("iv", "iv"), ("intrathecal", "intrathecal")])


class CancelIn(serializers.Serializer):
    reason = serializers.CharField(max_length=4000)


class RescheduleIn(CancelIn):
    scheduled_for = Timestamp()


class ObservationIn(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[("adverse_event", "adverse_event"), ("follow_up", "follow_up")])
    observed_at = Timestamp()
    description = serializers.CharField(max_length=4000)
    severity = serializers.CharField(required=False, allow_blank=True, default="", max_length=20)


class ObservationOut(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    observed_at = serializers.DateTimeField()
    severity = serializers.CharField()
    description = serializers.CharField()


class AdministerIn(serializers.Serializer):
    administered_at = Timestamp(required=False)
    scanned_identifier = serializers.CharField(
        max_length=40, help_text="The dose label: DIN, K, '-', dose number."
    )
    patient_code = serializers.CharField(
        required=False, max_length=64, help_text="Scanned from the wristband."
    )


class AdministrationAttemptOut(serializers.Serializer):
    """A refused bedside scan: who, when, what was scanned, and why it was refused."""

    id = serializers.IntegerField()
    infusion = serializers.UUIDField(source="infusion_id")
    dose = serializers.CharField(source="infusion.dose.dose_id")
    attempted_at = serializers.DateTimeField()
    attempted_by = serializers.CharField(source="attempted_by.username")
    attempted_by_name = serializers.CharField(source="attempted_by.full_name")
    scanned_identifier = serializers.CharField()
    patient_code = serializers.CharField()
    refusal_code = serializers.CharField(help_text="The blocker code the scan was refused with.")
    refusal_detail = serializers.CharField()


class InfusionOut(serializers.ModelSerializer):
    dose = serializers.SerializerMethodField()
    patient = serializers.UUIDField(source="dose.batch.therapy.patient_id")
    attempts = AdministrationAttemptOut(
        many=True, read_only=True, help_text="Refused bedside scans of this infusion, oldest first."
    )

    class Meta:
        model = Infusion
        fields = ["id", "dose", "patient", "scheduled_for", "route", "status", "cancel_reason", "cancelled_at",
                  "administered_at", "rescheduled_from", "created_at", "attempts"]  # fmt: skip

    def get_dose(self, infusion: Infusion) -> str:
        return infusion.dose.dose_id


__all__ = ["Signature"]
