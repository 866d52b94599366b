"""A downloader of a consultation's files who identifies (name, e-mail, SIRET) and
confirms the e-mail by the link mailed to it."""

from __future__ import annotations

import re

from django.urls import reverse

from mutualis.core.models import OutgoingEmail
from tests.factories.companies import company_siren, valid_siret
from tests.mailbox import delivered_text

UNKNOWN_SIRET = valid_siret(company_siren(40))


def identify(client, consultation, *, email="jeanne@example.net", siret=UNKNOWN_SIRET, **extra):
    return client.post(
        reverse("consultations:identify", kwargs={"pk": consultation.pk}),
        {"mode": "siret", "name": "Jeanne Martin", "email": email, "siret": siret},
        **extra,
    )


def confirmation_link(email: str) -> str:
    mail = OutgoingEmail.objects.filter(to=email).order_by("pk").last()
    match = re.search(r"https?://\S+/consultations/confirm/\?token=\S+", delivered_text(mail))
    assert match, delivered_text(mail)
    return match.group(0)


def confirm(client, email: str):
    link = confirmation_link(email)
    token = link.split("token=", 1)[1]
    return client.post(reverse("consultations:confirm"), {"token": token})
