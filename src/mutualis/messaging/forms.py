"""Forms of the messaging pages: every text field bounded (Django refuses NUL characters
in a ``CharField``); the rules themselves are checked again by ``services.clean``."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from mutualis.procurement.document_forms import MultipleFileField
from mutualis.procurement.forms import ParisDateTimeField

from .models import MAX_BODY, MAX_SUBJECT, MessageKind
from .services import Draft, Upload

ALL = "all"


class MessageForm(forms.Form):
    subject = forms.CharField(label=_("Subject"), max_length=MAX_SUBJECT)
    body = forms.CharField(
        label=_("Message"), max_length=MAX_BODY, widget=forms.Textarea(attrs={"rows": 8})
    )
    attachments = MultipleFileField(
        label=_("Attached files"),
        required=False,
        help_text=_(
            "At most 10 files: PDF, office documents, plans, images or ZIP archives of them. "
            "The type is read from the content; programs and scripts are refused."
        ),
    )

    def draft(self) -> Draft:
        data = self.cleaned_data
        return Draft(
            subject=data["subject"],
            body=data["body"],
            kind=data.get("kind") or MessageKind.GENERAL,
            reply_by=data.get("reply_by"),
            uploads=[Upload(file=f, name=f.name or "") for f in data.get("attachments") or []],
        )


class BuyerMessageForm(MessageForm):
    kind = forms.ChoiceField(label=_("Kind"), choices=MessageKind.choices)
    reply_by = ParisDateTimeField(label=_("Answer awaited by (Paris time)"), required=False)


class NewBuyerMessageForm(BuyerMessageForm):
    """On a consultation's page: to one company, or to every company that responded."""

    recipient = forms.ChoiceField(label=_("To"))

    def __init__(self, *args: Any, companies: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["recipient"]).choices = [
            (ALL, _("Every company that responded (one thread each)")),
            *[(str(pk), name) for pk, name in companies],
        ]
        self.order_fields(["recipient"])


class NewCompanyMessageForm(MessageForm):
    """In a company's inbox: a new thread on one of the consultations it may write about."""

    consultation = forms.TypedChoiceField(label=_("Consultation"), coerce=int)

    def __init__(self, *args: Any, consultations: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["consultation"]).choices = consultations
        self.order_fields(["consultation"])
