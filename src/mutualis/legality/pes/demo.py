"""The accounting flows' demo data (a step of ``mutualis seed_demo``): Dijon's agent
imports an expense flow of two bordereaux; the demo's gateway stand-in answers the second
with an anomaly, so that the flow shows up acknowledged with one anomaly explained.
Idempotent: a flow already there is left as it is.

The flow is a non-dematerialised one (``InfoDematerialisee`` = 0): it needs no signature,
and so no trust anchor of the demo's own.

The treasury's return of the rejected bordereau (a ``PES_Retour`` of rejects, bordereau
102's piece rejected) is dropped into the stand-in's outbox (``sortie/`` of its default
directory, the stand-in need not run yet): once the demo runs, the collection job puts
it in Dijon's inbox and the platform's ``PES_ACQUIT_RETOUR`` goes back to the stand-in.
Dropped again only while Dijon has no return of that name."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from django.conf import settings
from django_scopes import scope

from mutualis.core.demo import demo_organisation
from mutualis.identity.models import Membership

from . import samples, services, standin
from .models import ACCOUNTANT_ROLE, PesFlow, PesReturn

AGENT_EMAIL = "mairie@dijon.localhost"
MEMBER = "commune:21231"
DEMO_NAME = "PESALR1_DEMO_DIJON_000001"
RETURN_NAME = "PES2R_DEP__R_001_00_021000_DEMO_DIJON_000001.xml"


def gateway_root() -> Path:
    """The stand-in's directory when ``mutualis pes_standin`` runs with its defaults."""
    return Path(settings.VAR_DIR) / "legality" / "pes-gateway"


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
        flow_there = PesFlow.objects.filter(organisation=organisation, nomfic=DEMO_NAME).exists()
        return_there = PesReturn.objects.filter(
            organisation=organisation, nomfic=RETURN_NAME
        ).exists()
    siret = organisation.siret or f"{organisation.siren}00011"
    if not return_there:
        retour = samples.pes_retour(siret, rejected=(102,), accepted=(101,), name=RETURN_NAME)
        standin.drop_retour(gateway_root(), retour, RETURN_NAME)
        stdout.write(f"  pes: a PES_Retour for {organisation.name} waits in the stand-in's outbox")
    if flow_there:
        return
    data = samples.pes_aller(siret, bordereaux=(101, 102), dematerialised=False, name=DEMO_NAME)
    services.import_flow(actor=agent, upload=services.Upload(io.BytesIO(data), "pes_aller.xml"))
    stdout.write(f"  pes: {DEMO_NAME} imported for {organisation.name}, waiting to be sent")
