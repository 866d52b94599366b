"""The periodic job and a buyer at the same moment (PostgreSQL: row locks)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction
from django_scopes import scope, scopes_disabled

from mutualis.procurement import services
from mutualis.procurement.models import Consultation, State
from tests.factories.procurement import make_consultation, subscribe_to_procurement

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_the_job_skips_a_consultation_another_transaction_holds_then_closes_it(org_a):
    """A run of the job that meets a row locked by another transaction (its buyer
    cancelling it, another run) leaves it and moves the others; the next run, a minute
    later, records it."""
    from tests.factories.identity import make_member

    buyer = make_member(org_a, "buyer.lock@example.org", roles=["buyer"])
    subscribe_to_procurement(org_a)
    held = make_consultation(buyer, reference="held", publish=True)
    free = make_consultation(buyer, reference="free", publish=True)
    deadline = max(held.response_deadline, free.response_deadline)
    locked, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def hold() -> None:
        try:
            with transaction.atomic(), scope(organisation=org_a.pk):
                Consultation.objects.select_for_update().get(pk=held.pk)
                locked.set()
                release.wait(timeout=30)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    assert locked.wait(timeout=30)
    try:
        first = services.advance_due_consultations(now=deadline)
    finally:
        release.set()
        holder.join()
    second = services.advance_due_consultations(now=deadline)

    assert errors == []
    assert first["closed"] == 1
    assert second["closed"] == 1
    with scopes_disabled():
        assert set(Consultation.objects.values_list("state", flat=True)) == {State.CLOSED}
