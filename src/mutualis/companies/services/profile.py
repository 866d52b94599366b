"""The company's procurement profile: its size, where it is and where it works, what it
does. Its administrators edit it; buyers and the purchasing observatory read it."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from django.db import transaction
from django_scopes import scope

from mutualis.core.models import CpvCode, Organisation, OrganisationKind

from .. import errors
from ..models import CompanyProfile, CompanySize, Representative
from ._common import checked_text, context, lock_company, record

ACTIVITIES_MAX_LENGTH = 2000
# A profile names what the company does, not the whole vocabulary: beyond this many codes
# an alert suggested from it would match nearly everything.
MAX_CPV_CODES = 50


def _cpv_codes(codes: Collection[str]) -> list[CpvCode]:
    """The main vocabulary's rows for these codes (8 digits, stored form); refuses any
    code the vocabulary does not hold."""
    wanted = {str(code).strip() for code in codes if str(code).strip()}
    if len(wanted) > MAX_CPV_CODES:
        raise errors.TooManyCpvCodes()
    found = list(CpvCode.objects.filter(code__in=wanted, supplementary=False).order_by("code"))
    if len(found) != len(wanted):
        raise errors.UnknownCpvCode()
    return found


def _departements(codes: Collection[str], *, field: str) -> list[Organisation]:
    """The territory's départements with these INSEE codes; refuses any other code."""
    wanted = {str(code).strip().upper() for code in codes if str(code).strip()}
    found = list(
        Organisation.objects.filter(
            kind=OrganisationKind.DEPARTEMENT, insee_code__in=wanted
        ).order_by("insee_code")
    )
    if len(found) != len(wanted):
        raise errors.UnknownDepartement(field=field)
    return found


@transaction.atomic(durable=True)
def update_company_profile(
    *,
    actor: Representative,
    size: str,
    main_departement: str,
    intervention_departements: Collection[str],
    activities: str,
    cpv_codes: Collection[str] | None = None,
    request_context: Mapping[str, Any] | None = None,
) -> CompanyProfile:
    """Record what the company says of itself. ``main_departement`` and the area of
    intervention are INSEE codes of the territory's départements; ``cpv_codes`` its
    activities as CPV codes (8 digits), unchanged when None."""
    if size and size not in CompanySize.values:
        raise errors.UnknownCompanySize()
    activities = checked_text(activities, field="activities", max_length=ACTIVITIES_MAX_LENGTH)
    main = _departements([main_departement], field="main_departement") if main_departement else []
    area = _departements(intervention_departements, field="intervention_departements")
    codes = _cpv_codes(cpv_codes) if cpv_codes is not None else None
    with scope(company=actor.company_id):
        company, current = lock_company(actor, admin=True)
        profile, _created = CompanyProfile.objects.get_or_create(company=company)
        before = {
            "size": profile.size,
            "main_departement": profile.main_departement_id,
            "area": sorted(profile.intervention_departements.values_list("pk", flat=True)),
            "activities": profile.activities,
            "cpv_codes": sorted(profile.cpv_codes.values_list("pk", flat=True)),
        }
        profile.size = size
        profile.main_departement = main[0] if main else None
        profile.activities = activities
        profile.save()
        profile.intervention_departements.set(area)
        if codes is not None:
            profile.cpv_codes.set(codes)
        after = {
            "size": profile.size,
            "main_departement": profile.main_departement_id,
            "area": sorted(d.pk for d in area),
            "activities": profile.activities,
            "cpv_codes": sorted(profile.cpv_codes.values_list("pk", flat=True)),
        }
        record(
            company,
            actor=current.user,
            action="company.profile_updated",
            target=profile,
            payload={
                "changed": sorted(k for k in after if after[k] != before[k]),
                "size": profile.size,
                "main_departement": main[0].insee_code if main else "",
                "area": [d.insee_code for d in area],
                "cpv_codes": after["cpv_codes"],
            },
            **context(request_context),
        )
    return profile
