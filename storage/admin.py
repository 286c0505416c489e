"""Storage records in the admin: viewed only; every write goes through the storage services."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from core.admin import NoDeleteMixin
from storage.models import Container, DoseUnit, Excursion, Placement, Shipment, TemperatureReading, Thaw


class ViewOnly(NoDeleteMixin, admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Container)
class ContainerAdmin(ViewOnly):
    list_display = ("code", "name", "kind", "parent", "capacity", "temp_min_c", "temp_max_c", "active")
    list_filter = ("kind", "active")


@admin.register(DoseUnit)
class DoseUnitAdmin(ViewOnly):
    list_display = ("code", "kind", "fill_volume_ml", "status")
    list_filter = ("status", "kind")
    search_fields = ("code",)


@admin.register(Placement)
class PlacementAdmin(ViewOnly):
    list_display = ("unit", "position", "stored_at", "removed_at", "removal_purpose", "verified_by")


@admin.register(TemperatureReading)
class TemperatureReadingAdmin(ViewOnly):
    list_display = ("storage_unit", "taken_at", "temperature_c", "source")
    list_filter = ("storage_unit",)


@admin.register(Excursion)
class ExcursionAdmin(ViewOnly):
    list_display = ("storage_unit", "kind", "started_at", "ended_at", "extreme_c", "assessed_at", "decision")


@admin.register(Shipment)
class ShipmentAdmin(ViewOnly):
    list_display = (
        "shipper",
        "destination",
        "departed_at",
        "arrived_at",
        "arrival_temp_c",
        "arrival_in_range",
    )


@admin.register(Thaw)
class ThawAdmin(ViewOnly):
    list_display = ("unit", "thawed_at", "method", "performed_by", "viability_pct")
