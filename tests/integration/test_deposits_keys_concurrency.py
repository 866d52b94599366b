"""The key ceremony's race (PostgreSQL: row locks): a holder retiring their key while a
buyer seals a share to it. The buyer's registration locks the chosen holders' keys; a
key retired meanwhile is found retired once the lock is granted, and the opening key is
refused instead of holding a share nobody can open."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction
from django.utils import timezone
from django_scopes import scope

from mutualis.deposits import key_errors, keys
from mutualis.deposits.models import HolderKey, OpeningKey
from tests.factories.deposits_keys import commission_member, enrol, opening_input
from tests.factories.identity import make_member
from tests.factories.procurement import make_consultation, subscribe_to_procurement

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_a_key_retired_while_the_buyer_registers_is_refused_not_sealed_to(org_a):
    buyer = make_member(org_a, "buyer.keys@example.org", roles=["buyer"])
    subscribe_to_procurement(org_a)
    consultation = make_consultation(buyer, reference="RACE")
    holders = [enrol(commission_member(org_a, f"race{i}@example.org")) for i in range(1, 4)]
    data, _ = opening_input(holders, 2)
    leaving = holders[0].key
    locked, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def retire() -> None:
        # enrol_holder's first half: lock the holder's current key, retire it, commit.
        try:
            with transaction.atomic(), scope(organisation=org_a.pk):
                key = HolderKey.objects.select_for_update().get(pk=leaving.pk)
                locked.set()
                release.wait(timeout=2)  # the buyer's registration queues on the lock
                key.retired_at = timezone.now()
                key.save(update_fields=["retired_at"])
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=retire)
    thread.start()
    assert locked.wait(timeout=30)
    try:
        with scope(organisation=org_a.pk), pytest.raises(key_errors.HoldersInvalid):
            keys.register_opening_key(actor=buyer, consultation_id=consultation.pk, data=data)
    finally:
        release.set()
        thread.join()

    assert errors == []
    with scope(organisation=org_a.pk):
        assert not OpeningKey.objects.filter(consultation=consultation).exists()
        assert HolderKey.objects.get(pk=leaving.pk).retired_at is not None
