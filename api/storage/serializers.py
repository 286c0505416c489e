"""Storage API shapes: storage units and positions, readings, store and thaw requests."""

from __future__ import annotations

from decimal import Decimal

from rest_framework import serializers

from api.fields import Timestamp


class ReadingBrief(serializers.Serializer):
    taken_at = serializers.DateTimeField()
    temperature_c = serializers.DecimalField(max_digits=5, decimal_places=1)


class StorageUnitOut(serializers.Serializer):
    code = serializers.CharField(source="unit.code")
    name = serializers.CharField(source="unit.name")
    kind = serializers.CharField(source="unit.kind")
    site = serializers.CharField(source="unit.parent.code", allow_null=True)
    location = serializers.CharField(source="unit.location.code")
    temp_min_c = serializers.DecimalField(source="unit.temp_min_c", max_digits=5, decimal_places=1)
    temp_max_c = serializers.DecimalField(source="unit.temp_max_c", max_digits=5, decimal_places=1)
    positions = serializers.IntegerField()
    occupied = serializers.IntegerField()
    free = serializers.IntegerField()
    open_excursions = serializers.IntegerField()
    last_reading = ReadingBrief(allow_null=True)


class PositionOut(serializers.Serializer):
    code = serializers.CharField()
    box = serializers.CharField(source="box.code")
    rack = serializers.CharField(source="box.parent.code")
    label = serializers.CharField()
    row = serializers.IntegerField()
    column = serializers.IntegerField()
    occupied = serializers.SerializerMethodField()
    unit = serializers.SerializerMethodField()
    stored_at = serializers.SerializerMethodField()

    def _current(self, position):  # type: ignore[no-untyped-def]
        return position.current[0] if position.current else None

    def get_occupied(self, position) -> bool:  # type: ignore[no-untyped-def]
        return self._current(position) is not None

    def get_unit(self, position) -> str | None:  # type: ignore[no-untyped-def]
        current = self._current(position)
        return current.unit.code if current else None

    def get_stored_at(self, position) -> str | None:  # type: ignore[no-untyped-def]
        current = self._current(position)
        return current.stored_at.isoformat() if current else None


class ReadingIn(serializers.Serializer):
    taken_at = Timestamp()
    temperature_c = serializers.DecimalField(
        max_digits=5, decimal_places=1, min_value=Decimal("-273.1"), max_value=Decimal("100")
    )


class ReadingOut(serializers.Serializer):
    id = serializers.IntegerField()
    storage_unit = serializers.CharField(source="storage_unit.code")
    taken_at = serializers.DateTimeField()
    temperature_c = serializers.DecimalField(max_digits=5, decimal_places=1)
    source = serializers.CharField()


class ReadingImportOut(serializers.Serializer):
    id = serializers.IntegerField()
    filename = serializers.CharField()
    rows = serializers.IntegerField()
    sha256 = serializers.CharField()


class StoreIn(serializers.Serializer):
    position = serializers.CharField(
        max_length=40, help_text="The scanned position label, e.g. LN2-01-R1-B1-A1."
    )
    scanned_identifier = serializers.CharField(
        max_length=40,
        help_text="The scanned unit label: DIN, check character, '-', dose number, '-', unit letter.",
    )


class PlacementOut(serializers.Serializer):
    unit = serializers.CharField(source="unit.code")
    position = serializers.CharField(source="position.code")
    storage_unit = serializers.CharField(source="storage_unit.code")
    stored_at = serializers.DateTimeField()
    stored_by = serializers.CharField(source="stored_by.get_username")


class ThawIn(serializers.Serializer):
    thawed_at = Timestamp()
    scanned_identifier = serializers.CharField(max_length=40, help_text="The scanned unit label.")
    method = serializers.CharField(max_length=100, required=False, help_text="Default: 37 °C water bath.")
    viability_pct = serializers.DecimalField(
        max_digits=5,
        decimal_places=2,
        min_value=Decimal(0),
        max_value=Decimal(100),
        required=False,
        allow_null=True,
    )


class ThawOut(serializers.Serializer):
    unit = serializers.CharField(source="unit.code")
    thawed_at = serializers.DateTimeField()
    method = serializers.CharField()
    performed_by = serializers.CharField(source="performed_by.get_username")
    viability_pct = serializers.DecimalField(max_digits=5, decimal_places=2, allow_null=True)
    infuse_before = serializers.DateTimeField()
