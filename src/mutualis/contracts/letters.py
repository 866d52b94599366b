"""The letters of an award as PDF documents and e-mails: the award letter to the winner,
a rejection letter to every other bidder of the lot with the reasons the buyer typed
and, when the lot's analysis of the offers is closed (``evaluation``), the scores
(R2181-3 and R2181-4 of the public procurement code: each rejected bidder learns its own
scores per criterion, total and rank, and the winner's name, scores and amount — the
characteristics and relative advantages of the offer retained; the winner learns its
own scores), or the decision that the lot or the procedure is unsuccessful or
discontinued, to every bidder. Each letter is stored (the
PDF is the letter as sent), attached to the e-mail and shown on the company's page.
Written in French, the buyer's language; the e-mail carries an English version of its
text, as the other notifications do."""

from __future__ import annotations

import io
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from mutualis.companies import selectors as company_selectors
from mutualis.core import pdf
from mutualis.core.files import store as file_store
from mutualis.core.links import absolute_url
from mutualis.core.mail import Attachment, queue_email
from mutualis.evaluation.selectors import CompanyScores
from mutualis.procurement import deadlines

from .models import Award, AwardLetter, LetterKind

OWNER_KIND = "contracts.letter"
PDF = "application/pdf"


def nobody_reads(request: Any, stored_file: Any) -> bool:
    """The generic download view serves no letter: each side reads its letters through
    its own page (the company's first read is recorded)."""
    return False


def euros(amount: Any) -> str:
    whole, _dot, cents = f"{amount:.2f}".partition(".")
    groups: list[str] = []
    while whole:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    return "\u202f".join(groups) + "," + cents + " €"


def _decimal(value: Any, *, places: bool = True) -> str:
    """French decimal comma; ``places`` False: a weight without trailing zeros."""
    text = f"{value:.2f}" if places else f"{value.normalize():f}"
    return text.replace(".", ",")


# A closed analysis' results: per company, and the number of offers ranked.
Scores = tuple[dict[int, CompanyScores], int]


def _score_lines(result: CompanyScores, *, count: int, rank: bool) -> list[tuple[str, bool]]:
    lines = [
        (
            _("%(criterion)s: %(points)s points out of %(weight)s")
            % {
                "criterion": item.label,
                "points": _decimal(item.points),
                "weight": _decimal(item.weight, places=False),
            },
            False,
        )
        for item in result.criteria
    ]
    lines.append(
        (_("Total: %(total)s points out of 100") % {"total": _decimal(result.total)}, False)
    )
    if rank:
        text = _("Rank: %(rank)s of %(count)s offers ranked") % {
            "rank": result.rank,
            "count": count,
        }
        if result.ex_aequo:
            text += " " + _("(ex aequo)")
        lines.append((text, False))
    return lines


def _scores_block(
    award: Award, kind: str, company: Any, scores: Scores | None
) -> list[tuple[str, bool]]:
    """The scores of the closed analysis in an award or rejection letter (R2181-3/-4)."""
    if scores is None:
        return []
    by_company, count = scores
    own = by_company.get(company.pk)
    winner = by_company.get(award.company_id) if award.company_id is not None else None
    lines: list[tuple[str, bool]] = []
    if own is not None:
        lines += [(_("Scores of your offer:"), True)]
        lines += _score_lines(own, count=count, rank=True)
    if kind == LetterKind.REJECTION and winner is not None:
        lines += [
            (
                _("Scores of the offer retained, from %(winner)s:")
                % {"winner": winner.company_name},
                True,
            )
        ]
        lines += _score_lines(winner, count=count, rank=False)
    return lines


def _subject_of(award: Award) -> str:
    consultation = award.consultation
    if award.lot_id is None:
        return _("%(reference)s — %(title)s") % {
            "reference": consultation.reference,
            "title": consultation.title,
        }
    lot = award.lot
    assert lot is not None  # noqa: S101 (lot_id checked above)
    return _("%(reference)s — %(title)s, lot %(number)s: %(lot)s") % {
        "reference": consultation.reference,
        "title": consultation.title,
        "number": lot.number,
        "lot": lot.title,
    }


def _lines(
    award: Award, kind: str, company: Any, *, late: bool, scores: Scores | None = None
) -> list[tuple[str, bool]]:
    consultation = award.consultation
    buyer = consultation.organisation.name
    date_text = deadlines.display(award.notified_at)
    lines: list[tuple[str, bool]] = [
        (buyer, True),
        (_("Sent through the platform on %(date)s") % {"date": date_text}, False),
        ("", False),
        (
            _("To: %(name)s (SIREN %(siren)s)") % {"name": company.name, "siren": company.siren},
            False,
        ),
        (_("Consultation: %(subject)s") % {"subject": _subject_of(award)}, False),
        ("", False),
    ]
    if kind == LetterKind.AWARD:
        lines += [
            (_("Award letter"), True),
            (
                _(
                    "Your offer is accepted, for %(amount)s excluding VAT. The contract will be "
                    "signed and notified to you through the platform."
                )
                % {"amount": euros(award.amount)},
                False,
            ),
        ]
        lines += _scores_block(award, kind, company, scores)
        if award.standstill_ends_on:
            lines.append(
                (
                    _(
                        "The standstill period before signature (article R2182-1 of the public "
                        "procurement code) ends on %(date)s."
                    )
                    % {"date": award.standstill_ends_on.strftime("%d/%m/%Y")},
                    False,
                )
            )
    elif kind == LetterKind.REJECTION:
        lines += [
            (_("Rejection letter"), True),
            (
                _(
                    "Your offer is not accepted. The contract is awarded to %(winner)s, for "
                    "%(amount)s excluding VAT."
                )
                % {"winner": getattr(award.company, "name", ""), "amount": euros(award.amount)},
                False,
            ),
        ]
        if late:
            lines.append(
                (
                    _(
                        "Your offer was received after the deadline: it was eliminated (article "
                        "R2151-5 of the public procurement code)."
                    ),
                    False,
                )
            )
        lines += [(_("Reasons:"), True), (award.reasons, False)]
        lines += _scores_block(award, kind, company, scores)
        if award.standstill_ends_on:
            lines.append(
                (
                    _(
                        "The contract will not be signed before the end of the standstill "
                        "period, on %(date)s (article R2182-1 of the public procurement code). "
                        "Until then you may bring a pre-contractual referral before the "
                        "administrative court."
                    )
                    % {"date": award.standstill_ends_on.strftime("%d/%m/%Y")},
                    False,
                )
            )
    else:
        title = (
            _("Procedure declared unsuccessful")
            if kind == LetterKind.UNSUCCESSFUL
            else _("Procedure discontinued")
        )
        lines += [(title, True), (_("Reasons:"), True), (award.reasons, False)]
    lines += [
        ("", False),
        (
            _("This letter is kept on your company's page on %(platform)s.")
            % {"platform": settings.MUTUALIS_PLATFORM_NAME},
            False,
        ),
    ]
    return lines


def kind_for(award: Award, company_id: int) -> str:
    if award.outcome == "awarded":
        return LetterKind.AWARD if company_id == award.company_id else LetterKind.REJECTION
    return LetterKind.UNSUCCESSFUL if award.outcome == "unsuccessful" else LetterKind.DISCONTINUED


def make_letter(
    award: Award, company: Any, *, late: bool, scores: Scores | None = None
) -> AwardLetter:
    """Write the letter to ``company`` (PDF stored), inside the caller's transaction;
    ``scores``: the lot's closed analysis, when there is one."""
    kind = kind_for(award, company.pk)
    with translation.override("fr"):
        content = pdf.text_document(
            _lines(award, kind, company, late=late, scores=scores), title=_subject_of(award)
        )
        name = f"{kind}-{award.consultation.reference}-{award.pk}-{company.siren}.pdf"
    stored = file_store.store_file(
        file=io.BytesIO(content),
        name=name,
        owner_kind=OWNER_KIND,
        owner_ref=str(award.pk),
        allowed_types=frozenset({PDF}),
    )
    return AwardLetter.for_organisation.create(
        organisation_id=award.organisation_id,
        award=award,
        company=company,
        kind=kind,
        pdf=stored,
        sent_at=award.notified_at or timezone.now(),
    )


def recipients(company_id: int, depositor_email: str | None) -> list[str]:
    """The representative who deposited the offer, and the company's active
    administrators (as the admission decisions)."""
    return company_selectors.notified_emails(company_id, depositor_email)


def mail_letter(
    letter: AwardLetter, award: Award, company: Any, depositor_email: str | None
) -> None:
    page = absolute_url(reverse("company_contracts:home", kwargs={"company": company.siren}))
    subjects, bodies = [], []
    for language in ("fr", "en"):
        with translation.override(language):
            subjects.append(
                _("%(kind)s: %(subject)s")
                % {"kind": letter.get_kind_display().capitalize(), "subject": _subject_of(award)}
            )
            bodies.append(
                _(
                    "Hello,\n\n%(buyer)s sends you the letter attached about %(subject)s. It is "
                    "also kept on your company's page: %(url)s\n\n%(platform)s"
                )
                % {
                    "buyer": award.consultation.organisation.name,
                    "subject": _subject_of(award),
                    "url": page,
                    "platform": settings.MUTUALIS_PLATFORM_NAME,
                }
            )
    with file_store.open_stored_file(letter.pdf) as handle:  # type: ignore[arg-type]
        content = handle.read()
    attachment = Attachment(letter.pdf.original_name, PDF, content)  # type: ignore[union-attr]
    for to in recipients(company.pk, depositor_email):
        queue_email(
            to=to,
            subject=subjects[0],
            body_text=bodies[0] + "\n\n---- English ----\n\n" + bodies[1] + "\n",
            attachments=[attachment],
        )
