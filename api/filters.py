"""Query-string filters of list endpoints (a bad value is a 400 with ``errors``)."""

from typing import Any

from django import forms
from django.utils.translation import gettext
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


class StrictFilterSet(filters.FilterSet):
    """A filter named in the query string must have a value.

    django-filter reads ``?patient=`` as "no filter" and answers every batch;
    a client that meant to filter gets far more than it asked for. So an empty
    value is a 400 naming the parameter, like any other bad value.
    """

    def is_valid(self) -> bool:
        valid = super().is_valid()
        for name in self.filters:
            if name in self.data and self.data.get(name) == "":
                self.form.add_error(name, gettext("Give a value, or leave the parameter out."))
        return valid and not self.form.errors


class BatchFilter(StrictFilterSet):
    status = filters.ChoiceFilter(choices=[(s.value, s.label) for s in BatchStatus])
    patient = filters.UUIDFilter(field_name="therapy__patient_id", help_text="Patient id (UUID).")
    therapy = CoiFilter(field_name="therapy__coi", help_text="Therapy COI.")

    class Meta:
        model = Batch
        fields = ["status", "patient", "therapy"]
