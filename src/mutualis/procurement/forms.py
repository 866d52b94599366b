"""Forms of the procurement pages: every text field states its limit (the edge's bound is
``MUTUALIS_MAX_FIELD_LENGTH``), deadlines are typed in Paris time to the minute."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from mutualis.core import cpv

from . import deadlines, errors
from .models import CancellationKind
from .services import ConsultationInput, LotInput
from .vocabulary import (
    Category,
    Ccag,
    ContractNature,
    EnvironmentalConsideration,
    ExecutionMode,
    PriceForm,
    PriceType,
    Procedure,
    SocialConsideration,
    Technique,
)

LOCAL_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M")
CPV_LIST_LENGTH = 500
DESCRIPTION_LENGTH = 10_000


class ParisDateTimeField(forms.DateTimeField):
    """A date and time typed in Paris (``<input type="datetime-local">``), to the minute,
    given back in UTC; a time that does not exist or happens twice in Paris that night is
    refused with its own message (``deadlines.from_paris``)."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, datetime) and value.tzinfo is not None:
            return deadlines.to_paris(value).replace(tzinfo=None)
        return value

    def to_python(self, value: Any) -> datetime | None:
        if value in self.empty_values:
            return None
        if isinstance(value, datetime):
            local = value if value.tzinfo is None else deadlines.to_paris(value)
        else:
            local = self._parse(str(value).strip())
        try:
            return deadlines.from_paris(local.replace(tzinfo=None))
        except errors.ProcurementError as exc:
            raise ValidationError(exc.message, code=exc.code) from None

    def _parse(self, text: str) -> datetime:
        for pattern in LOCAL_FORMATS:
            try:
                return datetime.strptime(text[:20], pattern)  # noqa: DTZ007 (Paris, see above)
            except ValueError:
                continue
        raise ValidationError(self.error_messages["invalid"], code="invalid")


def _cpv_list(text: str) -> list[str]:
    """Codes separated by commas, semicolons or spaces, each checked (``core.cpv``)."""
    return [row.code for row in cpv.parse_many(re.split(r"[\s,;]+", text))]


def _cpv_widget(*, multiple: bool) -> forms.TextInput:
    attrs = {
        "data-cpv-picker": "multiple" if multiple else "single",
        "autocomplete": "off",
        "spellcheck": "false",
    }
    return forms.TextInput(attrs=attrs)


class ConsultationForm(forms.Form):
    reference = forms.CharField(label=_("Internal reference"), max_length=50)
    title = forms.CharField(label=_("Title"), max_length=200)
    object = forms.CharField(
        label=_("Object of the contract"), max_length=1000, widget=forms.Textarea(attrs={"rows": 3})
    )
    description = forms.CharField(
        label=_("Description"),
        max_length=DESCRIPTION_LENGTH,
        required=False,
        help_text=_("Simple HTML is kept (paragraphs, lists, bold, links); the rest is removed."),
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    procedure = forms.ChoiceField(label=_("Procedure"), choices=Procedure.choices)
    category = forms.ChoiceField(label=_("Category"), choices=Category.choices)
    contract_nature = forms.ChoiceField(
        label=_("Nature of the contract"),
        choices=ContractNature.choices,
        initial=ContractNature.CONTRACT,
    )
    main_cpv = forms.CharField(
        label=_("Main CPV code"),
        max_length=12,
        help_text=_("For example 45000000-7; type words or digits to search the vocabulary."),
        widget=_cpv_widget(multiple=False),
    )
    additional_cpv = forms.CharField(
        label=_("Additional CPV codes"),
        max_length=CPV_LIST_LENGTH,
        required=False,
        help_text=_("Separated by commas."),
        widget=_cpv_widget(multiple=True),
    )
    place_of_execution = forms.CharField(
        label=_("Place of execution"), max_length=200, required=False
    )
    estimated_value = forms.DecimalField(
        label=_("Estimated value (euros excluding VAT)"),
        max_digits=14,
        decimal_places=2,
        min_value=0,
        required=False,
    )
    questions_deadline = ParisDateTimeField(
        label=_("Deadline for questions (Paris time)"),
    )
    response_deadline = ParisDateTimeField(
        label=_("Deadline for responses (Paris time)"),
    )
    signature_required = forms.BooleanField(label=_("Responses must be signed"), required=False)
    contact = forms.CharField(
        label=_("Contact"),
        max_length=1000,
        help_text=_("Shown publicly: the department, an e-mail address or a telephone number."),
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    ccag = forms.ChoiceField(label=_("CCAG"), choices=[("", "—"), *Ccag.choices], required=False)
    techniques = forms.MultipleChoiceField(
        label=_("Purchasing techniques"),
        choices=Technique.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    execution_modes = forms.MultipleChoiceField(
        label=_("Execution modes"),
        choices=ExecutionMode.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    price_types = forms.MultipleChoiceField(
        label=_("Price types"),
        choices=PriceType.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    price_form = forms.ChoiceField(
        label=_("Price form"), choices=[("", "—"), *PriceForm.choices], required=False
    )
    social_considerations = forms.MultipleChoiceField(
        label=_("Social considerations"),
        choices=SocialConsideration.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    environmental_considerations = forms.MultipleChoiceField(
        label=_("Environmental considerations"),
        choices=EnvironmentalConsideration.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    innovative = forms.BooleanField(label=_("Innovative purchase"), required=False)
    advance_payment = forms.BooleanField(label=_("Advance payment planned"), required=False)
    duration_months = forms.IntegerField(
        label=_("Duration in months"), min_value=1, max_value=1200, required=False
    )
    negotiation_reserved = forms.BooleanField(
        label=_("The buyer reserves the possibility to negotiate"),
        required=False,
        help_text=_(
            "An adapted procedure (MAPA) whose rules say so may negotiate with the best"
            " bidders after the analysis of the offers (R2123-5). The negotiated procedure"
            " and the competitive dialogue always may; calls for tenders never."
        ),
    )

    def clean_main_cpv(self) -> str:
        return cpv.parse(self.cleaned_data["main_cpv"]).code

    def clean_additional_cpv(self) -> list[str]:
        return _cpv_list(self.cleaned_data["additional_cpv"])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        questions, responses = data.get("questions_deadline"), data.get("response_deadline")
        if questions and responses and questions >= responses:
            self.add_error(
                "questions_deadline",
                ValidationError(
                    errors.QuestionsAfterResponses.message, code=errors.QuestionsAfterResponses.code
                ),
            )
        return data

    def to_input(self) -> ConsultationInput:
        data = dict(self.cleaned_data)
        additional = [code for code in data["additional_cpv"] if code != data["main_cpv"]]
        data["additional_cpv"] = additional
        return ConsultationInput(**data)

    @staticmethod
    def initial_of(consultation: Any) -> dict[str, Any]:
        initial = {name: getattr(consultation, name) for name in ConsultationForm.base_fields}
        rows = cpv.labels(consultation.cpv_codes)
        full = {code: row.full_code for code, row in rows.items()}
        initial["main_cpv"] = full.get(consultation.main_cpv, consultation.main_cpv)
        initial["additional_cpv"] = ", ".join(full.get(c, c) for c in consultation.additional_cpv)
        return initial


class LotForm(forms.Form):
    number = forms.IntegerField(label=_("Lot number"), min_value=1, max_value=999)
    title = forms.CharField(label=_("Title"), max_length=200)
    description = forms.CharField(
        label=_("Description"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    cpv_codes = forms.CharField(
        label=_("CPV codes of the lot"),
        max_length=CPV_LIST_LENGTH,
        required=False,
        help_text=_("Separated by commas."),
        widget=_cpv_widget(multiple=True),
    )
    estimated_value = forms.DecimalField(
        label=_("Estimated value (euros excluding VAT)"),
        max_digits=14,
        decimal_places=2,
        min_value=0,
        required=False,
    )

    def clean_cpv_codes(self) -> list[str]:
        return _cpv_list(self.cleaned_data["cpv_codes"])

    def to_input(self) -> LotInput:
        return LotInput(**self.cleaned_data)


class CriterionForm(forms.Form):
    label = forms.CharField(label=_("Criterion"), max_length=200)
    weight = forms.IntegerField(label=_("Weight (%)"), min_value=1, max_value=100)


class ScheduleForm(forms.Form):
    publish_at = ParisDateTimeField(label=_("Publish on (Paris time)"))


class CancelForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Outcome"), choices=CancellationKind.choices, widget=forms.RadioSelect
    )
    reason = forms.CharField(
        label=_("Reason (published)"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )


# --- Identified downloaders, questions and answers ---------------------------------------


class IdentifyForm(forms.Form):
    """Identification without an account: the SIRET is checked by the service
    (``core.numbers``), which says what is wrong with it."""

    name = forms.CharField(label=_("Your name"), max_length=200)
    email = forms.EmailField(label=_("Your e-mail address"), max_length=254)
    siret = forms.CharField(
        label=_("SIRET of your company"),
        max_length=30,
        help_text=_("14 digits; spaces are ignored."),
    )


class AccountIdentifyForm(forms.Form):
    company = forms.ChoiceField(label=_("Company you act for"))

    def __init__(self, *args: Any, companies: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["company"].choices = companies  # type: ignore[attr-defined]


class QuestionForm(forms.Form):
    text = forms.CharField(
        label=_("Your question"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("The answer is published to everyone, without your name."),
    )


class AnswerForm(forms.Form):
    question = forms.IntegerField(required=False, widget=forms.HiddenInput)
    question_text = forms.CharField(
        label=_("Question as published"),
        max_length=4000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Reword it if it names who asked: the public page shows this text."),
    )
    body = forms.CharField(
        label=_("Answer"),
        max_length=DESCRIPTION_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class InformationForm(forms.Form):
    body = forms.CharField(
        label=_("Information to publish"),
        max_length=DESCRIPTION_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
