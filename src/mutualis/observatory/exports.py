"""The observatory's tables as CSV: the same columns and figures as the pages' tables."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from typing import Any

from django.utils.translation import gettext as _

from mutualis.procurement.downloaders import csv_cell

from .selectors import Row


def first_column(table: str) -> str:
    return {
        "years": _("Year"),
        "categories": _("Nature of the purchase"),
        "procedures": _("Procedure"),
        "cpv": _("CPV division"),
    }[table]


def header(table: str) -> list[str]:
    return [
        first_column(table),
        _("Procedures"),
        _("Awarded procedures"),
        _("Amount awarded excl. VAT (EUR)"),
        _("Estimated amount not yet awarded excl. VAT (EUR)"),
        _("Awards to a company"),
        _("Share of SMEs among winners (%)"),
        _("Share of local businesses among winners (%)"),
        _("Average number of offers"),
        _("Median delay to award (days)"),
        _("Mean delay to award (days)"),
    ]


def _number(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def cells(row: Row) -> list[Any]:
    return [
        row.label,
        row.procedures,
        row.awarded,
        f"{row.amount_awarded:.2f}",
        f"{row.amount_estimated:.2f}",
        row.wins,
        _number(row.sme_share),
        _number(row.local_share),
        _number(row.responses_average),
        _number(row.delay_median),
        _number(row.delay_mean),
    ]


class _Echo:
    def write(self, value: str) -> str:
        return value


def stream(table: str, rows: Iterable[Row]) -> Iterator[str]:
    """The lines of the CSV (UTF-8 with its byte-order mark, for spreadsheets), every
    text cell neutralised against formulas (a CPV label or a year never starts with
    one today, but the labels come from data files)."""
    writer = csv.writer(_Echo())
    yield "\ufeff"
    yield writer.writerow([csv_cell(title) for title in header(table)])
    for row in rows:
        yield writer.writerow([csv_cell(cell) for cell in cells(row)])
