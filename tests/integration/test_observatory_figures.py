"""The observatory's refresh on a small data set whose figures are known by hand."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django_scopes import scopes_disabled

from mutualis.companies.models import Company, CompanyProfile
from mutualis.contracts.models import Award
from mutualis.deposits.models import Deposit, DepositState
from mutualis.observatory import refresh as observatory_refresh
from mutualis.observatory import selectors
from mutualis.observatory.models import ALL_YEARS, Figure, ProcedureFact, Refresh
from mutualis.procurement.models import Consultation, Lot
from tests.factories.companies import company_siren
from tests.factories.core import OrganisationFactory

pytestmark = pytest.mark.django_db

_numbers = itertools.count(1)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def consultation(org: Any, published: str | None, **fields: Any) -> Consultation:
    number = next(_numbers)
    published_at = at(published) if published else None
    values: dict[str, Any] = {
        "organisation": org,
        "reference": f"OBS-{number}",
        "title": f"Consultation {number}",
        "object": "Objet",
        "procedure": "adapted",
        "category": "works",
        "main_cpv": "45261000",
        "questions_deadline": (published_at or at("2025-01-01T00:00")) + timedelta(days=5),
        "response_deadline": (published_at or at("2025-01-01T00:00")) + timedelta(days=10),
        "contact": "Service des marchés",
        "state": "closed",
        "published_at": published_at,
        **fields,
    }
    with scopes_disabled():
        return Consultation.objects.create(**values)


def company(name: str, size: str | None, departement: Any) -> Company:
    number = next(_numbers)
    created = Company.objects.create(siren=company_siren(500 + number), name=name)
    if size is not None:
        with scopes_disabled():
            CompanyProfile.objects.create(company=created, size=size, main_departement=departement)
    return created


def award(
    c: Consultation,
    winner: Company,
    amount: str,
    *,
    bidders: int,
    days: int,
    lot: Lot | None = None,
    state: str = "notified",
) -> Award:
    number = next(_numbers)
    user = get_user_model().objects.get_or_create(email="acheteur@example.org")[0]
    with scopes_disabled():
        offer = Deposit.for_organisation.create(
            organisation_id=c.organisation_id,
            reference=f"D-OBS-{number}",
            consultation=c,
            lot=lot,
            company=winner,
            state=DepositState.ACKNOWLEDGED,
            idempotency_key=f"obs-{number}",
            received_at=c.response_deadline - timedelta(hours=1),
        )
        return Award.objects.create(
            organisation_id=c.organisation_id,
            consultation=c,
            lot=lot,
            outcome="awarded",
            company=winner,
            offer=offer,
            amount=Decimal(amount),
            reasons="Offre la mieux classée.",
            state=state,
            decided_at=c.published_at + timedelta(days=days - 1),
            decided_by=user,
            notified_at=c.published_at + timedelta(days=days) if state != "draft" else None,
            bidders=bidders,
        )


@pytest.fixture
def territory() -> dict[str, Any]:
    return build_territory()


def build_territory() -> dict[str, Any]:
    """Two buyers (A in the Côte-d'Or, B in the Doubs), companies of every kind, and
    procedures at every stage; the expected figures are in the tests."""
    dep21 = OrganisationFactory(name="Côte-d'Or", kind="departement", insee_code="21")
    dep25 = OrganisationFactory(name="Doubs", kind="departement", insee_code="25")
    a = OrganisationFactory(name="Commune A", slug="commune-a", departement=dep21)
    b = OrganisationFactory(name="Commune B", slug="commune-b", departement=dep25)
    small = company("Petite entreprise", "small", dep21)
    large = company("Grande entreprise", "large", dep25)
    unknown = company("Entreprise sans profil", None, None)

    a1 = consultation(a, "2025-03-01T10:00", estimated_value=Decimal("100000"))
    award(a1, small, "90000", bidders=3, days=30)
    a2 = consultation(
        a, "2025-06-01T10:00", category="services", procedure="open", main_cpv="90910000",
        estimated_value=Decimal("50000"),
    )  # fmt: skip
    with scopes_disabled():
        lot1 = Lot.objects.create(organisation=a, consultation=a2, number=1, title="Lot 1")
        lot2 = Lot.objects.create(organisation=a, consultation=a2, number=2, title="Lot 2")
    award(a2, large, "20000", bidders=2, days=10, lot=lot1)
    award(a2, small, "25000", bidders=4, days=20, lot=lot2)
    # Published on the last evening of 2025 in UTC: 2026 in Paris. Open, no award yet.
    consultation(
        a, "2025-12-31T23:30", category="supplies", main_cpv="30200000", state="published",
        estimated_value=Decimal("40000"),
    )  # fmt: skip
    # Cancelled: counted, no amount.
    consultation(
        a, "2026-02-01T10:00", state="cancelled", cancellation_kind="discontinued",
        cancellation_reason="Projet abandonné.", cancelled_at=at("2026-02-20T10:00"),
        estimated_value=Decimal("70000"),
    )  # fmt: skip
    # A restricted procedure: its offer phase holds the award, counted under it.
    parent = consultation(
        a, "2025-09-01T10:00", procedure="restricted", estimated_value=Decimal("200000")
    )
    phase = consultation(
        a, "2025-10-01T10:00", procedure="restricted", parent=parent,
        estimated_value=Decimal("200000"),
    )  # fmt: skip
    phase_award = award(phase, unknown, "150000", bidders=5, days=1)
    with scopes_disabled():
        # 60 days after the parent's publication.
        Award.objects.filter(pk=phase_award.pk).update(
            notified_at=parent.published_at + timedelta(days=60)
        )
    # A decision not yet notified is not public: estimated value instead.
    a7 = consultation(a, "2025-10-01T10:00", category="services", estimated_value=Decimal("30000"))
    award(a7, small, "10000", bidders=2, days=20, state="draft")
    # Never counted: a draft, a scheduled one, the operator's test consultation.
    consultation(a, None, state="draft", estimated_value=Decimal("999"))
    consultation(a, None, state="scheduled", estimated_value=Decimal("999"))
    consultation(a, "2025-04-01T10:00", state="published", is_test=True)

    b1 = consultation(b, "2025-05-01T10:00", estimated_value=Decimal("80000"))
    award(b1, small, "60000", bidders=1, days=50)
    return {"a": a, "b": b}


def figure(*, organisation: Any = None, year: int = ALL_YEARS, dimension: str = "all",
           value: str = "") -> Figure:  # fmt: skip
    refresh = selectors.latest_refresh()
    return Figure.objects.get(
        refresh=refresh, organisation=organisation, year=year, dimension=dimension, value=value
    )


def test_the_territory_figures_count_public_procedures_and_notified_awards(territory):
    done = observatory_refresh.refresh_figures()

    assert done.procedures == 7
    f = figure()
    assert (f.procedures, f.awarded) == (7, 4)
    assert f.amount_awarded == Decimal("345000")  # 90,000 + 45,000 + 150,000 + 60,000
    assert f.amount_estimated == Decimal("70000")  # 40,000 open + 30,000 not notified
    assert (f.wins, f.wins_sized, f.wins_sme) == (5, 4, 3)
    assert (f.wins_located, f.wins_local) == (4, 2)
    assert (f.responses_total, f.responses_known) == (13, 4)  # 3, max(2, 4), 5, 1
    assert f.delays_known == 4
    assert f.delay_mean == pytest.approx(37.5)  # 30, 10, 60, 50
    assert f.delay_median == pytest.approx(40)


def test_a_member_figures_are_its_own_per_year_in_paris(territory):
    observatory_refresh.refresh_figures()
    a = territory["a"]

    everything = figure(organisation=a)
    assert (everything.procedures, everything.awarded) == (6, 3)
    assert everything.delay_median == pytest.approx(30)  # 10, 30, 60
    assert everything.delay_mean == pytest.approx(100 / 3)
    in_2025 = figure(organisation=a, year=2025)
    assert (in_2025.procedures, in_2025.awarded) == (4, 3)
    in_2026 = figure(organisation=a, year=2026)
    assert (in_2026.procedures, in_2026.awarded) == (2, 0)
    assert in_2026.amount_estimated == Decimal("40000")
    assert in_2026.delay_median is None
    b = figure(organisation=territory["b"])
    assert (b.wins_located, b.wins_local, b.wins_sme) == (1, 0, 1)


def test_figures_by_nature_procedure_and_cpv_division(territory):
    observatory_refresh.refresh_figures()

    assert figure(dimension="category", value="works").procedures == 4
    assert figure(dimension="category", value="services").procedures == 2
    assert figure(dimension="category", value="supplies").procedures == 1
    assert figure(dimension="procedure", value="restricted").amount_awarded == Decimal("150000")
    assert figure(dimension="cpv", value="45").procedures == 5  # A7 is services under 45
    in_2025 = figure(organisation=territory["a"], year=2025, dimension="cpv", value="90")
    assert (in_2025.procedures, in_2025.wins, in_2025.delay_median) == (1, 2, 10)


def test_the_page_reads_one_refresh_and_labels_its_rows(territory):
    observatory_refresh.refresh_figures()

    page = selectors.observatory(
        refresh=selectors.latest_refresh(), organisation=None, year=ALL_YEARS
    )
    assert page.years == [2025, 2026]
    assert page.summary is not None
    assert page.summary.sme_share == pytest.approx(75)
    assert page.summary.local_share == pytest.approx(50)
    assert page.summary.responses_average == pytest.approx(3.25)
    cpv = {row.key: row.label for row in page.tables["cpv"]}
    assert cpv["45"].startswith("45 \N{EN DASH} ")
    assert [row.label for row in page.tables["categories"]] == ["Works", "Services", "Supplies"]


def test_a_refresh_replaces_the_figures_at_once_and_keeps_the_previous_one(territory):
    first = observatory_refresh.refresh_figures()
    second = observatory_refresh.refresh_figures()
    third = observatory_refresh.refresh_figures()

    # The scratch facts are gone; the two latest refreshes are kept whole, the older ones
    # deleted, so a page that began on the previous refresh ends on it.
    assert not ProcedureFact.objects.exists()
    assert list(Refresh.objects.order_by("pk").values_list("pk", flat=True)) == [
        second.pk,
        third.pk,
    ]
    assert not Figure.objects.filter(refresh=first).exists()
    counts = {r: Figure.objects.filter(refresh_id=r).count() for r in (second.pk, third.pk)}
    assert counts[second.pk] == counts[third.pk] > 0
    assert selectors.latest_refresh() == third


def test_a_failed_refresh_leaves_the_previous_figures(territory, monkeypatch):
    done = observatory_refresh.refresh_figures()

    def broken(**kwargs: Any) -> str:
        raise RuntimeError("database gone")

    monkeypatch.setattr(observatory_refresh, "figures_sql", broken)
    with pytest.raises(RuntimeError):
        observatory_refresh.refresh_figures()

    # Nothing of the failed refresh is visible: readers keep the previous figures whole.
    assert selectors.latest_refresh() == done
    assert list(Refresh.objects.values_list("pk", flat=True)) == [done.pk]
    assert not ProcedureFact.objects.exists()
    assert figure().procedures == 7


def test_with_nothing_public_the_refresh_writes_no_figure():
    done = observatory_refresh.refresh_figures()

    assert done.procedures == 0
    assert not Figure.objects.filter(refresh=done).exists()
    assert selectors.latest_refresh() == done


def test_the_job_refreshes_at_least_hourly_and_the_demo_ends_with_a_refresh(territory):
    import io

    from mutualis.core import registry
    from mutualis.observatory import tasks

    job = next(j for j in registry.periodic_jobs() if j.name == "observatory_refresh")
    assert job.task is tasks.refresh_figures
    assert job.trigger.interval <= timedelta(minutes=30)
    step = next(s for s in registry.demo_steps() if s.name == "observatory.refresh")
    # After every step that seeds procedures, offers, awards or companies.
    seeders = ("procurement.", "deposits.", "evaluation.", "contracts.", "companies.")
    assert all(s.order < step.order for s in registry.demo_steps() if s.name.startswith(seeders))

    out = io.StringIO()
    step.run(out)

    assert "7 public procedures" in out.getvalue()
    assert selectors.latest_refresh().procedures == 7
