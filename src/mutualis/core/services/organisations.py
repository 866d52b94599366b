"""Organisations, as operator staff create and complete them: details, adhesion,
branding, contact data.

Every use case is for operator staff only. ``Organisation`` rows belong to the platform (no
scope applies to them); what a member owns (its subscriptions) is changed in that member's
scope only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify
from django_scopes import scope
from PIL import Image, UnidentifiedImageError
from stdnum.fr import siren as siren_rules

from mutualis.core import audit, errors, files
from mutualis.core.models import (
    AdhesionStatus,
    FeeCategory,
    Organisation,
    OrganisationKind,
    StoredFile,
)
from mutualis.core.models.organisations import (
    KINDS_REQUIRING_SIREN,
    LOGO_OWNER_KIND,
    colour_validator,
)
from mutualis.core.numbers import parse_siret, siren_of
from mutualis.core.permissions import require_operator
from mutualis.core.text import clean_name
from mutualis.core.validators import validate_siren

from .subscriptions import suspend_all_subscriptions

# Bodies the territory import does not bring: the operator creates them by hand.
CREATABLE_KINDS = (
    OrganisationKind.SYNDICAT,
    OrganisationKind.CCAS,
    OrganisationKind.SDIS,
    OrganisationKind.OPH,
    OrganisationKind.HOSPITAL,
    OrganisationKind.SCHOOL,
    OrganisationKind.OTHER_PUBLIC,
    OrganisationKind.ASSOCIATION,
    OrganisationKind.OPERATOR,
)

LOGO_MAX_BYTES = 1024 * 1024
LOGO_MAX_SIDE = 4000
# Pillow format name → file extension. SVG is refused: it is a document that may carry
# scripts, and the members' pages show logos on the platform's own origin.
LOGO_FORMATS = {"PNG": "png", "JPEG": "jpg"}

# The edit form changes four groups of fields; each group changed writes one event.
_ORGANISATION_EVENTS = (
    ("organisation.adhesion_changed", ("adhesion_status", "adhesion_since", "fee_category")),
    ("organisation.details_changed", ("name", "siren")),
    ("organisation.branding_changed", ("logo", "primary_colour", "secondary_colour")),
    (
        "organisation.contact_changed",
        ("siret", "street", "street_extra", "postcode", "city", "contact_email", "phone"),
    ),
)
# The trail is hash-chained and never rewritten: a contact address or phone number may be
# an agent's own, so the events name these fields without their values.
_UNRECORDED_VALUES = frozenset({"contact_email", "phone"})

CONTACT_FIELDS = ("siret", "street", "street_extra", "postcode", "city", "contact_email", "phone")
# Lengths of the model's text fields, checked here so that a caller other than the
# back-office form gets a clear error rather than a database one.
_TEXT_LIMITS = {"street": 200, "street_extra": 200, "city": 100}
EMAIL_MAX_LENGTH = 254
_POSTCODE = re.compile(r"[0-9]{5}")
# A French number (0 then 9 digits) or an international one (+, then 8 to 15 digits);
# spaces, dots, hyphens, slashes and brackets are only presentation.
_PHONE_PRESENTATION = re.compile(r"[\s.\-/()]")
_PHONE = re.compile(r"0[1-9][0-9]{8}|\+[1-9][0-9]{7,14}")


def _context(request_context: Mapping[str, Any] | None) -> dict[str, Any]:
    return dict(request_context or {})


def check_logo(file: File[Any]) -> str:
    """Refuse anything but a PNG or JPEG image of at most 1 MB; return its extension.

    Only the PNG and JPEG decoders of Pillow see the file, and only its header and
    structure are read (``verify``), never the decoded pixels.
    """
    if file.size is not None and file.size > LOGO_MAX_BYTES:
        raise errors.LogoTooLarge()
    file.seek(0)
    try:
        with Image.open(file, formats=list(LOGO_FORMATS)) as image:
            image_format = image.format or ""
            width, height = image.size
            image.verify()
    except UnidentifiedImageError as exc:
        raise errors.LogoFormatRefused() from exc
    except Image.DecompressionBombError as exc:
        raise errors.LogoDimensionsTooLarge() from exc
    except (OSError, SyntaxError, ValueError) as exc:
        # Pillow reports a truncated or corrupt file with any of these.
        raise errors.LogoDamaged() from exc
    finally:
        file.seek(0)
    if image_format not in LOGO_FORMATS:
        raise errors.LogoFormatRefused()
    if max(width, height) > LOGO_MAX_SIDE:
        raise errors.LogoDimensionsTooLarge()
    return LOGO_FORMATS[image_format]


# --- Checking input --------------------------------------------------------------------


def _store_logo(organisation: Organisation, logo: File[Any]) -> StoredFile:
    extension = check_logo(logo)
    try:
        # The uploaded name is never used: the name and extension are ours.
        return files.store_file(
            file=logo,
            name=f"{organisation.slug}.{extension}",
            owner_kind=LOGO_OWNER_KIND,
            owner_ref=str(organisation.pk),
            allowed_types=files.IMAGE_TYPES,
            max_size=LOGO_MAX_BYTES,
        )
    except files.errors.FileTooLarge as exc:
        raise errors.LogoTooLarge() from exc
    except files.errors.FileRefused as exc:
        # Pillow read a PNG or JPEG that libmagic does not recognise as one.
        raise errors.LogoFormatRefused() from exc


def _clean_name(name: str) -> str:
    # No control, bidi or zero-width character: the name is shown to everyone.
    name = clean_name(name)
    if not name:
        raise errors.NameRequired()
    return name


def _clean_siren(value: str, *, kind: str, exclude_pk: int | None = None) -> str:
    value = siren_rules.compact(value or "")
    if not value:
        if kind in KINDS_REQUIRING_SIREN:
            raise errors.SirenRequired()
        return ""
    try:
        validate_siren(value)
    except ValidationError as exc:
        raise errors.InvalidSiren() from exc
    others = Organisation.objects.filter(siren=value)
    if exclude_pk is not None:
        others = others.exclude(pk=exclude_pk)
    if others.exists():
        raise errors.SirenTaken()
    return value


def clean_siret(value: str, *, siren: str) -> str:
    """The 14 digits of the main establishment's SIRET (empty stays empty), which must be
    an establishment of the organisation's SIREN when it has one."""
    if not (value or "").strip():
        return ""
    siret = parse_siret(value)
    if siren and siren_of(siret) != siren:
        raise errors.SiretOfAnotherSiren()
    return siret


def _clean_text(value: str, *, field: str) -> str:
    """One line of text, spaces collapsed; no NUL (PostgreSQL refuses it in text)."""
    if "\x00" in value:
        raise errors.NulCharacter(field=field)
    value = " ".join(value.split())
    if len(value) > _TEXT_LIMITS[field]:
        raise errors.TextTooLong(field=field)
    return value


def clean_postcode(value: str) -> str:
    value = "".join((value or "").split())
    if value and not _POSTCODE.fullmatch(value):
        raise errors.InvalidPostcode()
    return value


def clean_phone(value: str) -> str:
    """A telephone number as its digits (and the "+" of an international one)."""
    value = _PHONE_PRESENTATION.sub("", value or "")
    if value and not _PHONE.fullmatch(value):
        raise errors.InvalidPhone()
    return value


def _clean_contact_email(value: str) -> str:
    value = (value or "").strip()
    if len(value) > EMAIL_MAX_LENGTH:
        raise errors.TextTooLong(field="contact_email")
    if value:
        try:
            validate_email(value)
        except ValidationError as exc:
            raise errors.InvalidContactEmail() from exc
    return value


def _clean_colour(value: str, field: str) -> str:
    try:
        colour_validator(value)
    except ValidationError as exc:
        raise errors.InvalidColour(field=field) from exc
    return value.lower()


def _save_organisation(organisation: Organisation) -> None:
    """Save; a SIREN taken between the check and the write is reported as taken."""
    try:
        with transaction.atomic():
            organisation.save()
    except IntegrityError:
        if (
            organisation.siren
            and Organisation.objects.filter(siren=organisation.siren)
            .exclude(pk=organisation.pk)
            .exists()
        ):
            raise errors.SirenTaken() from None
        raise


def _unique_slug(name: str) -> str:
    base = slugify(name)[:100].strip("-") or "organisation"
    # Only the base and its numbered variants: a prefix such as "saint" would load
    # thousands of communes' addresses. A slug holds no regex metacharacter.
    taken = set(
        Organisation.objects.filter(Q(slug=base) | Q(slug__regex=rf"^{base}-[0-9]+$")).values_list(
            "slug", flat=True
        )
    )
    slug, number = base, 2
    while slug in taken:
        slug = f"{base}-{number}"
        number += 1
    return slug


def _snapshot(organisation: Organisation) -> dict[str, Any]:
    """The audited fields, as JSON values."""
    return {
        "adhesion_status": organisation.adhesion_status,
        "adhesion_since": (
            organisation.adhesion_since.isoformat() if organisation.adhesion_since else None
        ),
        "fee_category": organisation.fee_category.code if organisation.fee_category else None,
        "name": organisation.name,
        "siren": organisation.siren,
        "logo": str(organisation.logo_id) if organisation.logo_id else None,
        "primary_colour": organisation.primary_colour,
        "secondary_colour": organisation.secondary_colour,
        "siret": organisation.siret,
        "street": organisation.street,
        "street_extra": organisation.street_extra,
        "postcode": organisation.postcode,
        "city": organisation.city,
        "contact_email": organisation.contact_email,
        "phone": organisation.phone,
    }


def _record_changes(
    *,
    actor: Any,
    organisation: Organisation,
    before: dict[str, Any],
    after: dict[str, Any],
    context: dict[str, Any],
) -> None:
    for action, fields in _ORGANISATION_EVENTS:
        changed = [field for field in fields if before[field] != after[field]]
        if not changed:
            continue
        recorded = [field for field in changed if field not in _UNRECORDED_VALUES]
        payload: dict[str, Any] = {
            "before": {field: before[field] for field in recorded},
            "after": {field: after[field] for field in recorded},
        }
        if len(recorded) != len(changed):
            payload["changed"] = changed
        audit.record(
            actor=actor,
            organisation=organisation,
            action=action,
            target=organisation,
            payload=payload,
            **context,
        )


# --- Use cases -------------------------------------------------------------------------


@transaction.atomic(durable=True)
def create_organisation(
    *,
    actor: Any,
    name: str,
    kind: str,
    siren: str = "",
    departement: Organisation | None = None,
    request_context: Mapping[str, Any] | None = None,
) -> Organisation:
    """Create a body the territory import does not bring (a syndicat, a CCAS, the
    operator…), with a public address made from its name."""
    require_operator(actor)
    name = _clean_name(name)
    if kind not in CREATABLE_KINDS:
        raise errors.KindNotCreatable()
    if departement is not None and departement.kind != OrganisationKind.DEPARTEMENT:
        raise ValueError("departement must be an organisation of kind 'departement'")
    # One operator per platform (MUTUALIS_OPERATOR_SLUG names it). Operator staff
    # belong to it, so in practice this refuses every request: the operator itself
    # is created when the platform is set up.
    if (
        kind == OrganisationKind.OPERATOR
        and Organisation.objects.filter(kind=OrganisationKind.OPERATOR).exists()
    ):
        raise errors.OperatorExists()
    organisation = Organisation(
        name=name,
        kind=kind,
        siren=_clean_siren(siren, kind=kind),
        slug=_unique_slug(name),
        departement=departement,
        region_id=departement.region_id if departement else None,
    )
    _save_organisation(organisation)
    audit.record(
        actor=actor,
        organisation=organisation,
        action="organisation.created",
        target=organisation,
        payload={
            "kind": organisation.kind,
            "name": organisation.name,
            "siren": organisation.siren,
            "slug": organisation.slug,
            "departement": departement.insee_code if departement else None,
        },
        **_context(request_context),
    )
    return organisation


@transaction.atomic(durable=True)
def update_organisation(
    *,
    actor: Any,
    organisation_id: int,
    name: str,
    siren: str,
    adhesion_status: str,
    adhesion_since: date | None,
    fee_category: FeeCategory | None,
    primary_colour: str,
    secondary_colour: str,
    logo: File[Any] | None = None,
    remove_logo: bool = False,
    contact: Mapping[str, str] | None = None,
    request_context: Mapping[str, Any] | None = None,
) -> Organisation:
    """Change a member's adhesion, details, branding and contact data.

    ``contact`` maps any of ``siret``, ``street``, ``street_extra``, ``postcode``,
    ``city``, ``contact_email`` and ``phone`` to its new value ("" clears it); the
    fields it leaves out keep theirs. Writes one event per group of fields that changed
    (adhesion, details, branding, contact). A member that leaves the grouping has its
    active subscriptions suspended.
    """
    require_operator(actor)
    if adhesion_status not in AdhesionStatus.values:
        raise ValueError(f"unknown adhesion status {adhesion_status!r}")
    unknown = set(contact or {}) - set(CONTACT_FIELDS)
    if unknown:
        raise ValueError(f"unknown contact fields {sorted(unknown)!r}")
    # The member's own rows (its subscriptions, suspended when it leaves) in its scope.
    with scope(organisation=organisation_id):
        organisation = Organisation.objects.select_for_update().get(pk=organisation_id)
        before = _snapshot(organisation)
        organisation.name = _clean_name(name)
        organisation.siren = _clean_siren(siren, kind=organisation.kind, exclude_pk=organisation.pk)
        organisation.primary_colour = _clean_colour(primary_colour, "primary_colour")
        organisation.secondary_colour = _clean_colour(secondary_colour, "secondary_colour")
        _apply_contact(organisation, contact or {})
        joining = (
            adhesion_status == AdhesionStatus.MEMBER
            and organisation.adhesion_status != AdhesionStatus.MEMBER
        )
        if joining and adhesion_since is None:
            adhesion_since = timezone.localdate()
        organisation.adhesion_status = adhesion_status
        organisation.adhesion_since = adhesion_since
        organisation.fee_category = fee_category
        if logo is not None:
            organisation.logo = _store_logo(organisation, logo)
        elif remove_logo:
            # The old file is kept: past audit events name it.
            organisation.logo = None
        _save_organisation(organisation)
        context = _context(request_context)
        _record_changes(
            actor=actor,
            organisation=organisation,
            before=before,
            after=_snapshot(organisation),
            context=context,
        )
        if (
            before["adhesion_status"] != AdhesionStatus.FORMER
            and adhesion_status == AdhesionStatus.FORMER
        ):
            suspend_all_subscriptions(
                actor=actor, organisation=organisation, reason="adhesion_ended", context=context
            )
    return organisation


def _apply_contact(organisation: Organisation, contact: Mapping[str, str]) -> None:
    """Check and set the contact fields given; the SIRET is checked against the SIREN the
    organisation has after this change, whether or not the SIRET itself changes."""
    for field in ("street", "street_extra", "city"):
        if field in contact:
            setattr(organisation, field, _clean_text(contact[field], field=field))
    if "postcode" in contact:
        organisation.postcode = clean_postcode(contact["postcode"])
    if "contact_email" in contact:
        organisation.contact_email = _clean_contact_email(contact["contact_email"])
    if "phone" in contact:
        organisation.phone = clean_phone(contact["phone"])
    siret = contact.get("siret", organisation.siret)
    organisation.siret = clean_siret(siret, siren=organisation.siren)
