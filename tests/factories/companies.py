"""Businesses for tests: valid SIRETs, and companies set up through the services."""

from __future__ import annotations

from stdnum import luhn

from mutualis.companies import services
from mutualis.identity import services as identity
from tests.factories.core import valid_siren
from tests.factories.identity import PASSWORD

SITE_URL = "http://testserver"


def valid_siret(siren: str, establishment: int = 1) -> str:
    """A valid SIRET of ``siren``: a 4-digit establishment number and the Luhn digit
    over all 14 digits (python-stdnum computes it)."""
    body = f"{siren}{establishment:04d}"
    return body + luhn.calc_check_digit(body)


def company_siren(n: int) -> str:
    # Far from the organisations' SIRENs (tests.factories.core), never La Poste's.
    return valid_siren(5_000_000 + n)


def verified_person(email: str, **names: str):
    """An account whose e-mail address is confirmed, as after allauth's sign-up."""
    return identity.ensure_user(email=email, password=PASSWORD, **names)


def register_company(user, *, siren: str, name: str = "Menuiserie Dupont", establishment=1):
    """``user`` registers a new company through the sign-up service: its administrator."""
    result = services.sign_up_with_siret(
        user=user, siret=valid_siret(siren, establishment), name=name, site_url=SITE_URL
    )
    assert result.representative is not None
    return result.representative


def company_url(name: str, siren: str | None = None, **kwargs: object) -> str:
    """The URL of a company's page (``/c/<siren>/…``), company X's (the tests' first
    company, ``company_siren(1)``) unless told."""
    from django.urls import reverse

    return reverse(name, kwargs={"company": siren or company_siren(1), **kwargs})


def certificate_pdf(*lines: str) -> bytes:
    """A real one-page PDF with text (``core.pdf``), as a vault upload."""
    from mutualis.core.pdf import text_pdf

    return text_pdf(lines or ("Attestation de vigilance", "URSSAF"), title="Attestation")


def add_vault_document(actor, *, document_type="urssaf", issued_on=None, valid_until=None, **kw):
    """A document in ``actor``'s company vault, through the service (a real PDF)."""
    import io
    from datetime import timedelta

    from django.utils import timezone

    from mutualis.companies.services import vault

    content = kw.pop("content", None)
    today = timezone.localdate()
    issued_on = issued_on or today - timedelta(days=10)
    if valid_until is None and document_type in ("urssaf", "tax", "insurance"):
        valid_until = today + timedelta(days=170)
    return vault.add_vault_document(
        actor=actor,
        document_type=document_type,
        issued_on=issued_on,
        valid_until=valid_until,
        file=io.BytesIO(certificate_pdf() if content is None else content),
        file_name=kw.pop("file_name", "attestation.pdf"),
        **kw,
    )
