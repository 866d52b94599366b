"""Use cases of the operator back office.

Each function takes the acting membership (operator staff) as ``actor``, checks it, runs
in one transaction and appends one audit event per change: to the chain of the member
concerned, or to the platform's chain for platform-level things (the outbox). The back
office works on every member's rows, so each use case runs inside the named crossing
``crossings.operator_view()``. ``request_context`` is ``audit.request_context(request)``
when a request is behind the call.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify
from PIL import Image, UnidentifiedImageError
from stdnum.fr import siren as siren_rules

from mutualis.core import audit, crossings, files
from mutualis.core.models import (
    AdhesionStatus,
    FeeCategory,
    Organisation,
    OrganisationKind,
    OutgoingEmail,
    Service,
    StoredFile,
    Subscription,
)
from mutualis.core.models.organisations import (
    KINDS_REQUIRING_SIREN,
    LOGO_OWNER_KIND,
    colour_validator,
)
from mutualis.core.permissions import require_operator
from mutualis.core.tasks import send_outgoing_email
from mutualis.core.validators import validate_siren
from mutualis.identity.models import Membership

from . import errors

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

# The edit form changes three groups of fields; each group changed writes one event.
_ORGANISATION_EVENTS = (
    ("organisation.adhesion_changed", ("adhesion_status", "adhesion_since", "fee_category")),
    ("organisation.details_changed", ("name", "siren")),
    ("organisation.branding_changed", ("logo", "primary_colour", "secondary_colour")),
)


def _context(request_context: Mapping[str, Any] | None) -> dict[str, Any]:
    return dict(request_context or {})


# --- Organisations ---------------------------------------------------------------------


def check_logo(file: File) -> str:
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


def _store_logo(organisation: Organisation, logo: File) -> StoredFile:
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
    name = " ".join(name.split())
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
    if Organisation.objects.filter(siren=value).exclude(pk=exclude_pk).exists():
        raise errors.SirenTaken()
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
    """The audited fields, as non-personal JSON values."""
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
    }


@transaction.atomic(durable=True)
def create_organisation(
    *,
    actor: Membership,
    name: str,
    kind: str,
    siren: str = "",
    departement: Organisation | None = None,
    request_context: Mapping[str, Any] | None = None,
) -> Organisation:
    """Create a body the territory import does not bring (a syndicat, a CCAS, the
    operator…), with a public address made from its name."""
    require_operator(actor)
    with crossings.operator_view():
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
    actor: Membership,
    organisation_id: int,
    name: str,
    siren: str,
    adhesion_status: str,
    adhesion_since: date | None,
    fee_category: FeeCategory | None,
    primary_colour: str,
    secondary_colour: str,
    logo: File | None = None,
    remove_logo: bool = False,
    request_context: Mapping[str, Any] | None = None,
) -> Organisation:
    """Change a member's adhesion, details and branding.

    Writes one event per group of fields that changed (adhesion, details, branding).
    A member that leaves the grouping has its active subscriptions suspended.
    """
    require_operator(actor)
    if adhesion_status not in AdhesionStatus.values:
        raise ValueError(f"unknown adhesion status {adhesion_status!r}")
    with crossings.operator_view():
        organisation = Organisation.objects.select_for_update().get(pk=organisation_id)
        before = _snapshot(organisation)
        organisation.name = _clean_name(name)
        organisation.siren = _clean_siren(siren, kind=organisation.kind, exclude_pk=organisation.pk)
        organisation.primary_colour = _clean_colour(primary_colour, "primary_colour")
        organisation.secondary_colour = _clean_colour(secondary_colour, "secondary_colour")
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
        after = _snapshot(organisation)
        context = _context(request_context)
        for action, fields in _ORGANISATION_EVENTS:
            changed = [field for field in fields if before[field] != after[field]]
            if changed:
                audit.record(
                    actor=actor,
                    organisation=organisation,
                    action=action,
                    target=organisation,
                    payload={
                        "before": {field: before[field] for field in changed},
                        "after": {field: after[field] for field in changed},
                    },
                    **context,
                )
        if (
            before["adhesion_status"] != AdhesionStatus.FORMER
            and adhesion_status == AdhesionStatus.FORMER
        ):
            _suspend_all_subscriptions(actor, organisation, context)
    return organisation


def _suspend_all_subscriptions(
    actor: Membership, organisation: Organisation, context: dict[str, Any]
) -> None:
    subscriptions = (
        Subscription.objects.select_for_update()
        .filter(organisation=organisation, is_active=True)
        .order_by("pk")
    )
    for subscription in subscriptions:
        subscription.is_active = False
        subscription.save(update_fields=["is_active"])
        audit.record(
            actor=actor,
            organisation=organisation,
            action="subscription.suspended",
            target=subscription,
            payload={"service": subscription.service_id, "reason": "adhesion_ended"},
            **context,
        )


# --- Subscriptions ---------------------------------------------------------------------


def _locked_subscription(organisation: Organisation, service_code: str) -> Subscription:
    subscription = (
        Subscription.objects.select_for_update()
        .filter(organisation=organisation, service_id=service_code)
        .first()
    )
    if subscription is None:
        raise errors.SubscriptionNotFound()
    return subscription


@transaction.atomic(durable=True)
def subscribe(
    *,
    actor: Membership,
    organisation_id: int,
    service_code: str,
    request_context: Mapping[str, Any] | None = None,
) -> Subscription:
    """Subscribe a member to a service of the catalogue, from today."""
    require_operator(actor)
    with crossings.operator_view():
        # The organisation's row is the lock that serialises its subscription changes.
        organisation = Organisation.objects.select_for_update().get(pk=organisation_id)
        service = Service.objects.get(code=service_code)
        if organisation.adhesion_status != AdhesionStatus.MEMBER:
            raise errors.NotAMember()
        if not service.is_available:
            raise errors.ServiceUnavailable()
        if Subscription.objects.filter(organisation=organisation, service=service).exists():
            raise errors.AlreadySubscribed()
        subscription = Subscription.objects.create(
            organisation=organisation, service=service, since=timezone.localdate()
        )
        audit.record(
            actor=actor,
            organisation=organisation,
            action="subscription.created",
            target=subscription,
            payload={"service": service.code, "since": subscription.since.isoformat()},
            **_context(request_context),
        )
    return subscription


@transaction.atomic(durable=True)
def suspend_subscription(
    *,
    actor: Membership,
    organisation_id: int,
    service_code: str,
    request_context: Mapping[str, Any] | None = None,
) -> Subscription:
    """Suspend a member's subscription: the service disappears from its menus."""
    require_operator(actor)
    with crossings.operator_view():
        organisation = Organisation.objects.select_for_update().get(pk=organisation_id)
        subscription = _locked_subscription(organisation, service_code)
        if not subscription.is_active:
            raise errors.SubscriptionNotActive()
        subscription.is_active = False
        subscription.save(update_fields=["is_active"])
        audit.record(
            actor=actor,
            organisation=organisation,
            action="subscription.suspended",
            target=subscription,
            payload={"service": service_code, "reason": "operator"},
            **_context(request_context),
        )
    return subscription


@transaction.atomic(durable=True)
def resume_subscription(
    *,
    actor: Membership,
    organisation_id: int,
    service_code: str,
    request_context: Mapping[str, Any] | None = None,
) -> Subscription:
    """Resume a suspended subscription (the member keeps its original start date)."""
    require_operator(actor)
    with crossings.operator_view():
        organisation = Organisation.objects.select_for_update().get(pk=organisation_id)
        subscription = _locked_subscription(organisation, service_code)
        if subscription.is_active:
            raise errors.SubscriptionAlreadyActive()
        if organisation.adhesion_status != AdhesionStatus.MEMBER:
            raise errors.NotAMember()
        subscription.is_active = True
        subscription.save(update_fields=["is_active"])
        audit.record(
            actor=actor,
            organisation=organisation,
            action="subscription.resumed",
            target=subscription,
            payload={"service": service_code},
            **_context(request_context),
        )
    return subscription


# --- Outgoing e-mail -------------------------------------------------------------------


@transaction.atomic(durable=True)
def retry_email(
    *,
    actor: Membership,
    email_id: int,
    request_context: Mapping[str, Any] | None = None,
) -> OutgoingEmail:
    """Queue a failed e-mail again: one more attempt now (the attempts made are kept, so a
    new failure marks it failed again at once rather than restarting the back-off)."""
    require_operator(actor)
    email = OutgoingEmail.objects.select_for_update().get(pk=email_id)
    if email.status != OutgoingEmail.Status.FAILED:
        raise errors.EmailNotFailed()
    email.status = OutgoingEmail.Status.QUEUED
    email.next_attempt_at = timezone.now()
    email.save(update_fields=["status", "next_attempt_at"])
    # The outbox is the platform's, not a member's: the platform chain. The person is
    # passed rather than the membership, since ``record`` files a membership's events
    # under its organisation (the operator's own chain).
    audit.record(
        actor=actor.user,
        chain=audit.PLATFORM_CHAIN,
        action="email.retried",
        target=email,
        payload={"attempts": email.attempts},
        **_context(request_context),
    )
    transaction.on_commit(lambda: send_outgoing_email.enqueue(email_id=email.pk))
    return email
