"""The form of an alert: the portal's search parameters (``notes``: shared names), as
lists typed or prefilled from a search's query string; the service checks them again."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from mutualis.core.models import CpvCode

from .alerts import CPV_PREFIX, DEPARTEMENT, MAX_VALUES_PER_CRITERION, AlertInput
from .alerts_models import AlertFrequency
from .vocabulary import Category, Procedure

_SEPARATORS = re.compile(r"[\s,;]+")


def _split(text: str) -> list[str]:
    return list(dict.fromkeys(v for v in _SEPARATORS.split(text.strip()) if v))


class AlertForm(forms.Form):
    name = forms.CharField(
        label=_("Name of the alert"),
        max_length=100,
        help_text=_("For example: roofing works in Côte-d'Or."),
    )
    q = forms.CharField(
        label=_("Words"),
        required=False,
        max_length=200,
        help_text=_(
            "Every word must appear (accents and case do not matter); -word excludes a word."
        ),
    )
    cpv = forms.CharField(
        label=_("CPV codes or their first digits"),
        required=False,
        max_length=500,
        widget=forms.TextInput(
            attrs={"data-cpv-picker": "multiple", "autocomplete": "off", "spellcheck": "false"}
        ),
        help_text=_(
            "From 2 to 8 digits, separated by commas: 45 for every kind of works, 45261 for "
            "roofing. Type words to search the vocabulary."
        ),
    )
    departement = forms.CharField(
        label=_("Départements of the buyer"),
        required=False,
        max_length=300,
        help_text=_("INSEE codes separated by commas, for example 21, 71, 2A."),
    )
    procedure = forms.MultipleChoiceField(
        label=_("Procedures"),
        required=False,
        choices=Procedure.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    category = forms.MultipleChoiceField(
        label=_("Categories"),
        required=False,
        choices=Category.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    buyer = forms.MultipleChoiceField(
        label=_("Buyers"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None checked: every buyer."),
    )
    frequency = forms.ChoiceField(
        label=_("Send me"),
        choices=AlertFrequency.choices,
        initial=AlertFrequency.DAILY,
        widget=forms.RadioSelect,
    )

    def __init__(self, *args: Any, buyers: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = list(buyers)
        known = {slug for slug, _name in choices}
        # A buyer already chosen stays listed even if it has nothing public any more.
        for slug in self.initial.get("buyer", []) or []:
            if slug not in known:
                choices.append((slug, slug))
        self.fields["buyer"].choices = choices  # type: ignore[attr-defined]

    def clean_cpv(self) -> list[str]:
        prefixes = [v.split("-")[0] for v in _split(self.cleaned_data["cpv"])]
        if len(prefixes) > MAX_VALUES_PER_CRITERION:
            raise ValidationError(_("Give at most 50 codes."), code="alert_criterion_invalid")
        for prefix in prefixes:
            if not CPV_PREFIX.match(prefix):
                raise ValidationError(
                    _("“%(code)s” is not a CPV code or its first digits: give 2 to 8 digits."),
                    code="cpv_format",
                    params={"code": prefix[:20]},
                )
            if not CpvCode.objects.filter(code__startswith=prefix, supplementary=False).exists():
                raise ValidationError(
                    _("No code of the CPV 2008 vocabulary starts with “%(code)s”."),
                    code="cpv_unknown",
                    params={"code": prefix},
                )
        return prefixes

    def clean_departement(self) -> list[str]:
        codes = [v.upper() for v in _split(self.cleaned_data["departement"])]
        for code in codes:
            if not DEPARTEMENT.match(code):
                raise ValidationError(
                    _("“%(code)s” is not a département code: for example 21, 71 or 2A."),
                    code="departement_invalid",
                    params={"code": code[:10]},
                )
        return codes[:MAX_VALUES_PER_CRITERION]

    def to_input(self) -> AlertInput:
        data = self.cleaned_data
        return AlertInput(
            name=data["name"],
            frequency=data["frequency"],
            q=data["q"],
            cpv_prefixes=data["cpv"],
            departements=data["departement"],
            procedures=data["procedure"],
            categories=data["category"],
            buyers=data["buyer"],
        )


def initial_from_query(query: QueryDict) -> dict[str, Any]:
    """The form's initial values from a portal search's query string (the shared
    parameter names); anything else is ignored."""
    initial: dict[str, Any] = {}
    if query.get("q"):
        initial["q"] = query["q"][:200]
    for name in ("cpv", "departement"):
        values = [v[:20] for v in query.getlist(name)[:MAX_VALUES_PER_CRITERION] if v]
        if values:
            initial[name] = ", ".join(values)
    for name in ("procedure", "category", "buyer"):
        values = [v[:120] for v in query.getlist(name)[:MAX_VALUES_PER_CRITERION] if v]
        if values:
            initial[name] = values
    if query.get("name"):
        initial["name"] = query["name"][:100]
    return initial


def initial_from_alert(alert: Any) -> dict[str, Any]:
    return {
        "name": alert.name,
        "q": alert.q,
        "cpv": ", ".join(alert.cpv_prefixes),
        "departement": ", ".join(alert.departements),
        "procedure": alert.procedures,
        "category": alert.categories,
        "buyer": alert.buyers,
        "frequency": alert.frequency,
    }
