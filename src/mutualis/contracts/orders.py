"""Purchase orders under a framework agreement (bons de commande, R2162-13 of the public
procurement code).

On a contract whose consultation's purchasing techniques include a framework agreement,
the buyer records each order it issues: its number (unique for the contract), date,
object and amount excluding VAT. Orders are appended while the contract is notified or
in execution, dated on or after its notification. When the contract records the
framework's maximum (``Contract.framework_maximum``, set at signature), the orders'
total may not exceed it: an order above what remains is refused, saying what remains.
Subsequent contracts (marchés subséquents) are not recorded here: each is a contract of
its own, awarded after a competition between the framework's holders.

Every order is one audit event on the buyer's chain, and one ``contract_changed``
signal (``contracts.order_added``); the holder sees its orders on its contract page.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django_scopes import scope

from . import contract_transitions, errors, letters, rules
from .awards import paris_today, require_buyer
from .models import Award, Contract, Order
from .records import locked_contract, record_change

ACTION = "contracts.order_added"


def ordered_total(contract: Contract) -> Decimal:
    """The amounts of the contract's orders, added (zero without any)."""
    total = Order.for_organisation.filter(contract_id=contract.pk).aggregate(total=Sum("amount"))[
        "total"
    ]
    return (total if total is not None else Decimal(0)).quantize(Decimal("0.01"))


def _consultation_of(contract: Contract) -> Any:
    return Award.objects.select_related("consultation").get(pk=contract.award_id).consultation


@transaction.atomic(durable=True)
def add_order(
    *,
    actor: Any,
    contract_id: int,
    number: object,
    issued_on: object,
    object: object,
    amount: object,
    now: datetime | None = None,
    context: dict[str, Any] | None = None,
) -> Order:
    """Record an order issued under the framework agreement ``contract_id``."""
    require_buyer(actor)
    today = paris_today(now)
    reference = rules.order_number(number)
    try:
        text = rules.text(object, required=True, maximum=1000)
        day = rules.day(issued_on, today=today)
    except errors.ContractsError:
        raise errors.OrderInvalid() from None
    price = rules.amount(amount)
    with scope(organisation=actor.organisation_id):
        contract = locked_contract(actor, contract_id)
        if not rules.is_framework(_consultation_of(contract)):
            raise errors.NotAFramework()
        if not contract_transitions.amendable(contract):
            raise errors.NotOrderable()
        if contract.receipt_confirmed_at and day < paris_today(contract.receipt_confirmed_at):
            raise errors.OrderInvalid()
        total = ordered_total(contract)
        maximum = contract.framework_maximum
        if maximum is not None and total + price > maximum:
            raise errors.OverMaximum(
                letters.euros(maximum), letters.euros(total), letters.euros(maximum - total)
            )
        if Order.for_organisation.filter(contract_id=contract.pk, number=reference).exists():
            raise errors.OrderNumberInvalid()
        try:
            with transaction.atomic():
                order = Order.for_organisation.create(
                    organisation_id=contract.organisation_id,
                    contract=contract,
                    company_id=contract.company_id,
                    number=reference,
                    issued_on=day,
                    object=text,
                    amount=price,
                    created_by=actor.user,
                )
        except IntegrityError:
            raise errors.OrderNumberInvalid() from None
        contract.save(update_fields=["updated_at"])
        record_change(
            actor,
            ACTION,
            contract,
            {
                "order": order.pk,
                "number": reference,
                "issued_on": day.isoformat(),
                "amount": str(price),
                "total": str(total + price),
            },
            context,
        )
    return order


def orders_of(contract: Contract, *, side: str) -> list[Order]:
    if side == "company":
        with scope(company=contract.company_id):
            return list(
                Order.for_company.filter(contract_id=contract.pk).order_by("issued_on", "pk")
            )
    with scope(organisation=contract.organisation_id):
        return list(
            Order.for_organisation.filter(contract_id=contract.pk).order_by("issued_on", "pk")
        )


def summary(contract: Contract, orders: list[Order]) -> dict[str, Any]:
    """What the contract pages show of its orders: the total, the maximum, what remains."""
    total = sum((o.amount for o in orders), Decimal("0.00"))
    maximum = contract.framework_maximum
    return {
        "orders": orders,
        "total": total,
        "maximum": maximum,
        "remaining": maximum - total if maximum is not None else None,
    }
