"""The observatory's refresh on a small data set whose figures are known by hand."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from mutualis.observatory import refresh as observatory_refresh
from mutualis.observatory import selectors
from mutualis.observatory.models import ALL_YEARS, Figure, ProcedureFact, Refresh
from tests.factories.observatory import build_territory

pytestmark = pytest.mark.django_db


@pytest.fixture
def territory() -> dict[str, Any]:
    return build_territory()


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
