"""The admissions page of a two-phase procedure reads the pending requests for missing
documents (the message sent, the candidate's answers since) in a fixed number of
queries, whatever the number of candidates asked (measured over two sizes of data)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from mutualis.deposits import admissions
from mutualis.deposits.models import Phase
from tests.factories.deposits_opening import (
    close_on_time_section,
    commission_holder,
    make_deposit,
    one_holder_key,
    open_through_the_pages,
    pass_deadline,
)
from tests.factories.evaluation import bidder
from tests.factories.procurement import make_consultation, subscribe_to_procurement

pytestmark = pytest.mark.django_db

CANDIDATES = 3
# The request's own, the consultation, the applications, the admissions with their
# requests, the answers to every request, the opening, the offer phase.
PAGE_QUERIES = 17


@pytest.fixture(autouse=True)
def _time_stamping_authority(db):
    from mutualis.evidence import authority

    authority.ensure_authority()


@pytest.fixture
def opened(agent_a):
    """A restricted procedure whose applications (``CANDIDATES`` on time) are opened."""
    buyer = agent_a
    subscribe_to_procurement(buyer.organisation)
    membership, holder = commission_holder(buyer.organisation)
    restricted = make_consultation(buyer, publish=True, procedure="restricted")
    share = one_holder_key(restricted, buyer, holder)
    candidates = [bidder(n, f"Entreprise {n}") for n in range(1, CANDIDATES + 1)]
    for representative in candidates:
        make_deposit(
            restricted, representative, [("kbis.pdf", b"%PDF-1.4 x")], phase=Phase.APPLICATION
        )
    close_on_time_section(restricted)
    pass_deadline(restricted)
    buyer_client = open_through_the_pages(restricted, buyer=buyer, holder=membership, share=share)
    return buyer, restricted, candidates, buyer_client


def test_the_admissions_page_reads_the_requests_in_a_fixed_number_of_queries(
    opened, django_assert_max_num_queries
):
    buyer, restricted, candidates, client = opened
    url = reverse("deposit_register:admissions", kwargs={"org": "commune-a", "pk": restricted.pk})
    deadline = timezone.now() + timedelta(days=8)
    for asked in (candidates[:1], candidates[1:]):
        for representative in asked:
            admissions.request_documents(
                actor=buyer,
                consultation_id=restricted.pk,
                company_id=representative.company_id,
                missing="Extrait Kbis",
                deadline=deadline,
            )
        with django_assert_max_num_queries(PAGE_QUERIES):
            page = client.get(url)
        assert page.status_code == 200
    answers = {c.company.pk: (c.answers, c.thread_id) for c in page.context["candidates"].on_time}
    assert all(count == 0 and thread for count, thread in answers.values())
