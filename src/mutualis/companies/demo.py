"""The companies context's demo data: a business registered by SIRET and its manager (a
step of ``mutualis seed_demo``)."""

from __future__ import annotations

from typing import Any

from mutualis.core.links import absolute_url
from mutualis.identity import services as identity

from . import services
from .models import Company

BUSINESS = ("gerant@menuiserie.localhost", "demo-entreprise-2026", "Hugo", "Lambert")
DEMO_SIRET = "83274165600017"
DEMO_COMPANY = "Menuiserie Lambert (démo)"


def seed_business(stdout: Any) -> None:
    email, password, first, last = BUSINESS
    user = identity.ensure_user(email=email, password=password, first_name=first, last_name=last)
    # Runs inside seed_demo's crossing: companies are the tenants of their own rows.
    if not Company.objects.filter(siren=DEMO_SIRET[:9]).exists():
        services.sign_up_with_siret(
            user=user, siret=DEMO_SIRET, name=DEMO_COMPANY, site_url=absolute_url("/")
        )
    where = f"{DEMO_COMPANY}, SIRET {DEMO_SIRET} (administrator)"
    stdout.write(f"  {email:32} {password:22} {where}")
