"""Use cases of the contract record, from its signature to the end of its execution.

The buyer signs the contract of an award once the standstill period is over (a
signature date on or before its last day is refused), with the holder's establishment
(one of the holder company's SIRETs), its co-contractors and subcontractors (SIRETs,
each checked), the amount excluding VAT and the duration in months. The notification
goes through the platform: the buyer sends it, the holder confirms receipt on its page;
that instant is the proof of receipt, the contract's notification date in the DECP, and
starts its two-month publication clock. Then execution, and its end (completed or
terminated with a reason). Amendments are appended, each with its object, date and the
new amount or duration, never overwriting the original. Every step is one audit event:
the buyer's on its chain, the holder's receipt on the company's chain.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_scopes import scope

from mutualis.companies.models import Establishment
from mutualis.core import audit
from mutualis.core.links import absolute_url
from mutualis.core.mail import queue_email

from . import award_transitions, contract_transitions, errors, letters, rules, signals
from .award_transitions import Event as AwardEvent
from .awards import end_standstill_if_over, paris_today, require_buyer
from .contract_transitions import Event
from .models import Amendment, Award, AwardOutcome, AwardState, Contract, GroupingType

READERS = ("buyer", "commission_member")


def _holder_sirets(company_id: int) -> set[str]:
    with scope(company=company_id):
        return set(
            Establishment.objects.filter(company_id=company_id).values_list("siret", flat=True)
        )


def locked_contract(actor: Any, contract_id: int) -> Contract:
    """The acting member's contract ``contract_id``, locked until the end of the use
    case's transaction; another member's, or none, is refused
    (``ContractTransitionNotAllowed``)."""
    contract = (
        Contract.for_organisation.select_for_update()
        .filter(organisation_id=actor.organisation_id, pk=contract_id)
        .first()
    )
    if contract is None:
        raise errors.ContractTransitionNotAllowed()
    return contract


def record_change(
    actor: Any, action: str, contract: Contract, payload: dict[str, Any], context: Any
) -> None:
    """A step of the contract (its orders too, ``orders.py``): one event ``action`` on the
    buyer's audit chain, the contract's reference in its payload, and the
    ``contract_changed`` signal once the transaction commits."""
    audit.record(
        actor=actor,
        organisation=actor.organisation,
        action=action,
        target=contract,
        payload={"reference": contract.reference, **payload},
        **(context or {}),
    )
    _changed(contract, action)


def _changed(contract: Contract, action: str) -> None:
    signals.send_on_commit(
        signals.contract_changed,
        contract_id=contract.pk,
        organisation_id=contract.organisation_id,
        award_id=contract.award_id,
        action=action,
    )


@transaction.atomic(durable=True)
def sign(
    *,
    actor: Any,
    award_id: int,
    reference: str,
    holder_siret: str,
    amount: object,
    duration_months: object,
    signed_on: object,
    grouping: str = GroupingType.NONE,
    co_contractors: list[str] | None = None,
    subcontractors: list[str] | None = None,
    framework_maximum: object = None,
    now: datetime | None = None,
    context: dict[str, Any] | None = None,
) -> Contract:
    """Record the signed contract of an award whose standstill period is over;
    ``framework_maximum``: a framework agreement's maximum excl. VAT (its orders may
    not exceed it), refused when the consultation is not a framework agreement."""
    require_buyer(actor)
    now = now or timezone.now()
    today = paris_today(now)
    reference = rules.reference(reference)
    holder = rules.siret(holder_siret, field="holder_siret")
    price = rules.amount(amount)
    months = rules.duration(duration_months)
    signed = rules.day(signed_on, today=today, error=errors.SignatureDateInvalid)
    if grouping not in GroupingType.values:
        grouping = GroupingType.NONE
    co = rules.sirets(co_contractors or [], field="co_contractors")
    subs = rules.sirets(subcontractors or [], field="subcontractors")
    maximum = (
        rules.amount(framework_maximum, error=errors.MaximumInvalid)
        if str(framework_maximum or "").strip()
        else None
    )
    context = context or {}
    with scope(organisation=actor.organisation_id):
        award = (
            Award.objects.select_for_update()
            .filter(organisation_id=actor.organisation_id, pk=award_id)
            .select_related("consultation")
            .first()
        )
        if award is None or award.outcome != AwardOutcome.AWARDED:
            raise errors.NoDecision()
        if award.state == AwardState.NOTIFIED:
            end = award.standstill_ends_on
            if end is not None and (signed <= end or today <= end):
                raise errors.StandstillNotOver(end.strftime("%d/%m/%Y"))
            end_standstill_if_over(award, actor=actor, today=today, context=context)
        if award.standstill_ends_on is not None and signed <= award.standstill_ends_on:
            raise errors.StandstillNotOver(award.standstill_ends_on.strftime("%d/%m/%Y"))
        if award.notified_at is not None and signed < paris_today(award.notified_at):
            raise errors.SignatureDateInvalid()
        if award.company_id is None or holder not in _holder_sirets(award.company_id):
            raise errors.HolderSiretInvalid()
        if maximum is not None and not rules.is_framework(award.consultation):
            raise errors.MaximumInvalid()
        award_transitions.apply(award, AwardEvent.SIGN)
        award.save(update_fields=["state", "updated_at"])
        if Contract.for_organisation.filter(
            organisation_id=actor.organisation_id, reference=reference
        ).exists():
            raise errors.ReferenceInvalid()
        try:
            with transaction.atomic():
                contract = Contract.for_organisation.create(
                    organisation_id=award.organisation_id,
                    award=award,
                    company_id=award.company_id,
                    reference=reference,
                    holder_siret=holder,
                    grouping=grouping,
                    co_contractors=[{"siret": s} for s in co],
                    subcontractors=[{"siret": s} for s in subs],
                    amount=price,
                    duration_months=months,
                    signed_on=signed,
                    framework_maximum=maximum,
                    created_by=actor.user,  # None: an API client (actors.py)
                )
        except IntegrityError:
            raise errors.ReferenceInvalid() from None
        record_change(
            actor,
            "contracts.contract_signed",
            contract,
            {
                "award": award.pk,
                "company": award.company_id,
                "holder_siret": holder,
                "co_contractors": co,
                "subcontractors": subs,
                "amount": str(price),
                "duration_months": months,
                "signed_on": signed.isoformat(),
                "framework_maximum": str(maximum) if maximum is not None else None,
            },
            context,
        )
    return contract


@transaction.atomic(durable=True)
def send_notification(
    *,
    actor: Any,
    contract_id: int,
    now: datetime | None = None,
    context: dict[str, Any] | None = None,
) -> Contract:
    """Notify the signed contract through the platform: the holder is told by e-mail
    and confirms receipt on its page."""
    require_buyer(actor)
    now = now or timezone.now()
    with scope(organisation=actor.organisation_id):
        contract = locked_contract(actor, contract_id)
        contract_transitions.apply(contract, Event.SEND_NOTIFICATION)
        contract.notification_sent_at = now
        contract.save(update_fields=["state", "notification_sent_at", "updated_at"])
        record_change(actor, "contracts.notification_sent", contract, {}, context)
        award = Award.objects.select_related("consultation__organisation").get(pk=contract.award_id)
        _mail_notification(contract, award)
    return contract


def _mail_notification(contract: Contract, award: Award) -> None:
    page = absolute_url(
        reverse(
            "company_contracts:contract",
            kwargs={"company": award.company.siren, "pk": contract.pk},  # type: ignore[union-attr]
        )
    )
    subjects, bodies = [], []
    for language in ("fr", "en"):
        with translation.override(language):
            subjects.append(
                _("Notification of contract %(reference)s") % {"reference": contract.reference}
            )
            bodies.append(
                _(
                    "Hello,\n\n%(buyer)s notifies you contract %(reference)s (%(title)s). "
                    "Confirm its receipt on your company's page: %(url)s\n\nThe date of your "
                    "confirmation is the contract's notification date.\n\n%(platform)s"
                )
                % {
                    "buyer": award.consultation.organisation.name,
                    "reference": contract.reference,
                    "title": award.consultation.title,
                    "url": page,
                    "platform": settings.MUTUALIS_PLATFORM_NAME,
                }
            )
    depositor = award.offer.user.email if award.offer and award.offer.user else None
    for to in letters.recipients(contract.company_id, depositor):
        queue_email(
            to=to,
            subject=subjects[0],
            body_text=bodies[0] + "\n\n---- English ----\n\n" + bodies[1] + "\n",
        )


@transaction.atomic(durable=True)
def confirm_receipt(
    *, representative: Any, contract_id: int, now: datetime | None = None
) -> Contract | None:
    """The holder confirms it received the contract's notification (None: not its
    contract). Its instant is the proof of receipt."""
    company_id = representative.company_id
    now = now or timezone.now()
    with scope(company=company_id):
        contract = (
            Contract.for_company.select_for_update()
            .filter(company_id=company_id, pk=contract_id)
            .first()
        )
        if contract is None:
            return None
        contract_transitions.apply(contract, Event.CONFIRM_RECEIPT)
        contract.receipt_confirmed_at = now
        contract.receipt_confirmed_by = representative.user
        contract.save(
            update_fields=["state", "receipt_confirmed_at", "receipt_confirmed_by", "updated_at"]
        )
        audit.record(
            actor=representative,
            action="contracts.receipt_confirmed",
            chain=audit.company_chain(company_id),
            target=contract,
            payload={"reference": contract.reference, "at": now.isoformat()},
        )
        _changed(contract, "contracts.receipt_confirmed")
    return contract


def _change_state(
    *,
    actor: Any,
    contract_id: int,
    event: Event,
    action: str,
    on: object,
    reason: str | None = None,
    now: datetime | None = None,
    context: dict[str, Any] | None = None,
) -> Contract:
    require_buyer(actor)
    today = paris_today(now)
    day = rules.day(on, today=today)
    if reason is not None:
        try:
            reason = rules.text(reason, required=True)
        except errors.ReasonsRequired:
            raise errors.ReasonRequired() from None
    with scope(organisation=actor.organisation_id):
        contract = locked_contract(actor, contract_id)
        contract_transitions.apply(contract, event)
        if event == Event.START:
            contract.started_on = day
        else:
            contract.ended_on = day
        if reason is not None:
            contract.termination_reason = reason
        contract.save(
            update_fields=["state", "started_on", "ended_on", "termination_reason", "updated_at"]
        )
        record_change(actor, action, contract, {"on": day.isoformat()}, context)
    return contract


@transaction.atomic(durable=True)
def start_execution(*, actor: Any, contract_id: int, started_on: object, **kw: Any) -> Contract:
    return _change_state(
        actor=actor, contract_id=contract_id, event=Event.START,
        action="contracts.execution_started", on=started_on, **kw,
    )  # fmt: skip


@transaction.atomic(durable=True)
def complete(*, actor: Any, contract_id: int, ended_on: object, **kw: Any) -> Contract:
    return _change_state(
        actor=actor, contract_id=contract_id, event=Event.COMPLETE,
        action="contracts.contract_completed", on=ended_on, **kw,
    )  # fmt: skip


@transaction.atomic(durable=True)
def terminate(
    *, actor: Any, contract_id: int, ended_on: object, reason: str, **kw: Any
) -> Contract:
    return _change_state(
        actor=actor, contract_id=contract_id, event=Event.TERMINATE,
        action="contracts.contract_terminated", on=ended_on, reason=reason, **kw,
    )  # fmt: skip


@transaction.atomic(durable=True)
def amend(
    *,
    actor: Any,
    contract_id: int,
    object: str,
    notified_on: object,
    new_amount: object = None,
    new_duration_months: object = None,
    now: datetime | None = None,
    context: dict[str, Any] | None = None,
) -> Amendment:
    """Append an amendment (its number the next one)."""
    require_buyer(actor)
    today = paris_today(now)
    try:
        text = rules.text(object, required=True, maximum=1000)
        day = rules.day(notified_on, today=today)
    except errors.ContractsError:
        raise errors.AmendmentInvalid() from None
    amount = rules.amount(new_amount) if str(new_amount or "").strip() else None
    months = rules.duration(new_duration_months) if str(new_duration_months or "").strip() else None
    if amount is None and months is None:
        raise errors.AmendmentInvalid()
    with scope(organisation=actor.organisation_id):
        contract = locked_contract(actor, contract_id)
        if not contract_transitions.amendable(contract):
            raise errors.NotAmendable()
        if contract.receipt_confirmed_at and day < paris_today(contract.receipt_confirmed_at):
            raise errors.AmendmentInvalid()
        last = contract.amendments.order_by("-number").values_list("number", flat=True).first()
        amendment = Amendment.for_organisation.create(
            organisation_id=contract.organisation_id,
            contract=contract,
            company_id=contract.company_id,
            number=(last or 0) + 1,
            object=text,
            notified_on=day,
            new_amount=amount,
            new_duration_months=months,
            created_by=actor.user,  # None: an API client (actors.py)
        )
        contract.save(update_fields=["updated_at"])
        record_change(
            actor,
            "contracts.amendment_added",
            contract,
            {
                "number": amendment.number,
                "notified_on": day.isoformat(),
                "new_amount": str(amount) if amount is not None else None,
                "new_duration_months": months,
            },
            context,
        )
    return amendment


# --- Reading ---------------------------------------------------------------------------


def contract_of(*, organisation_id: int, contract_id: int) -> Contract | None:
    with scope(organisation=organisation_id):
        return (
            Contract.for_organisation.filter(organisation_id=organisation_id, pk=contract_id)
            .select_related("award__consultation", "award__lot", "company")
            .first()
        )


def amendments_of(contract: Contract, *, side: str) -> list[Amendment]:
    if side == "company":
        with scope(company=contract.company_id):
            return list(Amendment.for_company.filter(contract_id=contract.pk).order_by("number"))
    with scope(organisation=contract.organisation_id):
        return list(Amendment.for_organisation.filter(contract_id=contract.pk).order_by("number"))


def current_terms(contract: Contract, amendments: list[Amendment]) -> tuple[Any, int]:
    """The amount and duration in force: the original, as the amendments set them."""
    amount, months = contract.amount, contract.duration_months
    for amendment in amendments:
        if amendment.new_amount is not None:
            amount = amendment.new_amount
        if amendment.new_duration_months is not None:
            months = amendment.new_duration_months
    return amount, months


def contracts_of_company(*, company_id: int) -> list[Contract]:
    with scope(company=company_id):
        return list(
            Contract.for_company.filter(company_id=company_id)
            .select_related("award__consultation__organisation", "award__lot")
            .order_by("-signed_on", "-pk")
        )


def contract_of_company(*, company_id: int, contract_id: int) -> Contract | None:
    with scope(company=company_id):
        return (
            Contract.for_company.filter(company_id=company_id, pk=contract_id)
            .select_related("award__consultation__organisation", "award__lot")
            .first()
        )
