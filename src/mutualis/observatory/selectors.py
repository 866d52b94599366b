"""Reading the observatory: the figures of one refresh, for the territory or a member.

A page reads the latest finished refresh first, then only that refresh's rows (one
query for all the figures of its scope), so that a refresh committing meanwhile never
mixes into it.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from mutualis.core.models import CpvCode, Organisation
from mutualis.procurement.vocabulary import Category, Procedure

from .models import ALL_YEARS, Dimension, Figure, Refresh

# The tables of a page, in order: (key, the dimension its rows are).
TABLES = ("years", "categories", "procedures", "cpv")
TABLE_DIMENSIONS = {
    "categories": Dimension.CATEGORY,
    "procedures": Dimension.PROCEDURE,
    "cpv": Dimension.CPV,
}
# Years a filter may name: the platform's records start after this one.
FIRST_YEAR = 2000


def latest_refresh() -> Refresh | None:
    return Refresh.objects.filter(finished_at__isnull=False).order_by("-pk").first()


@dataclasses.dataclass(frozen=True)
class Row:
    """One line of a table: a year, a nature, a procedure or a CPV division."""

    key: str
    label: str
    procedures: int
    awarded: int
    amount_awarded: Decimal
    amount_estimated: Decimal
    wins: int
    wins_sized: int
    wins_sme: int
    wins_located: int
    wins_local: int
    responses_known: int
    responses_average: float | None
    delays_known: int
    delay_median: float | None
    delay_mean: float | None

    @property
    def amount(self) -> Decimal:
        return self.amount_awarded + self.amount_estimated

    @property
    def sme_share(self) -> float | None:
        """Percentage of the awards to a company of stated size that went to an SME."""
        return 100 * self.wins_sme / self.wins_sized if self.wins_sized else None

    @property
    def local_share(self) -> float | None:
        """Percentage of the awards to a company of stated département that went to one
        of the buyer's département."""
        return 100 * self.wins_local / self.wins_located if self.wins_located else None


def _row(figure: Figure, key: str, label: str) -> Row:
    return Row(
        key=key,
        label=label,
        procedures=figure.procedures,
        awarded=figure.awarded,
        amount_awarded=Decimal(figure.amount_awarded),
        amount_estimated=Decimal(figure.amount_estimated),
        wins=figure.wins,
        wins_sized=figure.wins_sized,
        wins_sme=figure.wins_sme,
        wins_located=figure.wins_located,
        wins_local=figure.wins_local,
        responses_known=figure.responses_known,
        responses_average=(
            figure.responses_total / figure.responses_known if figure.responses_known else None
        ),
        delays_known=figure.delays_known,
        delay_median=figure.delay_median,
        delay_mean=figure.delay_mean,
    )


@dataclasses.dataclass(frozen=True)
class Observatory:
    refresh: Refresh
    organisation: Organisation | None
    year: int  # ALL_YEARS: every year
    years: list[int]
    summary: Row | None
    tables: dict[str, list[Row]]


def _cpv_labels(divisions: set[str]) -> dict[str, str]:
    french = (get_language() or "fr").startswith("fr")
    labels = {}
    for row in CpvCode.objects.filter(
        code__in=[f"{division}000000" for division in divisions], supplementary=False
    ):
        labels[row.code[:2]] = row.label_fr if french else row.label_en
    return labels


def observatory(*, refresh: Refresh, organisation: Organisation | None, year: int) -> Observatory:
    """Every figure of a page: the summary of the year chosen (or of every year), the
    row of each year, and the rows of each dimension for the year chosen."""
    figures = Figure.objects.filter(refresh=refresh).filter(
        Q(dimension=Dimension.ALL) | Q(year=year)
    )
    if organisation is None:
        figures = figures.filter(organisation__isnull=True)
    else:
        figures = figures.filter(organisation=organisation)
    rows = list(figures)
    divisions = {f.value for f in rows if f.dimension == Dimension.CPV}
    cpv_labels = _cpv_labels(divisions) if divisions else {}
    categories, procedures = dict(Category.choices), dict(Procedure.choices)

    def label(figure: Figure) -> str:
        if figure.dimension == Dimension.CATEGORY:
            return str(categories.get(figure.value, figure.value))
        if figure.dimension == Dimension.PROCEDURE:
            return str(procedures.get(figure.value, figure.value))
        name = cpv_labels.get(figure.value)
        return f"{figure.value} \N{EN DASH} {name}" if name else figure.value

    summary = None
    tables: dict[str, list[Row]] = {key: [] for key in TABLES}
    for figure in rows:
        if figure.dimension == Dimension.ALL:
            if figure.year == year:
                summary = _row(figure, "", str(_("All procedures")))
            if figure.year != ALL_YEARS:
                tables["years"].append(_row(figure, str(figure.year), str(figure.year)))
        else:
            table = next(k for k, d in TABLE_DIMENSIONS.items() if d == figure.dimension)
            tables[table].append(_row(figure, figure.value, label(figure)))
    tables["years"].sort(key=lambda r: r.key)
    for key in ("categories", "procedures", "cpv"):
        tables[key].sort(key=lambda r: (-r.procedures, r.label))
    years = [int(r.key) for r in tables["years"]]
    return Observatory(refresh, organisation, year, years, summary, tables)


def years_of(*, refresh: Refresh, organisation: Organisation | None) -> list[int]:
    """The years that have figures, for the filter."""
    figures = Figure.objects.filter(refresh=refresh, dimension=Dimension.ALL).exclude(
        year=ALL_YEARS
    )
    if organisation is None:
        figures = figures.filter(organisation__isnull=True)
    else:
        figures = figures.filter(organisation=organisation)
    return sorted(figures.values_list("year", flat=True))
