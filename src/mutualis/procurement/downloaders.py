"""Identified downloaders of published consultations, and the download register.

Downloading is free and anonymous; a downloader *may* identify on the public page of a
published consultation, to be told of its rectifications and published answers and to
ask questions:

- through an account: a person signed in picks one of the companies they represent; the
  address is the account's, confirmed when the account's is;
- or by typing a name, an e-mail address and a SIRET (checked by ``core.numbers``). The
  address is then confirmed by a signed link that expires (``CONFIRMATION_MAX_AGE``)
  before anything else is sent to it. Sending that confirmation is rate-limited per
  address and per source address (``MUTUALIS_DOWNLOADER_CONFIRMATION_RATE_*``), before
  anything is written: the form cannot be turned into a way of mailing someone at will.
  The e-mail carries no text the visitor typed (neither the name nor the company), only
  the consultation's title, which its buyer wrote.

The identification is remembered in the browser's session, per consultation; later
downloads (``signals.documents_downloaded``) are recorded on the register line. A line
made from a form is bound to the session *unconfirmed*: someone who types another's
address gets a line that says so and nothing more; only following the link (in the
browser that follows it) confirms the line and the session.

A register line is held by the buyer's organisation and by the company it names
(``TwoPartyOwned``, ADR 0003). For a line made from a SIRET, the company is the
platform's ``Company`` of that SIREN when one exists, else none: the line is then the
buyer's alone. Such a company sees the lines declared under its SIREN, which also tells
it when someone uses its number.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import F, Prefetch, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_scopes import scope

from mutualis.companies import crossings as company_crossings
from mutualis.companies.models import Company, Establishment
from mutualis.core import audit, mail_limits, numbers
from mutualis.core.links import absolute_url
from mutualis.core.mail import queue_email, render_text
from mutualis.core.ratelimit import Limit
from mutualis.core.text import clean_name

from . import crossings, errors
from .deadlines import PARIS
from .models import Consultation, Downloader, RecordedDownload

SESSION_KEY = "procurement.identified"
CONFIRMATION_SALT = "mutualis.procurement.downloader-confirmation"
CONFIRMATION_MAX_AGE = 3 * 24 * 3600  # seconds: three days to follow the link
NAME_MAX_LENGTH = 200
# Who acts when an anonymous visitor identifies or asks (the trail names the line).
PUBLIC_ACTOR = audit.SystemActor("procurement.public")


# --- The browser's identifications ------------------------------------------------------


@dataclass(frozen=True)
class Identification:
    """What the session remembers of an identification on one consultation."""

    consultation_id: int
    organisation_id: int
    downloader_id: int
    confirmed: bool


def identification(request: HttpRequest, consultation_id: int) -> Identification | None:
    held = request.session.get(SESSION_KEY, {})
    entry = held.get(str(consultation_id)) if isinstance(held, dict) else None
    if not isinstance(entry, list) or len(entry) != 3:
        return None
    organisation_id, downloader_id, confirmed = entry
    return Identification(consultation_id, int(organisation_id), int(downloader_id), confirmed)


def remember(request: HttpRequest, downloader: Downloader, *, confirmed: bool) -> None:
    held = request.session.get(SESSION_KEY, {})
    held = dict(held) if isinstance(held, dict) else {}
    held[str(downloader.consultation_id)] = [
        downloader.organisation_id,
        downloader.pk,
        bool(confirmed),
    ]
    request.session[SESSION_KEY] = held


def forget(request: HttpRequest, consultation_id: int) -> None:
    held = request.session.get(SESSION_KEY, {})
    if isinstance(held, dict) and str(consultation_id) in held:
        held = dict(held)
        del held[str(consultation_id)]
        request.session[SESSION_KEY] = held


def identified_downloader(request: HttpRequest, consultation_id: int) -> Downloader | None:
    """The register line the browser identified as on this consultation, if any."""
    found = identification(request, consultation_id)
    if found is None:
        return None
    with scope(organisation=found.organisation_id):
        return (
            Downloader.for_organisation.filter(
                pk=found.downloader_id,
                organisation_id=found.organisation_id,
                consultation_id=consultation_id,
            )
            .select_related("company")
            .first()
        )


# --- Identifying -------------------------------------------------------------------------


def confirmation_limits(*, address: str, source: str | None) -> list[Limit]:
    """Per address (nobody gets flooded) and per source address (nobody floods)."""
    limits = [
        Limit(
            "downloader-confirmation-address",
            address,
            settings.MUTUALIS_DOWNLOADER_CONFIRMATION_RATE_PER_ADDRESS,
            mail_limits.ADDRESS_MESSAGE,
        )
    ]
    if source:
        limits.append(
            Limit(
                "downloader-confirmation-source",
                source,
                settings.MUTUALIS_DOWNLOADER_CONFIRMATION_RATE_PER_SOURCE,
                mail_limits.PERSON_MESSAGE,
            )
        )
    return limits


def _published(consultation_id: int) -> Consultation:
    consultation: Consultation | None = crossings.public_consultation(consultation_id)
    if consultation is None:
        raise errors.NotPublic()
    # Open is computed from the deadline now, never from the state the job records.
    if not consultation.is_open(timezone.now()):
        raise errors.IdentificationClosed()
    return consultation


def _record(
    downloader: Downloader,
    *,
    actor: Any,
    action: str,
    request_context: dict[str, Any] | None,
    payload: dict[str, Any] | None = None,
) -> None:
    audit.record(
        actor=actor,
        organisation=downloader.organisation,
        action=action,
        target=downloader,
        payload={"consultation": downloader.consultation_id, **(payload or {})},
        **(request_context or {}),
    )


def confirmation_token(downloader: Downloader) -> str:
    return signing.dumps(
        {"o": downloader.organisation_id, "d": downloader.pk, "e": downloader.email},
        salt=CONFIRMATION_SALT,
        compress=True,
    )


def confirmation_url(downloader: Downloader) -> str:
    token = confirmation_token(downloader)
    return absolute_url(reverse("consultations:confirm") + "?token=" + token)


def public_url(consultation_id: int, anchor: str = "") -> str:
    path = reverse("consultations:detail", kwargs={"pk": consultation_id})
    return absolute_url(path + (f"#{anchor}" if anchor else ""))


def queue_mail(
    *, to: str, template: str, context: dict[str, Any], secrets: Iterable[str] = ()
) -> None:
    """Queue one e-mail rendered from ``procurement/email/<template>_subject.txt`` and
    ``_message.txt``, in the platform's language (the recipient's own is unknown); the
    downloaders' and the questions' e-mails go through it."""
    context = {**context, "platform_name": settings.MUTUALIS_PLATFORM_NAME}
    with translation.override(settings.LANGUAGE_CODE):
        subject = render_text(f"procurement/email/{template}_subject.txt", context)
        body = render_text(f"procurement/email/{template}_message.txt", context)
    queue_email(to=to, subject=" ".join(subject.split()), body_text=body, secrets=list(secrets))


def identify_with_siret(
    *,
    consultation_id: int,
    name: str,
    email: str,
    siret: str,
    source: str | None,
    request_context: dict[str, Any] | None = None,
) -> Downloader:
    """A visitor identifies on a published consultation with a name, an address and a
    SIRET; the confirmation link is mailed (and nothing else until it is followed).

    Raises ``InvalidSiret`` (bad number), ``NotPublic``/``IdentificationClosed``, or
    ``MailLimitReached`` (nothing written, nothing sent)."""
    siret = numbers.parse_siret(siret)
    name = clean_name(name, max_length=NAME_MAX_LENGTH)
    email = email.strip().lower()
    consultation = _published(consultation_id)
    mail_limits.require(confirmation_limits(address=email, source=source))
    company = company_crossings.company_by_siren(numbers.siren_of(siret))
    with transaction.atomic(durable=True), scope(organisation=consultation.organisation_id):
        downloader = (
            Downloader.for_organisation.select_for_update()
            .filter(
                organisation_id=consultation.organisation_id,
                consultation_id=consultation.pk,
                email=email,
            )
            .first()
        )
        if downloader is None:
            downloader = Downloader.for_organisation.create(
                organisation_id=consultation.organisation_id,
                consultation=consultation,
                company=company,
                name=name,
                email=email,
                siret=siret,
                company_name=company.name if company else "",
            )
        elif not downloader.is_confirmed and not downloader.via_account:
            # Until the address is confirmed the line is anyone's guess: the latest
            # identification says who it is. A confirmed line keeps what was confirmed.
            downloader.name, downloader.siret, downloader.company = name, siret, company
            downloader.company_name = company.name if company else ""
            downloader.save(update_fields=["name", "siret", "company", "company_name"])
        _record(
            downloader,
            actor=PUBLIC_ACTOR,
            action="downloader.identified",
            request_context=request_context,
            payload={"via_account": False},
        )
        link = confirmation_url(downloader)
        queue_mail(
            to=email,
            template="downloader_confirm",
            context={"consultation": consultation, "link": link},
            secrets=[link],
        )
    return downloader


def _account_siret(company: Company) -> str:
    with scope(company=company.pk):
        establishment = (
            Establishment.objects.filter(company=company).order_by("-is_head_office", "pk").first()
        )
    return establishment.siret if establishment else ""


def _address_verified(user: Any) -> bool:
    from allauth.account.models import EmailAddress

    return bool(
        EmailAddress.objects.filter(
            user_id=user.pk, email__iexact=user.email, verified=True
        ).exists()
    )


def identify_with_account(
    *,
    consultation_id: int,
    user: Any,
    company_siren: str,
    request_context: dict[str, Any] | None = None,
) -> Downloader:
    """A signed-in person identifies for one of the companies they represent. Their
    account's address is confirmed when the account's is: no e-mail is sent."""
    representation = next(
        (
            r
            for r in company_crossings.representations_of_user(user)
            if r.company.siren == company_siren
        ),
        None,
    )
    if representation is None:
        raise errors.NotRepresentative()
    company = representation.company
    consultation = _published(consultation_id)
    email = user.email.strip().lower()
    siret = _account_siret(company)
    confirmed_at = timezone.now() if _address_verified(user) else None
    name = clean_name(user.get_full_name() or user.email, max_length=NAME_MAX_LENGTH)
    with transaction.atomic(durable=True), scope(organisation=consultation.organisation_id):
        downloader = (
            Downloader.for_organisation.select_for_update()
            .filter(
                organisation_id=consultation.organisation_id,
                consultation_id=consultation.pk,
                email=email,
            )
            .first()
        )
        if (
            downloader is not None
            and downloader.via_account
            and downloader.user_id == user.pk
            and downloader.company_id == company.pk
        ):
            return downloader
        if downloader is None:
            downloader = Downloader(
                organisation_id=consultation.organisation_id, consultation=consultation, email=email
            )
        downloader.user = user
        downloader.via_account = True
        downloader.company = company
        downloader.company_name = company.name
        downloader.name = name
        downloader.siret = siret
        downloader.confirmed_at = downloader.confirmed_at or confirmed_at
        downloader.save()
        _record(
            downloader,
            actor=user,
            action="downloader.identified",
            request_context=request_context,
            payload={"via_account": True, "company": company.pk},
        )
    return downloader


def read_confirmation(token: str) -> tuple[int, int, str]:
    """(organisation, line, address) of a confirmation link; raises
    ``ConfirmationLinkInvalid`` for a forged, altered or expired one."""
    try:
        value = signing.loads(token, salt=CONFIRMATION_SALT, max_age=CONFIRMATION_MAX_AGE)
        return int(value["o"]), int(value["d"]), str(value["e"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise errors.ConfirmationLinkInvalid() from None


def confirm_email(*, token: str, request_context: dict[str, Any] | None = None) -> Downloader:
    """The downloader followed the link: the line's address is confirmed (once)."""
    organisation_id, downloader_id, email = read_confirmation(token)
    with transaction.atomic(durable=True), scope(organisation=organisation_id):
        downloader = (
            Downloader.for_organisation.select_for_update()
            .filter(pk=downloader_id, organisation_id=organisation_id, email=email)
            .select_related("organisation")
            .first()
        )
        if downloader is None:
            raise errors.ConfirmationLinkInvalid()
        if downloader.confirmed_at is None:
            downloader.confirmed_at = timezone.now()
            downloader.save(update_fields=["confirmed_at"])
            _record(
                downloader,
                actor=PUBLIC_ACTOR,
                action="downloader.confirmed",
                request_context=request_context,
            )
    return downloader


# --- Downloads ---------------------------------------------------------------------------


def record_download(
    *,
    request: HttpRequest,
    consultation_id: int,
    organisation_id: int,
    document_ids: Any,
) -> RecordedDownload | None:
    """Enter a download on the register line of the browser's identification, if any.
    An anonymous download is recorded nowhere. ``document_ids``: one id or a list; none
    (``None`` or empty) is recorded as "all the files"."""
    found = identification(request, consultation_id)
    if found is None or found.organisation_id != organisation_id:
        return None
    if isinstance(document_ids, int | str):
        ids: list[Any] = [document_ids]
    else:
        ids = [i for i in (document_ids or []) if isinstance(i, int | str)]
    now = timezone.now()
    with transaction.atomic(), scope(organisation=organisation_id):
        lines = Downloader.for_organisation.filter(
            pk=found.downloader_id,
            organisation_id=organisation_id,
            consultation_id=consultation_id,
        )
        company_id = lines.values_list("company_id", flat=True).first()
        if not lines.update(download_count=F("download_count") + 1, last_download_at=now):
            return None
        return RecordedDownload.for_organisation.create(
            organisation_id=organisation_id,
            company_id=company_id,
            downloader_id=found.downloader_id,
            document_ids=ids,
        )


def on_documents_downloaded(
    sender: Any,
    *,
    consultation_id: int,
    organisation_id: int,
    request: HttpRequest | None = None,
    document_ids: Any = None,
    **kwargs: Any,
) -> None:
    """Receiver of ``signals.documents_downloaded`` (connected in ``apps.py``)."""
    if request is None or not hasattr(request, "session"):
        return
    record_download(
        request=request,
        consultation_id=consultation_id,
        organisation_id=organisation_id,
        document_ids=document_ids,
    )


# --- The register: read by the buyer, by the company ------------------------------------


def register_of(*, organisation_id: int, consultation_id: int) -> QuerySet[Downloader]:
    """The buyer's register of one of its consultations (inside its scope)."""
    return (
        Downloader.for_organisation.filter(
            organisation_id=organisation_id, consultation_id=consultation_id
        )
        .select_related("company")
        .prefetch_related(
            Prefetch(
                "downloads",
                queryset=RecordedDownload.for_organisation.filter(
                    organisation_id=organisation_id
                ).order_by("-downloaded_at", "-pk"),
            )
        )
        .order_by("identified_at", "pk")
    )


def register_of_company(*, company_id: int) -> QuerySet[Downloader]:
    """A company's own register lines, on every buyer's consultations (inside its scope):
    the consultation's public facts come with them."""
    return (
        Downloader.for_company.filter(company_id=company_id)
        .select_related("consultation", "organisation")
        .prefetch_related(
            Prefetch(
                "downloads",
                queryset=RecordedDownload.for_company.filter(company_id=company_id).order_by(
                    "-downloaded_at", "-pk"
                ),
            )
        )
        .order_by("-identified_at", "-pk")
    )


# Spreadsheets run a cell that starts with one of these as a formula (OWASP "CSV
# injection"): a name typed as "=HYPERLINK(…)" must reach the buyer as text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def csv_cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _paris(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return timezone.localtime(moment, timezone=PARIS).strftime("%Y-%m-%d %H:%M")


def register_csv(lines: Iterable[Downloader]) -> str:
    """The register as CSV (UTF-8 with its byte-order mark, for spreadsheets), every
    cell neutralised against formulas; times in Paris."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(
        [
            _("Name"),
            _("Company"),
            _("SIRET"),
            _("Company status"),
            _("E-mail address"),
            _("E-mail confirmed"),
            _("Identified through an account"),
            _("Identified on"),
            _("Downloads"),
            _("Last download"),
        ]
    )
    for line in lines:
        writer.writerow(
            [
                csv_cell(v)
                for v in (
                    line.name,
                    line.company.name if line.company else line.company_name,
                    line.siret,
                    line.company.get_status_display() if line.company else _("Not on the platform"),
                    line.email,
                    _("yes") if line.is_confirmed else _("no"),
                    _("yes") if line.via_account else _("no"),
                    _paris(line.identified_at),
                    line.download_count,
                    _paris(line.last_download_at),
                )
            ]
        )
    return out.getvalue()
