from __future__ import annotations

from typing import Any

from django import forms
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from mutualis.core.models import AdhesionStatus, OrganisationKind


class QuickSelect(forms.Select):
    """A ``<select>`` written in Python rather than through the widget templates.

    The directory's filters offer some 120 options (the départements, the kinds);
    rendering each option through its own template cost more than the rest of the page.
    The markup is the one Django's ``Select`` writes.
    """

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        # ``name`` first, as Django's own template writes it; ``flatatt`` sorts the rest.
        final_attrs = flatatt(self.build_attrs(self.attrs, attrs))
        chosen = {str(v) for v in self.format_value(value)}
        selected = mark_safe(" selected")
        options = format_html_join(
            "\n",
            '<option value="{}"{}>{}</option>',
            ((key, selected if str(key) in chosen else "", label) for key, label in self.choices),
        )
        return format_html('<select name="{}"{}>\n{}\n</select>', name, final_attrs, options)


class DirectoryFilterForm(forms.Form):
    """The filters of the public directory, read from the query string.

    A value that is not a choice (a stale bookmark, a hand-edited address) is dropped with
    an error next to its field, and the list shows as if the filter were not set.
    """

    q = forms.CharField(label=_("Name, SIREN or INSEE code"), required=False, max_length=100)
    kind = forms.ChoiceField(label=_("Kind"), required=False, widget=QuickSelect)
    departement = forms.ChoiceField(label=_("Département"), required=False, widget=QuickSelect)
    adhesion = forms.ChoiceField(label=_("Adhesion"), required=False, widget=QuickSelect)

    def __init__(self, *args: Any, departements: list[tuple[str, str]], **kwargs: Any) -> None:
        # Labels stand above their fields: no colon after them.
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        every = ("", _("All"))
        self.fields["kind"].choices = [every, *OrganisationKind.choices]
        self.fields["adhesion"].choices = [every, *AdhesionStatus.choices]
        self.fields["departement"].choices = [every, *departements]

    def filters(self) -> dict[str, str]:
        """The valid filters, as keyword arguments of ``selectors.search_organisations``."""
        self.is_valid()
        data = self.cleaned_data
        return {
            "kind": data.get("kind", ""),
            "departement": data.get("departement", ""),
            "adhesion": data.get("adhesion", ""),
            "text": data.get("q", ""),
        }
