"""Query budgets of the retention job's list of procedures due (``retention.due``) and of
the export page (``/o/<slug>/contracts/export/``): the same number of queries whatever
the number of procedures (each measured over two sizes of data)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_scopes import scopes_disabled

from mutualis.contracts import retention
from mutualis.procurement.models import Consultation, State
from tests.factories.core import org_url
from tests.factories.procurement import make_consultation, subscribe_to_procurement

pytestmark = pytest.mark.django_db

# The crossing listing the procedures, then per member: its consultations, their awards
# still living (with their contracts), their lots.
DUE_QUERIES = 4
# The request's own (session, user, membership, roles, subscription), the
# packages, then the finished procedures: the consultations, their awards, their lots.
EXPORT_QUERIES = 10


@pytest.fixture
def buyer(agent_a):
    subscribe_to_procurement(agent_a.organisation)
    return agent_a


def cancelled(buyer, count: int, *, start: int) -> None:
    for number in range(start, start + count):
        consultation = make_consultation(buyer, publish=True, reference=f"2020-ANN-{number}")
        with scopes_disabled():
            Consultation.objects.filter(pk=consultation.pk).update(
                state=State.CANCELLED,
                cancelled_at=timezone.now() - timedelta(days=10),
                cancellation_reason="Besoin disparu",
            )


def test_the_procedures_due_are_listed_in_a_fixed_number_of_queries(
    buyer, django_assert_max_num_queries
):
    later = timezone.now() + timedelta(days=6 * 366)
    found = []
    for size, start in ((1, 0), (4, 1)):
        cancelled(buyer, size if start == 0 else size - 1, start=start)
        with django_assert_max_num_queries(DUE_QUERIES):
            found = retention.due(later)
        assert len(found) == size
    assert [c.pk for c, _end, _due in found] == sorted(c.pk for c, _end, _due in found)
    # Not yet due: the day before the fifth anniversary is too early.
    assert retention.due(timezone.now() + timedelta(days=3 * 365)) == []


def test_the_export_page_counts_the_finished_procedures_in_a_fixed_number_of_queries(
    client, buyer, django_assert_max_num_queries
):
    client.force_login(buyer.user)
    for size, add in ((1, 1), (5, 4)):
        cancelled(buyer, add, start=size * 10)
        # Running procedures, one with lots: read, not finished.
        make_consultation(buyer, publish=True, lots=2, reference=f"2027-LOTS-{size}")
        make_consultation(buyer, publish=True, reference=f"2027-RUN-{size}")
        with django_assert_max_num_queries(EXPORT_QUERIES):
            page = client.get(org_url("contracts:export"))
        assert page.status_code == 200
        assert len(page.context["procedures"]) == size
