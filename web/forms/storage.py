"""Input validation of the storage screens: every action names the unit (and position) by scan."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from storage.services.thaw import DEFAULT_METHOD

_SCAN = {"autocomplete": "off", "autofocus": True}


def _unit() -> forms.CharField:
    return forms.CharField(label=_("Scan the unit label"), max_length=40, widget=forms.TextInput(attrs=_SCAN))


def _position(label: str) -> forms.CharField:
    return forms.CharField(label=label, max_length=40, widget=forms.TextInput(attrs={"autocomplete": "off"}))


class StoreForm(forms.Form):
    scanned_unit = _unit()
    scanned_position = _position(_("Scan the position label"))


class MoveForm(forms.Form):
    scanned_unit = _unit()
    scanned_position = _position(_("Scan the new position label"))


class RemoveForm(forms.Form):
    scanned_unit = _unit()
    purpose = forms.ChoiceField(
        label=_("Purpose"), choices=[("thaw", _("Thaw")), ("shipment", _("Shipment"))]
    )
    verifier = forms.CharField(label=_("Verifier (second person): user name"), max_length=150)
    verifier_password = forms.CharField(
        label=_("Verifier's password (re-entered to sign as verified)"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}, render_value=False),
    )


class ThawForm(forms.Form):
    scanned_unit = _unit()
    method = forms.CharField(label=_("Thaw method"), max_length=100, initial=DEFAULT_METHOD)
    viability_pct = forms.DecimalField(
        label=_("Post-thaw viability (%), optional"),
        required=False,
        min_value=0,
        max_value=100,
        decimal_places=2,
    )


class ExcursionAssessForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[
            ("accept", _("Product not affected: lift the hold")),
            ("reject", _("Product affected: reject the units")),
        ],
        widget=forms.RadioSelect,
    )
    assessment = forms.CharField(label=_("Assessment"), widget=forms.Textarea(attrs={"rows": 2}))
    password = forms.CharField(
        label=_("Your password (re-entered to sign)"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}, render_value=False),
    )
