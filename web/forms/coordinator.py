"""Input of the coordinator's forms: schedule, reschedule, cancel, bedside scans, observations.

Times are entered in the facility's time zone (``TIME_ZONE``) and labelled with it.
Business rules (readiness, identity at the bedside) stay in the services.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from compliance.models import InfusionObservation

LOCAL_INPUT = "%Y-%m-%dT%H:%M"


def _when(label: str) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=f"{label} ({settings.TIME_ZONE})",
        input_formats=[LOCAL_INPUT, "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL_INPUT),
    )


def _reason(label: str) -> forms.CharField:
    return forms.CharField(label=label, max_length=500, widget=forms.Textarea(attrs={"rows": 2}))


def _scan(label: str, **attrs: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=64,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "class": "mono", "spellcheck": "false", **attrs}
        ),
    )


class ScheduleForm(forms.Form):
    scheduled_for = _when(_("Infusion time"))


class RescheduleForm(forms.Form):
    scheduled_for = _when(_("New infusion time"))
    reason = _reason(_("Reason for rescheduling"))


class CancelForm(forms.Form):
    reason = _reason(_("Reason for cancelling"))


class BedsideForm(forms.Form):
    """Two scans: the dose label (DIN + K + dose number), then the patient's wristband (COI or patient code)."""

    scanned_identifier = _scan(_("Scan the dose label"), autofocus="autofocus")
    wristband = _scan(_("Scan the patient's wristband"))


class ObservationForm(forms.Form):
    SEVERITIES = [("", _("Not applicable")), ("mild", _("Mild")), ("moderate", _("Moderate")),
                  ("severe", _("Severe"))]  # fmt: skip

    kind = forms.ChoiceField(label=_("Kind"), choices=InfusionObservation.Kind.choices)
    observed_at = _when(_("Observed at"))
    severity = forms.ChoiceField(label=_("Severity"), choices=SEVERITIES, required=False)
    description = forms.CharField(
        label=_("Description"), max_length=4000, widget=forms.Textarea(attrs={"rows": 3})
    )
