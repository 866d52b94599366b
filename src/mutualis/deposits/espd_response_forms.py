"""The company's ESPD response form, built from the questions of the consultation's
request (``espd_response.Questionnaire``): the operator's identity, then one field (two
for an amount or a period) per question. Field names are ``q<n>``, ``n`` the question's
position; :meth:`EspdResponseForm.answers` gives the answers by property ID."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from mutualis.companies.models import CompanySize

from . import espd_response
from . import espd_response_errors as errors

YES_NO = [("", _("Not answered")), ("true", _("Yes")), ("false", _("No"))]
MAX_WHOLE = 10**12


@dataclass(frozen=True)
class Row:
    """A question as the page shows it, with its field names."""

    question: espd_response.Question
    names: tuple[str, ...]


def _number_field(*, whole: bool, maximum: int | None = None) -> forms.Field:
    if whole:
        return forms.IntegerField(required=False, min_value=0, max_value=MAX_WHOLE)
    return forms.DecimalField(
        required=False,
        min_value=Decimal(0),
        max_value=Decimal(maximum) if maximum is not None else None,
        max_digits=20,
        decimal_places=4,
    )


def _date_field() -> forms.DateField:
    return forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))


class EspdResponseForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    siret = forms.RegexField(
        label=_("SIRET"),
        regex=r"^\d{14}$",
        max_length=14,
        required=False,
        error_messages={"invalid": _("A SIRET has 14 digits.")},
    )
    street = forms.CharField(label=_("Street"), max_length=300, required=False)
    postal_code = forms.CharField(label=_("Postcode"), max_length=10, required=False)
    city = forms.CharField(label=_("City"), max_length=100, required=False)
    size = forms.ChoiceField(
        label=_("Size of the enterprise"),
        choices=[("", _("Not stated")), *CompanySize.choices],
        required=False,
    )
    contact_name = forms.CharField(label=_("Contact person"), max_length=200, required=False)
    email = forms.EmailField(label=_("Contact e-mail"), max_length=254, required=False)
    telephone = forms.CharField(label=_("Contact telephone"), max_length=30, required=False)

    OPERATOR_FIELDS = (
        "name", "siret", "street", "postal_code", "city", "size", "contact_name", "email",
        "telephone",
    )  # fmt: skip

    def __init__(
        self,
        *args: Any,
        questions: espd_response.Questionnaire,
        answers: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.questions = questions
        self.rows: dict[str, Row] = {}
        answers = answers or {}
        index = 0
        for criterion in questions.criteria:
            for question in criterion.questions:
                index += 1
                self.rows[question.id] = self._add(f"q{index}", question, answers.get(question.id))

    def _add(self, name: str, question: espd_response.Question, value: Any) -> Row:
        kind = question.kind
        label = question.label
        if kind == "AMOUNT":
            self.fields[f"{name}_amount"] = _number_field(whole=False)
            self.fields[f"{name}_currency"] = forms.CharField(
                required=False, max_length=3, initial="EUR", label=_("Currency")
            )
            self.fields[f"{name}_amount"].label = label
            if isinstance(value, dict):
                self.initial[f"{name}_amount"] = value.get("amount")
                self.initial[f"{name}_currency"] = value.get("currency")
            return Row(question, (f"{name}_amount", f"{name}_currency"))
        if kind == "PERIOD":
            self.fields[f"{name}_start"] = _date_field()
            self.fields[f"{name}_end"] = _date_field()
            self.fields[f"{name}_start"].label = _("Start")
            self.fields[f"{name}_end"].label = _("End")
            if isinstance(value, dict):
                self.initial[f"{name}_start"] = value.get("start")
                self.initial[f"{name}_end"] = value.get("end")
            return Row(question, (f"{name}_start", f"{name}_end"))
        field: forms.Field
        if kind == espd_response.INDICATOR:
            field = forms.ChoiceField(choices=YES_NO, required=False, widget=forms.RadioSelect)
            if isinstance(value, bool):
                self.initial[name] = "true" if value else "false"
        elif kind in espd_response.TEXTS:
            field = forms.CharField(
                required=False,
                max_length=espd_response.DESCRIPTION_LENGTH,
                widget=forms.Textarea(attrs={"rows": 2}),
            )
        elif kind in espd_response.LINES:
            field = forms.CharField(required=False, max_length=espd_response.LINE_LENGTH)
        elif kind == "CODE_COUNTRY":
            field = forms.CharField(required=False, max_length=3)
        elif kind in espd_response.WHOLE_NUMBERS:
            field = _number_field(whole=True)
        elif kind in espd_response.NUMBERS:
            field = _number_field(whole=False, maximum=100 if kind == "PERCENTAGE" else None)
        elif kind in espd_response.URLS:
            field = forms.URLField(
                required=False, max_length=espd_response.LINE_LENGTH * 3, assume_scheme="https"
            )
        else:  # DATE
            field = _date_field()
        field.label = label
        self.fields[name] = field
        if kind != espd_response.INDICATOR and value is not None:
            self.initial[name] = value
        return Row(question, (name,))

    def operator(self) -> espd_response.Operator:
        data = self.cleaned_data
        return espd_response.Operator(
            **{name: str(data.get(name) or "") for name in self.OPERATOR_FIELDS}
        )

    def answers(self) -> dict[str, Any] | None:
        """The answers by property ID, each checked (None, with the errors on their
        fields, when one is refused)."""
        data = self.cleaned_data
        answers: dict[str, Any] = {}
        for identifier, row in self.rows.items():
            raw = _raw(row, data)
            if raw is None:
                continue
            try:
                answers[identifier] = espd_response.clean_answer(row.question.kind, raw)
            except espd_response.ResponseError as exc:
                self.add_error(row.names[0], errors.refusal(exc).message)
        return None if self.errors else answers


def _raw(row: Row, data: dict[str, Any]) -> Any:
    kind = row.question.kind
    values = [data.get(name) for name in row.names]
    if kind == "AMOUNT":
        amount, currency = values
        if amount is None:
            return None
        return {"amount": str(amount), "currency": currency or "EUR"}
    if kind == "PERIOD":
        start, end = values
        if start is None and end is None:
            return None
        return {
            "start": start.isoformat() if start is not None else "",
            "end": end.isoformat() if end is not None else "",
        }
    (value,) = values
    if value in (None, ""):
        return None
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value if isinstance(value, str) else str(value)


class EspdImportForm(forms.Form):
    file = forms.FileField(
        label=_("ESPD response (XML)"),
        help_text=_("An ESPD-EDM response, from the national DUME service or another platform."),
    )
