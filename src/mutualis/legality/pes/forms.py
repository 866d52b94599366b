"""The PES pages' forms: what they accept, nothing more (the services decide)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import FlowStatus


class FlowUploadForm(forms.Form):
    file = forms.FileField(
        label=_("PES_Aller file (XML)"),
        help_text=_("The flow exported by your finance software, signed or not."),
        widget=forms.ClearableFileInput(attrs={"accept": ".xml,text/xml,application/xml"}),
    )


class FlowFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All")), *list(FlowStatus.choices)]
    )
