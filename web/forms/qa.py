"""Input validation of the web UI's signing forms. The password is never rendered back."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from compliance.models import Deviation, ReleaseDecision, Signature


def _password() -> forms.CharField:
    return forms.CharField(
        label=_("Your password (re-entered to sign)"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}, render_value=False),
    )


class SignForm(forms.Form):
    """Sign one checklist item with a meaning; only the meanings the item takes are offered."""

    meaning = forms.ChoiceField(label=_("Meaning"))
    password = _password()

    def __init__(self, *args: Any, meanings: tuple[str, ...], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        labels = dict(Signature.Meaning.choices)
        self.fields["meaning"].choices = [(m, labels[m]) for m in meanings]  # type: ignore[attr-defined]


class ReleaseForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"), choices=ReleaseDecision.Decision.choices, widget=forms.RadioSelect
    )
    reason = forms.CharField(
        label=_("Reason (required to reject)"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    password = _password()


class FindingAssessForm(forms.Form):
    assessment = forms.CharField(label=_("Assessment"), widget=forms.Textarea(attrs={"rows": 2}))
    password = _password()


class DeviationCloseForm(forms.Form):
    impact_assessment = forms.CharField(
        label=_("Impact assessment"), widget=forms.Textarea(attrs={"rows": 2})
    )
    capa = forms.CharField(
        label=_("Corrective and preventive action (CAPA)"), widget=forms.Textarea(attrs={"rows": 2})
    )
    password = _password()


class DeviationOpenForm(forms.Form):
    severity = forms.ChoiceField(
        label=_("Severity"), choices=Deviation.Severity.choices, widget=forms.RadioSelect
    )
    description = forms.CharField(
        label=_("What happened"), widget=forms.Textarea(attrs={"rows": 3}), max_length=4000
    )


class DeviationInvestigateForm(forms.Form):
    investigation = forms.CharField(
        label=_("Investigation"), widget=forms.Textarea(attrs={"rows": 3}), max_length=8000
    )
    root_cause = forms.CharField(
        label=_("Root cause"), widget=forms.Textarea(attrs={"rows": 2}), max_length=4000
    )


class DeviationAssessForm(forms.Form):
    """QA's signed impact assessment of a minor deviation (it then no longer blocks release)."""

    impact_assessment = forms.CharField(
        label=_("Impact assessment"), widget=forms.Textarea(attrs={"rows": 2})
    )
    password = _password()


class ChecklistSignManyForm(forms.Form):
    """Several checklist items signed in one act: the items ticked (``item:meaning``), one password."""

    sign = forms.MultipleChoiceField(label=_("Items to sign"), widget=forms.CheckboxSelectMultiple)
    password = _password()

    def __init__(self, *args: Any, options: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["sign"].choices = options  # type: ignore[attr-defined]
        self.fields["sign"].error_messages["required"] = _("Select at least one item to sign.")

    def selections(self) -> list[tuple[str, str]]:
        """The ticked ``(item_code, meaning)`` pairs."""
        return [tuple(value.split(":", 1)) for value in self.cleaned_data["sign"]]  # type: ignore[misc]
