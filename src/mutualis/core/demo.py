"""The platform core's demo data: the operator and the demo's members, their adhesion
and subscriptions (a step of ``mutualis seed_demo``, see ``registry.declare_demo_step``)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError
from django.db import transaction
from stdnum import luhn

from . import audit
from .models import FeeCategory, Organisation, Service, Subscription

DEMO_ACTOR = audit.SystemActor("seed_demo")

# Every account the demo creates has an address in the reserved ``.localhost`` domain
# (RFC 6761), which no real mailbox can have: `check --deploy` warns when an instance
# holds any (``identity.checks``), and a test keeps the demo's steps to it.
DEMO_EMAIL_SUFFIX = ".localhost"

MEMBERS = ["commune:21231", "commune:21054", "epci:242100410", "departement:21", "region:27"]


def demo_organisation(key: str) -> Organisation:
    """An organisation of the demo by its import key ("commune:21231"), or "operator"."""
    if key == "operator":
        return Organisation.objects.get(slug=settings.MUTUALIS_OPERATOR_SLUG)
    org = Organisation.objects.filter(source_key=key).first()
    if org is None:
        raise CommandError(f"{key} is missing: run `mutualis import_territory --region 27` first.")
    return org


@transaction.atomic
def seed_members(stdout: Any) -> None:
    operator, created = Organisation.objects.get_or_create(
        slug=settings.MUTUALIS_OPERATOR_SLUG,
        defaults={
            "name": "Mutualis — groupement d'intérêt public",
            "kind": "operator",
            "adhesion_status": "member",
        },
    )
    if created:
        audit.record(actor=DEMO_ACTOR, action="organisation.created", target=operator)
    for key in MEMBERS:
        _make_member(demo_organisation(key))


def _make_member(org: Organisation) -> None:
    category = _fee_category(org)
    if org.adhesion_status != "member":
        org.adhesion_status = "member"
        org.adhesion_since = date(2024, 1, 1)
        org.fee_category = category
        org.save(update_fields=["adhesion_status", "adhesion_since", "fee_category"])
        audit.record(
            actor=DEMO_ACTOR,
            organisation=org,
            action="organisation.adhesion_changed",
            target=org,
            payload={"to": "member", "fee_category": category.code},
        )
    if org.siren and not org.siret:
        # The head office's SIRET the DECP names the buyer by: the territory files give
        # the SIREN only; a member's administrator enters it. The demo makes one up (a
        # valid number: "0001" and its Luhn digit).
        org.siret = head_office_siret(org.siren)
        org.save(update_fields=["siret"])
        audit.record(
            actor=DEMO_ACTOR,
            organisation=org,
            action="organisation.updated",
            target=org,
            payload={"siret": org.siret},
        )
    for service in Service.objects.filter(code__in=["procurement", "legality", "signature"]):
        _, created = Subscription.objects.get_or_create(
            organisation=org, service=service, defaults={"since": date(2024, 1, 1)}
        )
        if created:
            audit.record(
                actor=DEMO_ACTOR,
                organisation=org,
                action="subscription.created",
                target=org,
                payload={"service": service.code},
            )


def head_office_siret(siren: str) -> str:
    body = f"{siren}0001"
    return body + luhn.calc_check_digit(body)


def _fee_category(org: Organisation) -> FeeCategory:
    if org.kind == "commune":
        population = org.population or 0
        code = (
            "commune-under-500"
            if population < 500
            else "commune-500-3500"
            if population <= 3500
            else "commune-over-3500"
        )
    elif org.is_epci:
        code = "epci"
    elif org.kind in ("departement", "region"):
        code = "departement-region"
    else:
        code = "other"
    return FeeCategory.objects.get(code=code)
