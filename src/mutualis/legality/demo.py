"""The legality context's demo data: Dijon enrolled with its prefecture and a few acts
prepared by its agent, one of them validated with its package (a step of
``mutualis seed_demo``). Idempotent: an act already there is left as it is."""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django_scopes import scope

from mutualis.core.demo import demo_organisation
from mutualis.core.pdf import text_pdf
from mutualis.identity.models import Membership

from . import publication, services
from .models import AGENT_ROLE, Act, ActStatus, Enrolment

AGENT_EMAIL = "mairie@dijon.localhost"
MEMBER = "commune:21231"
# (number, nature, days before today, classification, subject, validated)
ACTS = [
    (
        "DEL_2026_041",
        1,
        12,
        "1.1",
        "Attribution du marché de déneigement des voies communales",
        True,
    ),
    ("ARR_2026_117", 2, 5, "6.1", "Réglementation du stationnement rue de la Liberté", False),
    # Validated: the demo's stand-in of the ministry acknowledges it within seconds.
    ("DEL_2026_042", 1, 3, "7.5", "Subventions aux associations sportives pour 2027", True),
]


@transaction.atomic
def seed_legality(stdout: Any) -> None:
    organisation = demo_organisation(MEMBER)
    with scope(organisation=organisation.pk):
        agent = (
            Membership.objects.filter(
                organisation=organisation, user__email=AGENT_EMAIL, roles__code=AGENT_ROLE
            )
            .select_related("organisation")
            .first()
        )
        if agent is None:
            stdout.write(
                f"  legality: {AGENT_EMAIL} is not a legality agent of {organisation.name}"
            )
            return
        # The same person administers Dijon in the demo; an enrolment already there is kept.
        if not Enrolment.objects.filter(organisation=organisation).exists():
            services.save_enrolment(
                actor=agent,
                convention_reference="PREF21-ACTES-2024-017",
                convention_date=date(2024, 3, 1),
                departement="",
                arrondissement="1",
                authority_nature="25",
                natures=[1, 2, 3, 4, 5, 6],
            )
        today = timezone.localdate()
        made = 0
        for number, nature, days, code, subject, validated in ACTS:
            if Act.objects.filter(organisation=organisation, number=number).exists():
                continue
            decided_on = today - timedelta(days=days)
            pdf = text_pdf(
                [f"Ville de Dijon — {number}", subject, f"Décidé le {decided_on:%d/%m/%Y}."],
                title=subject,
            )
            annex = text_pdf(
                [f"Annexe à {number}", "Pièce jointe de démonstration."], title="Annexe"
            )
            act = services.prepare_act(
                actor=agent,
                nature=nature,
                number=number,
                decided_on=decided_on,
                classification_code=code,
                subject=subject,
                paper_follows=False,
                document=services.Upload(io.BytesIO(pdf), f"{number.lower()}.pdf"),
                annexes=[services.AnnexUpload(io.BytesIO(annex), "annexe.pdf", "99_AU")],
            )
            if validated:
                services.validate_act(actor=agent, act_id=act.pk)
            made += 1
        stdout.write(f"  legality: {organisation.name} enrolled, {made} act(s) prepared")
        _acknowledge_first(organisation.pk, agent, stdout)


# The validated demo act, acknowledged by the prefecture and published, so that its
# stamped PDF, slip and public verification page show something.
ACKNOWLEDGED = "DEL_2026_041"


def _acknowledge_first(organisation_id: int, agent: Membership, stdout: Any) -> None:
    act = Act.objects.filter(organisation_id=organisation_id, number=ACKNOWLEDGED).first()
    if act is None or act.status not in (ActStatus.WAITING, ActStatus.ACKNOWLEDGED):
        return
    today = timezone.localdate()
    if act.status == ActStatus.WAITING:
        # Sending is the transport's; the demo says the package left two days after the
        # decision (a demo step may set the status: no prefecture answers here).
        sent_at = timezone.now() - timedelta(days=10)
        Act.objects.filter(pk=act.pk).update(status=ActStatus.SENT, sent_at=sent_at)
        services.acknowledge_act(
            organisation_id=organisation_id,
            identifier=act.identifier,
            received_on=timezone.localdate(sent_at),
        )
        publication.stamp_act(organisation_id=organisation_id, act_id=act.pk)
        publication.record_publication(
            actor=agent, act_id=act.pk, published_on=today - timedelta(days=8)
        )
    # The background job does the same once committed; made here, the demo needs no
    # worker (stamp_act does nothing when the act is stamped already).
    publication.stamp_act(organisation_id=organisation_id, act_id=act.pk)
    act.refresh_from_db()
    stdout.write(
        f"  legality: {ACKNOWLEDGED} acknowledged and stamped; verification page: "
        f"{publication.verification_url(act.verification_token)}"
    )
