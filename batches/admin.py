from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from batches.models import Batch, Clinic, Collection, Dose, Location, Patient, ProcessingProtocol, Therapy
from core.admin import NoDeleteMixin


@admin.register(Clinic)
class ClinicAdmin(NoDeleteMixin, admin.ModelAdmin):
    list_display = ("code", "name", "active")
    search_fields = ("code", "name")


@admin.register(Location)
class LocationAdmin(NoDeleteMixin, admin.ModelAdmin):
    list_display = ("code", "name", "kind", "clinic", "active")
    list_filter = ("kind", "active")


@admin.register(ProcessingProtocol)
class ProcessingProtocolAdmin(NoDeleteMixin, admin.ModelAdmin):
    list_display = ("code", "version", "name", "route", "injury_phase", "active")
    list_filter = ("route", "injury_phase", "active")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # A protocol in use is frozen: a change is a new version.
        if obj is not None and obj.therapies.exists():
            return [f.name for f in obj._meta.fields if f.name != "active"]
        return []


class ReadOnlyAdmin(NoDeleteMixin, admin.ModelAdmin):
    """Lifecycle records are written by services (with their rules), only viewed here."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Patient)
class PatientAdmin(ReadOnlyAdmin):
    list_display = ("code", "clinic", "injury_date", "asia_grade", "injury_level")
    list_filter = ("clinic",)
    search_fields = ("code",)


@admin.register(Therapy)
class TherapyAdmin(ReadOnlyAdmin):
    list_display = ("coi", "patient", "protocol", "created_at")
    list_select_related = ("patient__clinic", "protocol")
    search_fields = ("coi",)


@admin.register(Collection)
class CollectionAdmin(ReadOnlyAdmin):
    list_display = ("din", "kind", "therapy", "collected_at")
    list_select_related = ("therapy",)
    search_fields = ("din",)


@admin.register(Batch)
class BatchAdmin(ReadOnlyAdmin):
    list_display = ("din", "status", "therapy", "status_changed_at")
    list_filter = ("status",)
    list_select_related = ("therapy",)
    search_fields = ("din",)


@admin.register(Dose)
class DoseAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "status", "cells", "expires_at")
    list_select_related = ("batch",)
