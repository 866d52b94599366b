"""Use cases of the companies context: sign-up by SIRET, requests to join, colleagues,
establishments, and the operator's verification.

Every use case runs in one transaction and appends its event to the company's own audit
chain (``audit.company_chain``), never to an organisation's: the events carry no
organisation, so no member's audit page ever lists them. A company administrator acts
through their ``Representative`` row (the request's ``representation``); the services
reread it, locked behind the company's row, so that a right withdrawn a moment ago no
longer works and two administrators cannot both step down at once.

A company's rows are read inside ``scope(company=<id>)`` of that one company. The
sign-up and the invitation link enter the scope of a company the person does not
represent yet: the SIREN typed, or the number at the head of the link's token, names
that company, and nothing outside it is read.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django_scopes import scope

from mutualis.core import audit, mail_limits, ratelimit
from mutualis.core import invitations as links
from mutualis.core.errors import InvitationForAnotherAddress, MailLimitReached
from mutualis.core.mail import queue_email, render_text
from mutualis.core.numbers import parse_siret, siren_of
from mutualis.core.permissions import require_operator
from mutualis.core.text import clean_name
from mutualis.identity.models import Membership, User

from .. import errors, transitions
from ..models import (
    Company,
    CompanyInvitation,
    CompanyStatus,
    Establishment,
    JoinRequest,
    JoinRequestStatus,
    Representative,
    RepresentativeRole,
)

NAME_MAX_LENGTH = 200


@dataclasses.dataclass(frozen=True)
class SignUpResult:
    """What a sign-up with a SIRET did: registered a new company (``representative`` is
    the person's new administrator row) or asked to join an existing one."""

    company: Company
    representative: Representative | None = None
    join_request: JoinRequest | None = None


def _context(request_context: Mapping[str, Any] | None) -> dict[str, Any]:
    return dict(request_context or {})


def _record(
    company: Company, *, actor: Any, action: str, target: Any, payload: dict[str, Any], **ctx: Any
) -> None:
    # The person, not a membership, is the actor: a membership would file the event
    # under an organisation, and members must never read a company's events.
    audit.record(
        actor=actor,
        action=action,
        chain=audit.company_chain(company.pk),
        target=target,
        payload=payload,
        **ctx,
    )


def has_verified_email(user: Any) -> bool:
    """Whether the account's own address is confirmed: a company is registered only by
    someone reachable at the address the platform writes to."""
    return EmailAddress.objects.filter(
        user_id=user.pk, email__iexact=user.email, verified=True
    ).exists()


def _clean_name(name: str) -> str:
    # No control, bidi or zero-width character: the name reaches third parties.
    return clean_name(name, max_length=NAME_MAX_LENGTH)


def _link(site_url: str, name: str, **kwargs: Any) -> str:
    return site_url.rstrip("/") + reverse(name, kwargs=kwargs or None)


def _mail(*, to: str, template: str, context: dict[str, Any], secrets: Sequence[str] = ()) -> None:
    """Queue one e-mail in the platform's language: the recipient's own is unknown.
    ``secrets`` (an invitation link) are sent, never stored (see core.mail)."""
    context = {**context, "platform_name": settings.MUTUALIS_PLATFORM_NAME}
    with translation.override(settings.LANGUAGE_CODE):
        subject = render_text(f"companies/email/{template}_subject.txt", context)
        body = render_text(f"companies/email/{template}_message.txt", context)
    queue_email(to=to, subject=" ".join(subject.split()), body_text=body, secrets=secrets)


def _active_admins(company: Company) -> list[Representative]:
    return list(
        Representative.objects.filter(
            company=company, role=RepresentativeRole.ADMIN, is_active=True
        ).select_related("user")
    )


def _mail_admins(company: Company, *, template: str, context: dict[str, Any]) -> None:
    for admin in _active_admins(company):
        _mail(to=admin.user.email, template=template, context={**context, "company": company})


# --- Sign-up with a SIRET --------------------------------------------------------------


def sign_up_with_siret(
    *,
    user: User,
    siret: str,
    name: str = "",
    is_head_office: bool = True,
    site_url: str,
    request_context: Mapping[str, Any] | None = None,
) -> SignUpResult:
    """Register the company a SIRET belongs to, with ``user`` as its administrator; or,
    when its SIREN is already registered, ask that company to let ``user`` join it.

    A new company starts "unverified" until operator staff confirm it. A request to
    join mails the company's administrators: it counts against the person and the
    company (``core.mail_limits``); over a limit nothing is asked nor sent, and the
    refusal is audited on the company's chain.
    """
    try:
        return _sign_up_with_siret(
            user=user,
            siret=siret,
            name=name,
            is_head_office=is_head_office,
            site_url=site_url,
            request_context=request_context,
        )
    except MailLimitReached as exc:
        company = Company.objects.filter(siren=siren_of(parse_siret(siret))).first()
        if exc.first and company is not None:
            _record_mail_refused(
                company_id=company.pk,
                user=user,
                mail="join_request",
                rule=exc.rule,
                ctx=_context(request_context),
            )
        raise


@transaction.atomic(durable=True)
def _sign_up_with_siret(
    *,
    user: User,
    siret: str,
    name: str,
    is_head_office: bool,
    site_url: str,
    request_context: Mapping[str, Any] | None,
) -> SignUpResult:
    if not has_verified_email(user):
        raise errors.EmailNotVerified()
    siret = parse_siret(siret)
    siren = siren_of(siret)
    ctx = _context(request_context)
    # Locked: the company's requests to join are decided one at a time against it.
    company = Company.objects.select_for_update().filter(siren=siren).first()
    if company is not None:
        return _ask_to_join(company, user=user, siret=siret, site_url=site_url, ctx=ctx)
    name = _clean_name(name)
    if not name:
        raise errors.NameRequired()
    try:
        with transaction.atomic():
            company = Company.objects.create(siren=siren, name=name)
    except IntegrityError:
        # Someone registered the same SIREN in the meantime (the unique index made this
        # transaction wait for theirs): the person asks to join it instead.
        company = Company.objects.select_for_update().get(siren=siren)
        return _ask_to_join(company, user=user, siret=siret, site_url=site_url, ctx=ctx)
    with scope(company=company.pk):
        establishment = Establishment.objects.create(
            company=company, siret=siret, is_head_office=is_head_office
        )
        representative = Representative.objects.create(
            company=company, user=user, role=RepresentativeRole.ADMIN
        )
        _record(
            company,
            actor=user,
            action="company.registered",
            target=company,
            payload={
                "siren": siren,
                "siret": siret,
                "establishment": establishment.pk,
                "representative": representative.pk,
                "head_office": is_head_office,
            },
            **ctx,
        )
        _mail(
            to=user.email,
            template="registered",
            context={
                "company": company,
                "link": _link(site_url, "companies:home", company=company.siren),
            },
        )
    return SignUpResult(company=company, representative=representative)


def _ask_to_join(
    company: Company, *, user: User, siret: str, site_url: str, ctx: dict[str, Any]
) -> SignUpResult:
    with scope(company=company.pk):
        representative = Representative.objects.filter(company=company, user=user).first()
        if representative is not None and representative.is_active:
            raise errors.AlreadyRepresentative()
        if JoinRequest.objects.filter(
            company=company, user=user, status=JoinRequestStatus.PENDING
        ).exists():
            raise errors.JoinRequestPending()
        mail_limits.require(
            mail_limits.join_request_limits(person_id=user.pk, company_id=company.pk)
        )
        join_request = JoinRequest.objects.create(company=company, user=user, siret=siret)
        _record(
            company,
            actor=user,
            action="company.join_requested",
            target=join_request,
            payload={"siret": siret},
            **ctx,
        )
        # While its SIREN is disputed, the administrators in place may be the wrong
        # people: the request waits for the operator and the rightful ones, unmailed.
        if company.status == CompanyStatus.DISPUTED:
            return SignUpResult(company=company, join_request=join_request)
        _mail_admins(
            company,
            template="join_requested",
            context={
                "requester": user.email,
                "siret": siret,
                "link": _link(site_url, "companies:requests", company=company.siren),
            },
        )
    return SignUpResult(company=company, join_request=join_request)


# --- Acting as a company's administrator -----------------------------------------------


def _lock_as_admin(actor: Representative) -> tuple[Company, Representative]:
    """The actor's company, locked, and the actor's row read again behind that lock:
    refuses a person who is no longer an active administrator of it."""
    company = Company.objects.select_for_update().get(pk=actor.company_id)
    current = Representative.objects.filter(pk=actor.pk, company=company).first()
    if current is None or not current.is_admin:
        raise PermissionDenied
    return company, current


def _grant(company: Company, user: User, role: str) -> tuple[Representative, str]:
    """Make ``user`` an active representative (new, or given back); an active one keeps
    the role they have. Returns the row and the role it had before ("" if none)."""
    representative = (
        Representative.objects.select_for_update().filter(company=company, user=user).first()
    )
    if representative is None:
        representative = Representative.objects.create(company=company, user=user, role=role)
        return representative, ""
    if representative.is_active:
        return representative, representative.role
    representative.is_active = True
    representative.role = role
    representative.save(update_fields=["is_active", "role"])
    return representative, ""


@transaction.atomic(durable=True)
def accept_join_request(
    *,
    actor: Representative,
    join_request_id: int,
    site_url: str,
    request_context: Mapping[str, Any] | None = None,
) -> Representative:
    """Let the person who asked join the company as a member."""
    with scope(company=actor.company_id):
        company, _admin = _lock_as_admin(actor)
        join_request = JoinRequest.objects.select_for_update().get(
            pk=join_request_id, company=company
        )
        if join_request.status != JoinRequestStatus.PENDING:
            raise errors.JoinRequestDecided()
        if company.status == CompanyStatus.SUSPENDED:
            raise errors.CompanySuspended()
        if company.status == CompanyStatus.DISPUTED:
            raise errors.CompanyDisputed()
        requester = User.objects.get(pk=join_request.user_id)
        representative, _before = _grant(company, requester, RepresentativeRole.MEMBER)
        _decide(join_request, JoinRequestStatus.ACCEPTED, by=actor.user)
        _record(
            company,
            actor=actor.user,
            action="company.join_accepted",
            target=join_request,
            payload={"representative": representative.pk, "role": representative.role},
            **_context(request_context),
        )
        _mail(
            to=requester.email,
            template="join_accepted",
            context={
                "company": company,
                "link": _link(site_url, "companies:home", company=company.siren),
            },
        )
    return representative


@transaction.atomic(durable=True)
def refuse_join_request(
    *,
    actor: Representative,
    join_request_id: int,
    request_context: Mapping[str, Any] | None = None,
) -> JoinRequest:
    """Turn down a request to join; the person may ask again later."""
    with scope(company=actor.company_id):
        company, _admin = _lock_as_admin(actor)
        join_request = JoinRequest.objects.select_for_update().get(
            pk=join_request_id, company=company
        )
        if join_request.status != JoinRequestStatus.PENDING:
            raise errors.JoinRequestDecided()
        _decide(join_request, JoinRequestStatus.REFUSED, by=actor.user)
        _record(
            company,
            actor=actor.user,
            action="company.join_refused",
            target=join_request,
            payload={},
            **_context(request_context),
        )
        requester = User.objects.get(pk=join_request.user_id)
        _mail(to=requester.email, template="join_refused", context={"company": company})
    return join_request


def _decide(join_request: JoinRequest, status: str, *, by: Any) -> None:
    join_request.status = status
    join_request.decided_at = timezone.now()
    join_request.decided_by = by
    join_request.save(update_fields=["status", "decided_at", "decided_by"])


# --- Colleagues ------------------------------------------------------------------------


def _check_role(role: str) -> str:
    if role not in RepresentativeRole.values:
        raise errors.UnknownRole()
    return role


def invite_colleague(
    *,
    actor: Representative,
    email: str,
    role: str,
    site_url: str,
    request_context: Mapping[str, Any] | None = None,
) -> CompanyInvitation:
    """Send a colleague a link to join the company with ``role``. A new invitation to the
    same address withdraws the earlier one: only the last link sent works.

    Each invitation counts against the inviting person, the company and the invited
    address (``core.mail_limits``); an unverified company has at most
    ``MUTUALIS_UNVERIFIED_COMPANY_OPEN_INVITATIONS`` invitations waiting. Over either,
    nothing is sent and the refusal is audited (in a transaction of its own, since the
    invitation's rolls back).
    """
    try:
        return _invite_colleague(
            actor=actor, email=email, role=role, site_url=site_url, ctx=_context(request_context)
        )
    except MailLimitReached as exc:
        if exc.first:
            _record_mail_refused(
                company_id=actor.company_id,
                user=actor.user,
                mail="invitation",
                rule=exc.rule,
                ctx=_context(request_context),
            )
        raise


@transaction.atomic(durable=True)
def _invite_colleague(
    *, actor: Representative, email: str, role: str, site_url: str, ctx: dict[str, Any]
) -> CompanyInvitation:
    email = (email or "").strip().lower()
    role = _check_role(role)
    with scope(company=actor.company_id):
        company, _admin = _lock_as_admin(actor)
        if company.status == CompanyStatus.SUSPENDED:
            raise errors.CompanySuspended()
        if company.status == CompanyStatus.DISPUTED:
            raise errors.CompanyDisputed()
        if Representative.objects.filter(
            company=company, is_active=True, user__email__iexact=email
        ).exists():
            raise errors.ColleagueAlreadyActive()
        now = timezone.now()
        if company.status == CompanyStatus.UNVERIFIED:
            _check_unverified_cap(company, email=email, now=now)
        mail_limits.require(
            mail_limits.invitation_limits(
                person_id=actor.user_id, tenant=f"company:{company.pk}", address=email
            )
        )
        replaced = links.withdraw_open(
            CompanyInvitation.objects.filter(company=company, email=email), now=now
        )
        # The company's number leads the token: the link is looked up in its scope alone.
        token, digest = links.issue_token(company.pk)
        invitation = CompanyInvitation.objects.create(
            company=company,
            email=email,
            role=role,
            token_digest=digest,
            invited_by=actor.user,
            expires_at=links.expiry(now),
        )
        # The address stays out of the hashed payload: the event names the row.
        _record(
            company,
            actor=actor.user,
            action="company.colleague_invited",
            target=invitation,
            payload={
                "role": role,
                "expires_at": invitation.expires_at.isoformat(),
                "replaces": [old.pk for old in replaced],
            },
            **ctx,
        )
        link = _link(site_url, "business:invitation", token=token)
        _mail(
            to=email,
            template="invitation",
            context={
                "company": company,
                "inviter": actor.user.get_full_name() or actor.user.email,
                "role": invitation.get_role_display(),
                "expires_at": invitation.expires_at,
                "link": link,
            },
            secrets=[link],
        )
    return invitation


def _check_unverified_cap(company: Company, *, email: str, now: Any) -> None:
    """Refuse a new invitation of an unverified company that has its quota of open
    ones (a new link to an address already invited replaces its link: it passes).
    Exact under concurrency: the caller holds the company's row lock."""
    cap = settings.MUTUALIS_UNVERIFIED_COMPANY_OPEN_INVITATIONS
    waiting = (
        CompanyInvitation.objects.filter(company=company, expires_at__gt=now)
        .filter(links.open_condition())
        .exclude(email=email)
        .count()
    )
    if waiting >= cap:
        first = ratelimit.first_notice(f"unverified-cap:{company.pk}", seconds=3600)
        raise errors.UnverifiedCompanyInvitationCap(cap=cap, first=first)


@transaction.atomic(durable=True)
def _record_mail_refused(
    *, company_id: int, user: Any, mail: str, rule: str, ctx: dict[str, Any]
) -> None:
    """The trail of a refused e-mail (over a limit): who asked, which kind, which limit;
    no address (personal data stays out of the hashed payload)."""
    company = Company.objects.get(pk=company_id)
    with scope(company=company.pk):
        _record(
            company,
            actor=user,
            action="company.mail_refused",
            target=company,
            payload={"mail": mail, "limit": rule},
            **ctx,
        )


@transaction.atomic(durable=True)
def revoke_invitation(
    *,
    actor: Representative,
    invitation_id: int,
    request_context: Mapping[str, Any] | None = None,
) -> CompanyInvitation:
    """Withdraw an invitation nobody accepted: its link stops working."""
    with scope(company=actor.company_id):
        company, _admin = _lock_as_admin(actor)
        invitation = CompanyInvitation.objects.select_for_update().get(
            pk=invitation_id, company=company
        )
        links.revoke(invitation, now=timezone.now())
        _record(
            company,
            actor=actor.user,
            action="company.invitation_revoked",
            target=invitation,
            payload={},
            **_context(request_context),
        )
    return invitation


def find_invitation(*, token: str) -> CompanyInvitation:
    """The invitation a link opens, with its company, for the acceptance page; raises
    the error to show when the link does not work (any more)."""
    company_id = links.owner_of(token)
    with scope(company=company_id):
        return links.find_usable(
            CompanyInvitation.objects.select_related("company").filter(company_id=company_id),
            token,
        )


def may_accept(user: Any, invitation: CompanyInvitation) -> bool:
    """Whether the invited address is a confirmed address of ``user``'s account."""
    return EmailAddress.objects.filter(
        user_id=user.pk, email__iexact=invitation.email, verified=True
    ).exists()


@transaction.atomic(durable=True)
def accept_invitation(
    *,
    user: User,
    token: str,
    request_context: Mapping[str, Any] | None = None,
) -> Representative:
    """Make ``user`` a representative with the invited role, and use the link up.

    The invited address must be a confirmed address of the account: a forwarded link
    lets nobody else in.
    """
    company_id = links.owner_of(token)
    with scope(company=company_id):
        # Locked: two clicks on the link give one representative; the second is told
        # the link is used.
        invitation = links.lock_usable(
            CompanyInvitation.objects.filter(company_id=company_id), token
        )
        if not may_accept(user, invitation):
            raise InvitationForAnotherAddress()
        company = Company.objects.select_for_update().get(pk=company_id)
        if company.status == CompanyStatus.SUSPENDED:
            raise errors.CompanySuspended()
        representative, role_before = _grant(company, user, invitation.role)
        links.mark_accepted(invitation, now=timezone.now(), accepted_by=user)
        _record(
            company,
            actor=user,
            action="company.invitation_accepted",
            target=invitation,
            payload={
                "representative": representative.pk,
                "role_before": role_before,
                "role_after": representative.role,
            },
            **_context(request_context),
        )
    return representative


@transaction.atomic(durable=True)
def change_colleague_role(
    *,
    actor: Representative,
    representative_id: int,
    role: str,
    request_context: Mapping[str, Any] | None = None,
) -> Representative:
    """Give a colleague another role; the company always keeps one administrator."""
    role = _check_role(role)
    with scope(company=actor.company_id):
        company, _admin = _lock_as_admin(actor)
        colleague = Representative.objects.select_for_update().get(
            pk=representative_id, company=company
        )
        if not colleague.is_active:
            raise errors.RepresentativeNotActive()
        before = colleague.role
        if before == role:
            return colleague
        if before == RepresentativeRole.ADMIN and not _other_admins(company, colleague):
            raise errors.LastAdministrator()
        colleague.role = role
        colleague.save(update_fields=["role"])
        _record(
            company,
            actor=actor.user,
            action="company.role_changed",
            target=colleague,
            payload={"role_before": before, "role_after": role},
            **_context(request_context),
        )
    return colleague


@transaction.atomic(durable=True)
def remove_colleague(
    *,
    actor: Representative,
    representative_id: int,
    request_context: Mapping[str, Any] | None = None,
) -> Representative:
    """End a colleague's representation (kept, inactive, for history); an administrator
    may leave too, unless they are the last one."""
    with scope(company=actor.company_id):
        company, _admin = _lock_as_admin(actor)
        colleague = Representative.objects.select_for_update().get(
            pk=representative_id, company=company
        )
        if not colleague.is_active:
            raise errors.RepresentativeNotActive()
        if colleague.role == RepresentativeRole.ADMIN and not _other_admins(company, colleague):
            raise errors.LastAdministrator()
        colleague.is_active = False
        colleague.save(update_fields=["is_active"])
        _record(
            company,
            actor=actor.user,
            action="company.colleague_removed",
            target=colleague,
            payload={"role": colleague.role},
            **_context(request_context),
        )
    return colleague


def _other_admins(company: Company, colleague: Representative) -> bool:
    # Exact under concurrency: every writer of roles holds the company's row lock.
    return (
        Representative.objects.filter(
            company=company, role=RepresentativeRole.ADMIN, is_active=True
        )
        .exclude(pk=colleague.pk)
        .exists()
    )


# --- Establishments --------------------------------------------------------------------


@transaction.atomic(durable=True)
def add_establishment(
    *,
    actor: Representative,
    siret: str,
    name: str = "",
    address: str = "",
    is_head_office: bool = False,
    request_context: Mapping[str, Any] | None = None,
) -> Establishment:
    """Register another establishment of the company; a new head office replaces the
    previous one (a company has one)."""
    siret = parse_siret(siret)
    with scope(company=actor.company_id):
        company, _admin = _lock_as_admin(actor)
        if siren_of(siret) != company.siren:
            raise errors.SiretOfAnotherCompany()
        # Its SIREN is this company's, so any row with this SIRET is one of its own.
        if Establishment.objects.filter(company=company, siret=siret).exists():
            raise errors.SiretTaken()
        previous_head_office = None
        if is_head_office:
            previous_head_office = Establishment.objects.filter(
                company=company, is_head_office=True
            ).first()
            if previous_head_office is not None:
                previous_head_office.is_head_office = False
                previous_head_office.save(update_fields=["is_head_office"])
        establishment = Establishment.objects.create(
            company=company,
            siret=siret,
            name=_clean_name(name),
            address=(address or "").strip(),
            is_head_office=is_head_office,
        )
        _record(
            company,
            actor=actor.user,
            action="company.establishment_added",
            target=establishment,
            payload={
                "siret": siret,
                "head_office": is_head_office,
                "previous_head_office": previous_head_office.pk if previous_head_office else None,
            },
            **_context(request_context),
        )
    return establishment


# --- Operator --------------------------------------------------------------------------


def _change_status(
    *,
    actor: Membership,
    company_id: int,
    event: transitions.Event,
    action: str,
    template: str,
    site_url: str,
    request_context: Mapping[str, Any] | None,
) -> Company:
    require_operator(actor)
    company = Company.objects.select_for_update().get(pk=company_id)
    before = company.status
    transitions.apply(company, event)
    fields = ["status"]
    if event is transitions.Event.VERIFY:
        company.verified_at = timezone.now()
        company.verified_by = actor.user
        fields += ["verified_at", "verified_by"]
    company.save(update_fields=fields)
    if before == CompanyStatus.DISPUTED:
        # Who holds the company is settled: the platform's chain says so too.
        audit.record(
            actor=actor.user,
            action="company.dispute_closed",
            chain=audit.PLATFORM_CHAIN,
            target=company,
            payload={"status_after": company.status},
            **_context(request_context),
        )
    with scope(company=company.pk):
        _record(
            company,
            actor=actor.user,
            action=action,
            target=company,
            payload={"status_before": before, "status_after": company.status, "by": "operator"},
            **_context(request_context),
        )
        _mail_admins(
            company,
            template=template,
            context={"link": _link(site_url, "companies:home", company=company.siren)},
        )
    return company


@transaction.atomic(durable=True)
def verify_company(
    *,
    actor: Membership,
    company_id: int,
    site_url: str,
    request_context: Mapping[str, Any] | None = None,
) -> Company:
    """Operator staff confirm that the company exists and that its representatives may
    speak for it (or reinstate a suspended one)."""
    return _change_status(
        actor=actor,
        company_id=company_id,
        event=transitions.Event.VERIFY,
        action="company.verified",
        template="verified",
        site_url=site_url,
        request_context=request_context,
    )


@transaction.atomic(durable=True)
def suspend_company(
    *,
    actor: Membership,
    company_id: int,
    site_url: str,
    request_context: Mapping[str, Any] | None = None,
) -> Company:
    """Operator staff suspend a company: nobody joins it until it is verified again."""
    return _change_status(
        actor=actor,
        company_id=company_id,
        event=transitions.Event.SUSPEND,
        action="company.suspended",
        template="suspended",
        site_url=site_url,
        request_context=request_context,
    )


# --- A disputed SIREN ------------------------------------------------------------------
#
# Anyone with a confirmed address can register a SIREN (a company shows "unverified"
# until the operator checks it). When the real company turns up, operator staff open a
# dispute, end the access of the representatives in place, give the company to its
# rightful representative, then verify it (``verify_company``) or suspend it. Each step
# is one use case, on the company's chain, and on the platform's chain for the
# decisions that change who holds the company (docs/operations.md, "SIREN contesté").


@dataclasses.dataclass(frozen=True)
class TransferResult:
    """Whom a disputed company was given to: an existing account made administrator
    (``representative``), or an invitation to an address without one (``invitation``)."""

    company: Company
    representative: Representative | None = None
    invitation: CompanyInvitation | None = None


def _lock_disputed(actor: Membership, company_id: int) -> Company:
    require_operator(actor)
    company = Company.objects.select_for_update().get(pk=company_id)
    if company.status != CompanyStatus.DISPUTED:
        raise errors.CompanyNotDisputed()
    return company


def _withdraw_all_invitations(company: Company) -> list[int]:
    replaced = links.withdraw_open(
        CompanyInvitation.objects.filter(company=company), now=timezone.now()
    )
    return [old.pk for old in replaced]


@transaction.atomic(durable=True)
def open_dispute(
    *,
    actor: Membership,
    company_id: int,
    request_context: Mapping[str, Any] | None = None,
) -> Company:
    """Operator staff record that the company's SIREN is contested: its open invitations
    are withdrawn, nobody joins or is invited until the dispute ends, and requests to
    join wait unmailed. Its representatives keep their access until suspended."""
    require_operator(actor)
    ctx = _context(request_context)
    company = Company.objects.select_for_update().get(pk=company_id)
    before = company.status
    transitions.apply(company, transitions.Event.DISPUTE)
    company.save(update_fields=["status"])
    with scope(company=company.pk):
        withdrawn = _withdraw_all_invitations(company)
        _record(
            company,
            actor=actor.user,
            action="company.disputed",
            target=company,
            payload={
                "status_before": before,
                "status_after": company.status,
                "invitations_withdrawn": withdrawn,
                "by": "operator",
            },
            **ctx,
        )
    audit.record(
        actor=actor.user,
        action="company.disputed",
        chain=audit.PLATFORM_CHAIN,
        target=company,
        payload={"status_before": before},
        **ctx,
    )
    return company


@transaction.atomic(durable=True)
def suspend_representatives(
    *,
    actor: Membership,
    company_id: int,
    representative_ids: list[int] | None = None,
    request_context: Mapping[str, Any] | None = None,
) -> list[Representative]:
    """Operator staff end the access of a disputed company's representatives (all the
    active ones, or those named): their rows stay, inactive, for the history, and
    their pages answer 404. The company may be left without an administrator until it
    is transferred. Open invitations are withdrawn again."""
    ctx = _context(request_context)
    company = _lock_disputed(actor, company_id)
    with scope(company=company.pk):
        queryset = Representative.objects.select_for_update().filter(
            company=company, is_active=True
        )
        if representative_ids is not None:
            queryset = queryset.filter(pk__in=representative_ids)
        suspended = list(queryset.order_by("pk"))
        for representative in suspended:
            representative.is_active = False
            representative.save(update_fields=["is_active"])
            _record(
                company,
                actor=actor.user,
                action="company.representative_suspended",
                target=representative,
                payload={"role": representative.role, "by": "operator"},
                **ctx,
            )
        withdrawn = _withdraw_all_invitations(company)
        if withdrawn:
            _record(
                company,
                actor=actor.user,
                action="company.invitations_withdrawn",
                target=company,
                payload={"invitations": withdrawn, "by": "operator"},
                **ctx,
            )
    if suspended:
        audit.record(
            actor=actor.user,
            action="company.representatives_suspended",
            chain=audit.PLATFORM_CHAIN,
            target=company,
            payload={"representatives": [r.pk for r in suspended]},
            **ctx,
        )
    return suspended


@transaction.atomic(durable=True)
def transfer_company(
    *,
    actor: Membership,
    company_id: int,
    email: str,
    name: str = "",
    site_url: str,
    request_context: Mapping[str, Any] | None = None,
) -> TransferResult:
    """Operator staff give a disputed company to its rightful representative: the
    account whose confirmed address is ``email`` becomes its administrator at once;
    without such an account, an administrator's invitation goes to ``email``. A
    ``name`` corrects the company's name (as in the SIRENE register). The dispute ends
    when operator staff verify the company."""
    ctx = _context(request_context)
    email = (email or "").strip().lower()
    company = _lock_disputed(actor, company_id)
    renamed = False
    name = _clean_name(name)
    if name and name != company.name:
        company.name = name
        company.save(update_fields=["name"])
        renamed = True
    account = (
        EmailAddress.objects.filter(email__iexact=email, verified=True)
        .select_related("user")
        .first()
    )
    user = account.user if account is not None and account.user.is_active else None
    with scope(company=company.pk):
        if user is not None:
            result = _transfer_to_account(company, user, actor=actor, site_url=site_url)
            payload: dict[str, Any] = {
                "via": "account",
                "representative": result.representative.pk if result.representative else None,
            }
        else:
            result = _transfer_by_invitation(company, email, actor=actor, site_url=site_url)
            payload = {
                "via": "invitation",
                "invitation": result.invitation.pk if result.invitation else None,
            }
        _record(
            company,
            actor=actor.user,
            action="company.transferred",
            target=company,
            payload={**payload, "renamed": renamed, "by": "operator"},
            **ctx,
        )
    audit.record(
        actor=actor.user,
        action="company.transferred",
        chain=audit.PLATFORM_CHAIN,
        target=company,
        payload={"via": payload["via"], "renamed": renamed},
        **ctx,
    )
    return result


def _transfer_to_account(
    company: Company, user: User, *, actor: Membership, site_url: str
) -> TransferResult:
    representative, _before = _grant(company, user, RepresentativeRole.ADMIN)
    if representative.role != RepresentativeRole.ADMIN:
        representative.role = RepresentativeRole.ADMIN
        representative.save(update_fields=["role"])
    _mail(
        to=user.email,
        template="transferred",
        context={
            "company": company,
            "link": _link(site_url, "companies:home", company=company.siren),
        },
    )
    return TransferResult(company=company, representative=representative)


def _transfer_by_invitation(
    company: Company, email: str, *, actor: Membership, site_url: str
) -> TransferResult:
    now = timezone.now()
    links.withdraw_open(CompanyInvitation.objects.filter(company=company, email=email), now=now)
    token, digest = links.issue_token(company.pk)
    invitation = CompanyInvitation.objects.create(
        company=company,
        email=email,
        role=RepresentativeRole.ADMIN,
        token_digest=digest,
        invited_by=actor.user,
        expires_at=links.expiry(now),
    )
    _mail(
        to=email,
        template="invitation",
        context={
            "company": company,
            "inviter": settings.MUTUALIS_PLATFORM_NAME,
            "role": invitation.get_role_display(),
            "expires_at": invitation.expires_at,
            "link": _link(site_url, "business:invitation", token=token),
        },
    )
    return TransferResult(company=company, invitation=invitation)
