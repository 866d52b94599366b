"""The analysis report of a consultation: PDF (``core.pdf``) and XLSX (openpyxl, one sheet
per lot, numbers as numbers). Points are shown rounded to 0.01 (half up); the ranking
was made on the exact values."""

from __future__ import annotations

import io
from decimal import Decimal

from django.utils.translation import gettext as _
from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]

from mutualis.core.pdf import latin1, text_document
from mutualis.procurement.models import Consultation

from . import scoring, selectors
from .models import Analysis


def _lot_name(analysis: Analysis) -> str:
    if analysis.lot is None:
        return _("Single lot")
    return _("Lot %(number)s — %(title)s") % {
        "number": analysis.lot.number,
        "title": analysis.lot.title,
    }


def _amount(value: Decimal) -> str:
    return f"{scoring.display(value):,.2f}".replace(",", "\u00a0").replace(".", ",")


def pdf(consultation: Consultation, analyses: list[Analysis]) -> bytes:
    lines: list[tuple[str, bool]] = [
        (
            _("Analysis report — %(reference)s %(title)s")
            % {"reference": consultation.reference, "title": consultation.title},
            True,
        ),
        (
            _(
                "Points rounded to 0.01 (half up) for display; the ranking uses the exact"
                " values. Equal totals: the better points on the most heavily weighted"
                " criterion, then the lower price, then ex aequo."
            ),
            False,
        ),
    ]
    for analysis in analyses:
        result = selectors.ranking(analysis)
        lines.append((_lot_name(analysis), True))
        lines.append(
            (
                _("State: %(state)s. Price formula: %(method)s. Scale: 0 to %(scale)s.")
                % {
                    "state": analysis.get_state_display(),
                    "method": analysis.get_price_method_display(),
                    "scale": analysis.scale,
                },
                False,
            )
        )
        lines.append(
            (
                _("Criteria: %(criteria)s")
                % {
                    "criteria": "; ".join(
                        f"{c.label} ({scoring.display(c.weight)})" for c in result.criteria
                    )
                },
                False,
            )
        )
        lines.append((result.low_limit_explained, False))
        if result.missing:
            lines.append(
                (
                    _("Ranking not available: incomplete offers %(references)s.")
                    % {"references": ", ".join(result.missing)},
                    False,
                )
            )
            continue
        for ranked in result.offers:
            points = ", ".join(
                f"{c.label} {scoring.display(p)}"
                for c, p in zip(result.criteria, ranked.points, strict=True)
            )
            text = _(
                "%(rank)s. %(company)s (%(reference)s): %(total)s points; price %(price)s EUR"
                " excl. VAT; %(points)s"
            ) % {
                "rank": ranked.rank,
                "company": ranked.offer.deposit.company.name,
                "reference": ranked.offer.deposit.reference,
                "total": scoring.display(ranked.total),
                "price": _amount(ranked.offer.price or Decimal(0)),
                "points": points,
            }
            if ranked.ex_aequo:
                text += " — " + _("ex aequo")
            if ranked.abnormally_low:
                text += " — " + _("abnormally low price: explanations to request")
            lines.append((text, False))
    return text_document(lines, title=latin1(_("Analysis report")))


def _sheet_title(analysis: Analysis, used: set[str]) -> str:
    base = _("Lot %(number)s") % {"number": analysis.lot.number} if analysis.lot else _("Offers")
    # Excel: at most 31 characters, none of []:*?/\ and unique in the workbook.
    base = "".join(ch for ch in base if ch not in "[]:*?/\\")[:28]
    title, n = base, 2
    while title in used:
        title, n = f"{base} {n}", n + 1
    used.add(title)
    return title


def xlsx(consultation: Consultation, analyses: list[Analysis]) -> bytes:
    workbook = Workbook()
    workbook.remove(workbook.active)
    used: set[str] = set()
    for analysis in analyses:
        result = selectors.ranking(analysis)
        sheet = workbook.create_sheet(_sheet_title(analysis, used))
        sheet.append([consultation.reference, consultation.title])
        sheet.append([_lot_name(analysis), analysis.get_state_display()])
        sheet.append([result.low_limit_explained])
        sheet.append([])
        header = [_("Rank"), _("Company"), _("SIREN"), _("Deposit"), _("Price excl. VAT")]
        header += [f"{c.label} ({scoring.display(c.weight)})" for c in result.criteria]
        header += [_("Total"), _("Ex aequo"), _("Abnormally low")]
        sheet.append(header)
        if result.missing:
            sheet.append([_("Ranking not available: incomplete offers"), *result.missing])
        for ranked in result.offers:
            deposit = ranked.offer.deposit
            sheet.append(
                [
                    ranked.rank,
                    deposit.company.name,
                    deposit.company.siren,
                    deposit.reference,
                    ranked.offer.price,
                    *[scoring.display(p) for p in ranked.points],
                    scoring.display(ranked.total),
                    _("yes") if ranked.ex_aequo else _("no"),
                    _("yes") if ranked.abnormally_low else _("no"),
                ]
            )
            row = sheet.max_row
            for column in range(5, 6 + len(ranked.points) + 1):
                sheet.cell(row=row, column=column).number_format = "#,##0.00"
        for column in range(1, len(header) + 1):
            sheet.column_dimensions[get_column_letter(column)].width = 18
    if not workbook.sheetnames:
        workbook.create_sheet(_("Offers"))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
