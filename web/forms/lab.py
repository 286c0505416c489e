"""Input validation of the web UI's bench forms. Business rules stay in the services."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from batches.domain.steps import STEP_RULES
from batches.models import CultureStep, Location
from batches.services.culture import STEP_FIELDS

SCAN_LABEL = _("Scan the batch label (DIN + check character)")
# Fields every step form has, whatever its kind.
_COMMON = ("kind", "scanned_identifier", "performed_at", "equipment", "notes")
# Optional values a kind may carry besides the ones STEP_RULES requires (what the form offers).
_OPTIONAL = {"seeding": ("serum_din",), "passage": ("confluence_pct",), "cell_count": ("confluence_pct",)}


def _scan_field() -> forms.CharField:
    return forms.CharField(
        label=SCAN_LABEL,
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "off", "class": "mono", "spellcheck": "false"}),
    )


def _seal_field() -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=_("Seal"),
        choices=[("yes", _("Intact")), ("no", _("Not intact"))],
        coerce=lambda value: value == "yes",
        empty_value=None,
        widget=forms.RadioSelect,
    )


def _percent(label: str) -> forms.DecimalField:
    return forms.DecimalField(label=label, max_digits=5, decimal_places=2, min_value=0, max_value=100)


class StepForm(forms.Form):
    """A culture step of one kind: the kind's values (from STEP_RULES), the scan, and optional extras."""

    kind = forms.ChoiceField(label=_("Step"), choices=CultureStep.Kind.choices)
    scanned_identifier = _scan_field()
    temperature_c = forms.DecimalField(label=_("Temperature (°C)"), max_digits=4, decimal_places=1)
    seal_intact = _seal_field()
    medium_lot = forms.CharField(label=_("Medium lot"), max_length=64)
    serum_din = forms.CharField(label=_("Autologous serum collection (DIN)"), max_length=20)
    seeded_cells = forms.IntegerField(label=_("Cells seeded"), min_value=1)
    viable_cells = forms.IntegerField(label=_("Viable cells"), min_value=1)
    viability_pct = _percent(_("Viability (%)"))
    confluence_pct = _percent(_("Confluence (%)"))
    doses = forms.IntegerField(label=_("Doses"), min_value=1)
    cells_per_dose = forms.IntegerField(label=_("Cells per dose"), min_value=1)
    volume_ml_per_dose = forms.DecimalField(
        label=_("Volume per dose (mL)"), max_digits=6, decimal_places=1, min_value=Decimal("0.1")
    )
    performed_at = forms.DateTimeField(
        label=_("Performed at"),
        help_text=_("Leave empty for now."),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    equipment = forms.CharField(label=_("Equipment"), max_length=200)
    notes = forms.CharField(label=_("Notes"), widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, kind: str, fields_url: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if fields_url:  # htmx swaps in the value fields of the kind chosen
            self.fields["kind"].widget.attrs.update(
                {"hx-get": fields_url, "hx-target": "#step-fields", "hx-trigger": "change"}
            )
        required = STEP_RULES[kind].required
        keep = {*_COMMON, *required, *_OPTIONAL.get(kind, ())}
        for name in list(self.fields):
            if name not in keep:
                del self.fields[name]
            else:
                self.fields[name].required = name in (*required, "kind", "scanned_identifier")
        self.fields["kind"].initial = kind

    @staticmethod
    def kind_of(data: Any, default: str) -> str:
        """The kind named in ``data`` (form data or a query string) when it is one, else ``default``."""
        kind = data.get("kind") if data is not None else None
        return kind if kind in STEP_RULES else default

    def kind_fields(self) -> list[forms.BoundField]:
        """The values of this kind (the part htmx swaps when the kind changes)."""
        return [field for field in self if field.name not in _COMMON]

    def common_fields(self) -> list[forms.BoundField]:
        """The scan, time, equipment and notes every step has (kept when the kind changes)."""
        return [field for field in self if field.name in _COMMON and field.name != "kind"]

    def service_arguments(self) -> dict[str, Any]:
        """Cleaned data as ``step_record`` takes it: only the values given."""
        return {name: value for name, value in self.cleaned_data.items() if value not in (None, "")}


class CustodyForm(forms.Form):
    """A hand-over of the batch to an active location."""

    to_location = forms.ModelChoiceField(label=_("To location"), queryset=Location.objects.none())
    temperature_c = forms.DecimalField(
        label=_("Temperature (°C)"), max_digits=4, decimal_places=1, required=False
    )
    seal_intact = _seal_field()
    scanned_identifier = _scan_field()
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, locations: QuerySet[Location], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["to_location"].queryset = locations  # type: ignore[attr-defined]


class FlagAcknowledgeForm(forms.Form):
    note = forms.CharField(label=_("Note"), required=False, max_length=500)


class StepCorrectionForm(StepForm):
    """A correction of a logged step: the step's values again, changed where wrong, and why.

    The original stays in the record; the correction is a new step that amends it.
    """

    def __init__(self, *args: Any, step: CultureStep, **kwargs: Any) -> None:
        initial = {name: getattr(step, name) for name in (*STEP_FIELDS, "performed_at")}
        initial["seal_intact"] = {True: "yes", False: "no"}.get(step.seal_intact)  # type: ignore[arg-type]
        super().__init__(*args, kind=step.kind, initial=initial, **kwargs)
        for name in ("kind", "scanned_identifier", "serum_din"):
            self.fields.pop(name, None)
        self.fields["performed_at"].help_text = ""
        # Added here, not declared: StepForm keeps only the fields of the step's kind.
        self.fields["reason"] = forms.CharField(
            label=_("Reason for the correction"), widget=forms.Textarea(attrs={"rows": 2}), max_length=500
        )

    def service_arguments(self) -> dict[str, Any]:
        values = super().service_arguments()
        values.pop("reason", None)
        return values
