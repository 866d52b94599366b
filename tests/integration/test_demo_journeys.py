"""`make demo` carries past procedures to every stage after the publication, through each
context's services: sealed offers waiting for the opening, an analysis being scored,
an award in its standstill period, contracts signed, sent, notified, in execution,
amended and completed, an unsuccessful procedure; once."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from django_scopes import scopes_disabled

from mutualis.companies.demo import BIDDERS, bidder_email
from mutualis.contracts import demo
from mutualis.contracts.models import Amendment, Award, Contract
from mutualis.core import registry
from mutualis.decp.models import DecpEntry
from mutualis.deposits.models import Deposit, DepositLogEntry, OpenedFile, OpeningSession
from mutualis.evaluation.models import Analysis
from mutualis.identity.models import User
from mutualis.procurement.models import Consultation
from tests.factories.age import armored_passphrase_encrypt, passphrase_encrypt

pytestmark = pytest.mark.django_db

# What the journeys need: the members, the accounts, the bidders and the journeys.
NEEDED = {"core.members", "identity.accounts", "companies.bidders", "contracts.journeys"}
CONTRACT_STATE = {
    "signed": "signed",
    "notified": "sent",
    "executing": "in_execution",
    "amended": "in_execution",
    "completed": "completed",
}


@pytest.fixture
def test_sized_holder_key(monkeypatch):
    """The demo seals its commission member's key with rage, which times the machine for
    its scrypt work factor (2^20 here: seconds, more on a loaded machine), and the second
    run unseals it; sealed here at a test-sized factor. The stages are what is tested."""

    def encrypt(plaintext: bytes, passphrase: str, armored: bool = False) -> bytes:
        if armored:
            return armored_passphrase_encrypt(plaintext, passphrase)
        return passphrase_encrypt(plaintext, passphrase)

    monkeypatch.setattr("mutualis.deposits.demo.pyrage.passphrase.encrypt", encrypt)


def test_the_demo_carries_past_procedures_to_every_stage_once(
    settings, django_capture_on_commit_callbacks, test_sized_holder_key
):
    settings.MUTUALIS_DEMO_SKIP_STEPS = [
        step.name for step in registry.demo_steps() if step.name not in NEEDED
    ]
    call_command("import_territory", "--region", "27", stdout=StringIO())
    call_command("setup", stdout=StringIO())
    out = StringIO()
    # As committed: the receivers' jobs (OCDS releases, DECP entries) run, as the demo's
    # worker runs them.
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", stdout=out)
    assert "11 past procedures carried to every stage (7 contracts)" in out.getvalue()
    again = StringIO()
    call_command("seed_demo", stdout=again)
    assert "0 past procedures carried to every stage (7 contracts)" in again.getvalue()

    with scopes_disabled():
        by_reference = {
            c.reference: c for c in Consultation.objects.filter(reference__in=_references())
        }
        assert len(by_reference) == len(demo.JOURNEYS)
        stage = {j.reference: j.stage for j in demo.JOURNEYS}

        def consultation(name: str) -> Consultation:
            return by_reference[next(r for r, s in stage.items() if s == name)]

        # Sealed: every offer acknowledged on time, logged, nothing opened.
        sealed = consultation("sealed")
        offers = Deposit.for_organisation.filter(consultation=sealed)
        assert offers.count() == 2
        assert all(d.state == "acknowledged" and not d.late for d in offers)
        assert all(d.received_at < sealed.response_deadline for d in offers)
        assert DepositLogEntry.objects.filter(consultation=sealed).count() == 2
        assert not OpeningSession.objects.filter(consultation=sealed).exists()
        # Opened by the commission member's share: the files were really decrypted.
        analysing = consultation("analysing")
        assert OpeningSession.objects.get(consultation=analysing).completed_at is not None
        assert OpenedFile.objects.filter(session__consultation=analysing).count() == 3
        assert Analysis.objects.get(consultation=analysing).state == "scoring"
        # A formal procedure stops in its standstill period; adapted ones go on.
        awarded = Award.objects.get(consultation=consultation("awarded"))
        assert awarded.state == "notified"
        assert awarded.standstill_ends_on is not None
        assert Analysis.objects.get(consultation=consultation("awarded")).state == "closed"
        states = {
            c.award.consultation.reference: c.state
            for c in Contract.for_organisation.select_related("award__consultation")
        }
        assert states == {
            j.reference: CONTRACT_STATE[j.stage] for j in demo.JOURNEYS if j.stage in CONTRACT_STATE
        }
        amendment = Amendment.for_organisation.get()
        assert amendment.contract.award.consultation == consultation("amended")
        assert consultation("unsuccessful").state == "cancelled"
        # The holder's proof of receipt starts the DECP clock.
        executing = Contract.for_organisation.filter(state="in_execution")
        assert all(c.receipt_confirmed_at is not None for c in executing)
        # Each notified contract of 40,000 EUR or more has its DECP entry, complete.
        notified = Contract.for_organisation.filter(receipt_confirmed_at__isnull=False)
        entries = {e.contract_id: e for e in DecpEntry.objects.all()}
        assert set(entries) == {c.pk for c in notified if c.amount >= 40000}
        assert all(e.problems == [] for e in entries.values()), [
            e.problems for e in entries.values()
        ]

    # The winner of the amended contract reads it on its page.
    with scopes_disabled():
        contract = Contract.for_organisation.select_related("company").get(
            award__consultation=consultation("amended")
        )
    siret = next(s for s, *_rest in BIDDERS if s[:9] == contract.company.siren)
    representative = Client()
    representative.force_login(User.objects.get(email=bidder_email(siret)))
    page = representative.get(f"/c/{contract.company.siren}/contracts/")
    assert page.status_code == 200
    assert contract.reference in page.content.decode()


def _references() -> list[str]:
    return [j.reference for j in demo.JOURNEYS]
