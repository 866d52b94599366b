from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from mutualis.core.models import AdhesionStatus, OrganisationKind


class DirectoryFilterForm(forms.Form):
    """The filters of the public directory, read from the query string.

    A value that is not a choice (a stale bookmark, a hand-edited address) is dropped with
    an error next to its field, and the list shows as if the filter were not set.
    """

    q = forms.CharField(label=_("Name, SIREN or INSEE code"), required=False, max_length=100)
    kind = forms.ChoiceField(label=_("Kind"), required=False)
    departement = forms.ChoiceField(label=_("Département"), required=False)
    adhesion = forms.ChoiceField(label=_("Adhesion"), required=False)

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
