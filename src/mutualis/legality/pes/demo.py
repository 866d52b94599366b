"""The accounting flows' demo data (a step of ``mutualis seed_demo``): Dijon's agent
imports an expense flow of two bordereaux; the demo's gateway stand-in answers the second
with an anomaly, so that the flow shows up acknowledged with one anomaly explained.
Idempotent: a flow already there is left as it is.

The flow is a non-dematerialised one (``InfoDematerialisee`` = 0): it needs no signature,
and so no trust anchor of the demo's own."""

from __future__ import annotations

import io
from typing import Any

from django_scopes import scope

from mutualis.core.demo import demo_organisation
from mutualis.identity.models import Membership

from . import samples, services
from .models import ACCOUNTANT_ROLE, PesFlow

AGENT_EMAIL = "mairie@dijon.localhost"
MEMBER = "commune:21231"
DEMO_NAME = "PESALR1_DEMO_DIJON_000001"


def seed_pes(stdout: Any) -> None:
    organisation = demo_organisation(MEMBER)
    with scope(organisation=organisation.pk):
        agent = (
            Membership.objects.filter(
                organisation=organisation, user__email=AGENT_EMAIL, roles__code=ACCOUNTANT_ROLE
            )
            .select_related("organisation")
            .first()
        )
        if agent is None or not organisation.siren:
            stdout.write(f"  pes: {AGENT_EMAIL} is not an accounting agent of {organisation.name}")
            return
        if PesFlow.objects.filter(organisation=organisation, nomfic=DEMO_NAME).exists():
            return
    siret = organisation.siret or f"{organisation.siren}00011"
    data = samples.pes_aller(siret, bordereaux=(101, 102), dematerialised=False, name=DEMO_NAME)
    services.import_flow(actor=agent, upload=services.Upload(io.BytesIO(data), "pes_aller.xml"))
    stdout.write(f"  pes: {DEMO_NAME} imported for {organisation.name}, waiting to be sent")
