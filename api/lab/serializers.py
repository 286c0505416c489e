"""Input serializers (shape and type of what a client sends) and output serializers (what it gets).

No rules here: whether an action is allowed is the services' answer. A
reference to another record (patient, therapy, location) resolves only
among the records the caller may see, so another clinic's identifier reads
as unknown.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Model, QuerySet
from django.utils.translation import gettext as _
from rest_framework import serializers

from api.fields import ApiDate, Timestamp
from api.permissions import scope_to_principal
from batches.domain.steps import STEP_RULES
from batches.models import (
    Batch,
    Clinic,
    Collection,
    CultureStep,
    CustodyTransfer,
    Dose,
    Location,
    Patient,
    ProcessingProtocol,
    Therapy,
)
from core import isbt128, scan

# --- References -------------------------------------------------------------------


class CodeRef(serializers.SlugRelatedField):
    """A record named by a code; text PostgreSQL cannot hold (NUL) names nothing: a 400, not a crash."""

    def to_internal_value(self, data: Any) -> Model:
        if isinstance(data, str) and "\x00" in data:
            self.fail("does_not_exist", slug_name=self.slug_field, value=repr(data))
        return super().to_internal_value(data)


class ScopedRef(CodeRef):
    """A record named by its domain identifier, looked up among those the caller may see."""

    def get_queryset(self) -> QuerySet[Any]:
        queryset = super().get_queryset()
        return scope_to_principal(queryset, self.context["request"])

    def to_internal_value(self, data: Any) -> Model:
        try:
            return super().to_internal_value(data)
        except DjangoValidationError:  # e.g. not a UUID at all: as unknown as any other
            self.fail("does_not_exist", slug_name=self.slug_field, value=str(data))


class ProtocolRef(serializers.CharField):
    """A protocol by code: its newest version (whether it may still be used is the service's call)."""

    default_error_messages = {"does_not_exist": "No protocol with code {value}."}

    def to_internal_value(self, data: Any) -> ProcessingProtocol:
        code = super().to_internal_value(data)
        if "\x00" in code:  # PostgreSQL text cannot hold NUL: unknown, not a crash
            self.fail("does_not_exist", value=repr(code))
        protocol = ProcessingProtocol.objects.filter(code=code).order_by("-version").first()
        if protocol is None:
            self.fail("does_not_exist", value=code)
        return protocol


class DinField(serializers.CharField):
    """A DIN as typed or scanned (13 characters, or 14 with its right check character)."""

    def to_internal_value(self, data: Any) -> str:
        try:
            return scan.parse_din(super().to_internal_value(data)).din
        except scan.ScanError as error:
            raise serializers.ValidationError(error.message, code=error.code) from error


class CoiRef(ScopedRef):
    """A therapy by its COI, read by ``core.scan`` first: a malformed COI says what is wrong."""

    def to_internal_value(self, data: Any) -> Model:
        try:
            coi = scan.parse_coi(data).coi
        except scan.ScanError as error:
            raise serializers.ValidationError(error.message, code=error.code) from error
        return super().to_internal_value(coi)


def _ref(model: type[Model], slug: str, **kwargs: Any) -> ScopedRef:
    return ScopedRef(slug_field=slug, queryset=model.objects.all(), **kwargs)


# --- Problems (for the schema) ------------------------------------------------------


class BlockerSerializer(serializers.Serializer):
    code = serializers.CharField()
    detail = serializers.CharField()


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details, as every error under /api/ is answered."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Validation failures (400): field -> messages.",
    )
    blockers = BlockerSerializer(many=True, required=False, help_text="Why an action was refused (409).")


# --- Protocols and locations ------------------------------------------------------


class ProtocolOut(serializers.ModelSerializer):
    class Meta:
        model = ProcessingProtocol
        exclude = ["id", "sources"]


class LocationOut(serializers.ModelSerializer):
    clinic = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)

    class Meta:
        model = Location
        fields = ["code", "name", "kind", "clinic", "active"]


# --- Patients and therapies ---------------------------------------------------------


class PatientIn(serializers.Serializer):
    code = serializers.CharField(max_length=64)
    birth_year = serializers.IntegerField(min_value=1900, max_value=2100)
    sex = serializers.ChoiceField(Patient.Sex.choices)
    weight_kg = serializers.DecimalField(max_digits=5, decimal_places=1, min_value=1, max_value=400)
    injury_date = ApiDate()
    injury_level = serializers.CharField(max_length=3)
    asia_grade = serializers.ChoiceField(Patient.AsiaGrade.choices)
    injury_type = serializers.ChoiceField(Patient.InjuryType.choices)
    malignancy_history = serializers.BooleanField()
    clinic = CodeRef(
        slug_field="code",
        queryset=Clinic.objects.filter(active=True),
        required=False,
        help_text="Clinic code: only for staff not bound to a clinic. A clinic token registers for its own clinic.",
    )


class PatientOut(serializers.ModelSerializer):
    clinic = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Patient
        fields = [
            "id", "clinic", "code", "birth_year", "sex", "weight_kg", "injury_date", "injury_level",
            "asia_grade", "injury_type", "malignancy_history", "created_at",
        ]  # fmt: skip


class TherapyIn(serializers.Serializer):
    patient = _ref(Patient, "id", help_text="Patient id (UUID).")
    protocol = ProtocolRef(help_text="Protocol code; its newest version is used.")


class EligibilityOut(serializers.Serializer):
    eligible = serializers.BooleanField()
    reasons = BlockerSerializer(many=True)


class TherapyOut(serializers.ModelSerializer):
    patient = serializers.UUIDField(source="patient_id", read_only=True)
    protocol = serializers.CharField(source="protocol.code", read_only=True)
    protocol_version = serializers.IntegerField(source="protocol.version", read_only=True)
    eligibility = EligibilityOut(read_only=True)

    class Meta:
        model = Therapy
        fields = ["coi", "patient", "protocol", "protocol_version", "eligibility", "created_at"]


# --- Collections --------------------------------------------------------------------


class CollectionIn(serializers.Serializer):
    therapy = CoiRef(slug_field="coi", queryset=Therapy.objects.all(), help_text="The therapy's COI.")
    kind = serializers.ChoiceField(Collection.Kind.choices)
    collected_at = Timestamp()
    volume_ml = serializers.DecimalField(max_digits=6, decimal_places=1, min_value=Decimal("0.1"))
    collected_by = serializers.CharField(max_length=200, required=False, default="")


class CollectionOut(serializers.ModelSerializer):
    check_character = serializers.SerializerMethodField()
    therapy = serializers.CharField(source="therapy.coi", read_only=True)
    batch = serializers.SerializerMethodField(help_text="DIN of the batch the collection opened, if any.")
    # Declared: the model's float MinValueValidator(0.1) makes DRF warn on every build.
    volume_ml = serializers.DecimalField(max_digits=6, decimal_places=1, read_only=True)

    class Meta:
        model = Collection
        fields = ["din", "check_character", "kind", "batch", "therapy", "collected_at", "volume_ml"]

    def get_check_character(self, collection: Collection) -> str:
        return isbt128.check_character(collection.din)

    def get_batch(self, collection: Collection) -> str | None:
        # A cell-source collection opens the batch of the same DIN (no query needed).
        return collection.din if collection.is_cell_source else None


# --- Batches ------------------------------------------------------------------------


class DoseOut(serializers.ModelSerializer):
    class Meta:
        model = Dose
        fields = ["dose_id", "number", "cells", "volume_ml", "status", "expires_at"]


class FlagOut(serializers.Serializer):
    kind = serializers.CharField()
    title = serializers.CharField(
        source="get_kind_display", help_text="The kind in the Accept-Language language."
    )
    severity = serializers.CharField()
    detail = serializers.CharField(help_text="As the sweep wrote it, in English.")
    first_seen_at = serializers.DateTimeField()
    last_seen_at = serializers.DateTimeField()
    acknowledged_at = serializers.DateTimeField(allow_null=True)


class BatchOut(serializers.ModelSerializer):
    check_character = serializers.SerializerMethodField()
    coi = serializers.CharField(source="therapy.coi", read_only=True)
    patient = serializers.UUIDField(source="therapy.patient_id", read_only=True)
    clinic = serializers.CharField(source="therapy.patient.clinic.code", read_only=True)
    protocol = serializers.CharField(source="therapy.protocol.code", read_only=True)
    protocol_version = serializers.IntegerField(source="therapy.protocol.version", read_only=True)
    culture_day = serializers.IntegerField(source="growth.culture_day", read_only=True, allow_null=True)
    projected_ready_on = serializers.DateField(
        source="growth.projected_ready_on", read_only=True, allow_null=True
    )
    projected_ready_between = serializers.ListField(
        source="growth.projected_ready_between",
        child=serializers.DateField(),
        min_length=2,
        max_length=2,
        read_only=True,
        allow_null=True,
        help_text="80% interval of the ready date, [low, high]; null without a projection.",
    )
    doses = DoseOut(many=True, read_only=True)
    flags = FlagOut(source="open_flags", many=True, read_only=True, help_text="Open flags of the batch.")

    class Meta:
        model = Batch
        fields = [
            "din", "check_character", "coi", "patient", "clinic", "protocol", "protocol_version", "status",
            "status_changed_at", "culture_day", "projected_ready_on", "projected_ready_between", "doses", "flags",
            "created_at",
        ]  # fmt: skip

    def get_check_character(self, batch: Batch) -> str:
        return isbt128.check_character(batch.din)


# --- Lab work -----------------------------------------------------------------------


class CustodyIn(serializers.Serializer):
    to_location = CodeRef(slug_field="code", queryset=Location.objects.all())
    from_location = CodeRef(
        slug_field="code",
        queryset=Location.objects.all(),
        required=False,
        help_text="Where the item was picked up, if it differs from where the chain left it (recorded as a gap).",
    )
    temperature_c = serializers.DecimalField(max_digits=4, decimal_places=1, required=False, allow_null=True)
    seal_intact = serializers.BooleanField()
    scanned_identifier = serializers.CharField(max_length=40, help_text="The DIN with its K, as scanned.")
    performed_at = Timestamp(required=False)
    from_holder = serializers.CharField(max_length=200, required=False, default="")
    to_holder = serializers.CharField(max_length=200, required=False, default="")
    notes = serializers.CharField(required=False, default="", allow_blank=True)


class FindingOut(serializers.Serializer):
    kind = serializers.CharField()
    detail = serializers.CharField()


class CustodyOut(serializers.ModelSerializer):
    din = serializers.CharField(source="batch.din", read_only=True)
    from_location = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    to_location = serializers.SlugRelatedField(slug_field="code", read_only=True)
    performed_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    findings = FindingOut(many=True, read_only=True)

    class Meta:
        model = CustodyTransfer
        fields = [
            "din", "sequence", "from_location", "to_location", "from_holder", "to_holder", "temperature_c",
            "seal_intact", "scanned_identifier", "performed_at", "performed_by", "recorded_at", "notes",
            "findings",
        ]  # fmt: skip


class StepIn(serializers.Serializer):
    kind = serializers.ChoiceField(CultureStep.Kind.choices)
    performed_at = Timestamp(required=False, help_text="Default now; never in the future.")
    scanned_identifier = serializers.CharField(max_length=40, help_text="The DIN with its K, as scanned.")
    equipment = serializers.CharField(max_length=200, required=False, allow_blank=True)
    notes = serializers.CharField(required=False, allow_blank=True)
    temperature_c = serializers.DecimalField(max_digits=4, decimal_places=1, required=False, allow_null=True)
    seal_intact = serializers.BooleanField(required=False, allow_null=True)
    medium_lot = serializers.CharField(max_length=64, required=False, allow_blank=True)
    serum_collection = DinField(
        required=False, allow_null=True, help_text="DIN of this therapy's peripheral-blood collection."
    )
    seeded_cells = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    viable_cells = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    viability_pct = serializers.DecimalField(
        max_digits=5, decimal_places=2, min_value=0, max_value=100, required=False, allow_null=True
    )
    confluence_pct = serializers.DecimalField(
        max_digits=5, decimal_places=2, min_value=0, max_value=100, required=False, allow_null=True
    )
    doses = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    cells_per_dose = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    volume_ml_per_dose = serializers.DecimalField(
        max_digits=6, decimal_places=1, min_value=Decimal("0.1"), required=False, allow_null=True
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # Which values a kind needs is the domain's table; a missing one is a malformed request (400).
        required = STEP_RULES[attrs["kind"]].required
        missing = {
            name: [_("Required for a %(kind)s step.") % {"kind": _(attrs["kind"])}]
            for name in required
            if attrs.get(name) is None
        }
        if missing:
            raise serializers.ValidationError(missing)
        return attrs

    def service_arguments(self) -> dict[str, Any]:
        """validated_data as ``step_record`` takes it: only the values given, serum as ``serum_din``."""
        data = {name: value for name, value in self.validated_data.items() if value is not None}
        serum = data.pop("serum_collection", None)
        return {**data, "serum_din": serum}


class StepOut(serializers.ModelSerializer):
    din = serializers.CharField(source="batch.din", read_only=True)
    batch_status = serializers.CharField(source="batch.status", read_only=True)
    performed_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    serum_collection = serializers.SlugRelatedField(slug_field="din", read_only=True, allow_null=True)

    class Meta:
        model = CultureStep
        fields = [
            "id", "din", "kind", "batch_status", "performed_at", "recorded_at", "performed_by",
            "scanned_identifier", "equipment", "notes", "temperature_c", "seal_intact", "medium_lot",
            "serum_collection", "passage_number", "seeded_cells", "viable_cells", "viability_pct",
            "confluence_pct", "doses", "cells_per_dose", "volume_ml_per_dose",
        ]  # fmt: skip
