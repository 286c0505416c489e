"""Input validation of the QC result form. Whether a result is within specification is the service's."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from compliance.domain.qc import QUALITATIVE

# Readable names of the qualitative outcomes (the codes are the service's).
OUTCOME_LABELS = {
    "no_growth": _("No growth"),
    "growth": _("Growth"),
    "negative": _("Negative"),
    "positive": _("Positive"),
}


class QcResultForm(forms.Form):
    """One test's result: a value in the spec's unit, or an outcome for a qualitative test."""

    value = forms.DecimalField(label=_("Value"), max_digits=20, decimal_places=4)
    result = forms.ChoiceField(label=_("Outcome"), widget=forms.RadioSelect)
    method = forms.CharField(label=_("Method"), max_length=200)
    kit_lot = forms.CharField(label=_("Kit or reagent lot"), max_length=64, required=False)
    tested_at = forms.DateTimeField(
        label=_("Tested at"),
        required=False,
        help_text=_("Leave empty for now."),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )

    def __init__(self, *args: Any, spec: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        test = spec["test"]
        if test in QUALITATIVE:
            del self.fields["value"]
            self.fields["result"].choices = [  # type: ignore[attr-defined]
                (code, OUTCOME_LABELS.get(code, code)) for code in QUALITATIVE[test]
            ]
        else:
            del self.fields["result"]
            unit = spec.get("unit", "")
            if unit:
                self.fields["value"].label = _("Value (%(unit)s)") % {"unit": unit}
                self.fields["value"].widget.attrs["aria-describedby"] = "qc-spec"

    def service_arguments(self) -> dict[str, Any]:
        """Cleaned data as ``qc_result_record`` takes it."""
        return {name: value for name, value in self.cleaned_data.items() if value not in (None, "")}
