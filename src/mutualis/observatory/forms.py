"""The observatory's one filter: the year."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import ALL_YEARS

# The code of an error that names a year without figures: the page answers 404.
UNKNOWN_YEAR = "unknown_year"


class YearForm(forms.Form):
    year = forms.CharField(
        label=_("Year"),
        required=False,
        max_length=4,
        error_messages={"max_length": _("Write the year with four digits, for example 2025.")},
    )

    def __init__(self, *args: Any, years: list[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.years = years
        choices = [("", _("Every year"))] + [(str(y), str(y)) for y in reversed(years)]
        self.fields["year"].widget = forms.Select(choices=choices)

    def clean_year(self) -> int:
        text: str = self.cleaned_data["year"]
        if not text:
            return ALL_YEARS
        if not (text.isascii() and text.isdigit() and len(text) == 4):
            raise forms.ValidationError(
                _("Write the year with four digits, for example 2025."), code="year_format"
            )
        if int(text) not in self.years:
            raise forms.ValidationError(
                _("There are no figures for %(year)s: choose one of the years listed."),
                code=UNKNOWN_YEAR,
                params={"year": text},
            )
        return int(text)

    def chosen(self) -> tuple[int, int]:
        """The year chosen (``ALL_YEARS`` when none or when refused), and the status the
        page answers with: 200, 400 for a malformed year, 404 for a year without figures."""
        if self.is_valid():
            return self.cleaned_data["year"], 200
        unknown = any(e.code == UNKNOWN_YEAR for e in self.errors.as_data().get("year", []))
        return ALL_YEARS, 404 if unknown else 400
