"""Query-string filters of list endpoints (a bad value is a 400 with ``errors``)."""

from typing import Any

from django import forms
from django_filters import rest_framework as filters

from batches.domain import BatchStatus
from batches.models import Batch
from core import scan


class CoiField(forms.CharField):
    """A COI read by ``core.scan``: a malformed one is a 400 naming the parameter."""

    def clean(self, value: Any) -> Any:
        value = super().clean(value)
        if value in self.empty_values:
            return value
        try:
            return scan.parse_coi(value).coi
        except scan.ScanError as error:
            # As a parameter: the message quotes the input, and a '%' in it is no format directive.
            raise forms.ValidationError(
                "%(message)s", code=error.code, params={"message": error.message}
            ) from error


class CoiFilter(filters.CharFilter):
    field_class = CoiField


class BatchFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=[(s.value, s.label) for s in BatchStatus])
    patient = filters.UUIDFilter(field_name="therapy__patient_id", help_text="Patient id (UUID).")
    therapy = CoiFilter(field_name="therapy__coi", help_text="Therapy COI.")

    class Meta:
        model = Batch
        fields = ["status", "patient", "therapy"]
