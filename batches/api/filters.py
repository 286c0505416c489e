"""Query-string filters of list endpoints (a bad value is a 400 with ``errors``)."""

from django_filters import rest_framework as filters

from batches.domain import BatchStatus
from batches.models import Batch


class BatchFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=[(s.value, s.label) for s in BatchStatus])
    patient = filters.UUIDFilter(field_name="therapy__patient_id", help_text="Patient id (UUID).")
    therapy = filters.CharFilter(field_name="therapy__coi", help_text="Therapy COI.")

    class Meta:
        model = Batch
        fields = ["status", "patient", "therapy"]
