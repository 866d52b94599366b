"""Questions and answers on a published consultation, and what identified downloaders
are told by e-mail.

- An identified downloader whose address is confirmed (in this browser) asks until the
  deadline for questions; a suspended company cannot ask. The buyers of the member are
  mailed a link to the consultation in their organisation. Questions are counted per
  register line (``MUTUALIS_QUESTION_RATE_PER_DOWNLOADER``): each one mails the buyers.
- A buyer (role ``buyer``, active subscription) publishes an answer to a question, or
  information without one. The answer is sanitised like the description
  (``text.sanitise``) and shown to everyone on the public page, with the question as the
  buyer published it and never who asked.
- Every confirmed downloader of the consultation is mailed when an answer is published
  and when a rectification is (``signals.rectification_published``), by a background
  job (``tasks.notify_downloaders``) that the buyer's request only enqueues. The job may
  run twice: ``DownloaderNotice`` lets each e-mail go once.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.html import linebreaks
from django_scopes import scope

from mutualis.companies.models import CompanyStatus
from mutualis.core import audit
from mutualis.core.links import absolute_url
from mutualis.core.ratelimit import Limit, take
from mutualis.identity.models import Membership

from . import errors
from .downloaders import PUBLIC_ACTOR, Identification, public_url, queue_mail
from .models import Answer, Consultation, Downloader, DownloaderNotice, Question, State
from .services import require_buyer
from .text import sanitise

QUESTION_MAX_LENGTH = 4000
ANSWER = "answer"
RECTIFICATION = "rectification"


def _buyers_addresses(organisation_id: int) -> list[str]:
    """The active buyers of the member, inside its scope."""
    return sorted(
        set(
            Membership.objects.filter(
                organisation_id=organisation_id, is_active=True, roles__code="buyer"
            ).values_list("user__email", flat=True)
        )
    )


@transaction.atomic(durable=True)
def _ask(*, found: Identification, text: str, request_context: dict[str, Any] | None) -> Question:
    now = timezone.now()
    consultation = (
        Consultation.objects.select_for_update()
        .select_related("organisation")
        .get(pk=found.consultation_id, organisation_id=found.organisation_id)
    )
    if consultation.state != State.PUBLISHED or now >= consultation.questions_deadline:
        raise errors.QuestionsClosed()
    downloader = (
        Downloader.for_organisation.filter(
            pk=found.downloader_id,
            organisation_id=found.organisation_id,
            consultation_id=consultation.pk,
        )
        .select_related("company")
        .first()
    )
    if downloader is None:
        raise errors.NotIdentified()
    if not downloader.is_confirmed or not found.confirmed:
        raise errors.EmailNotConfirmed()
    if downloader.company is not None and downloader.company.status == CompanyStatus.SUSPENDED:
        raise errors.CompanySuspended()
    question = Question.objects.create(
        organisation_id=found.organisation_id,
        consultation=consultation,
        downloader=downloader,
        text=text,
    )
    audit.record(
        actor=downloader.user if downloader.via_account and downloader.user else PUBLIC_ACTOR,
        organisation=consultation.organisation,
        action="question.asked",
        target=question,
        payload={"consultation": consultation.pk, "downloader": downloader.pk},
        **(request_context or {}),
    )
    link = absolute_url(
        reverse(
            "procurement:detail",
            kwargs={"org": consultation.organisation.slug, "pk": consultation.pk},
        )
        + "#questions"
    )
    for address in _buyers_addresses(found.organisation_id):
        queue_mail(
            to=address,
            template="question_asked",
            context={"consultation": consultation, "link": link},
        )
    return question


def ask_question(
    *,
    found: Identification | None,
    text: str,
    request_context: dict[str, Any] | None = None,
) -> Question:
    """The browser's identified downloader asks the buyer a question.

    Raises ``NotIdentified``, ``EmailNotConfirmed``, ``QuestionsClosed`` (deadline passed
    or the consultation no longer published), ``CompanySuspended`` or
    ``QuestionLimitReached``."""
    if found is None:
        raise errors.NotIdentified()
    if not found.confirmed:
        raise errors.EmailNotConfirmed()
    text = text.strip()[:QUESTION_MAX_LENGTH]
    with scope(organisation=found.organisation_id):
        # Counted only once the rules allow the question: a refused one costs nothing.
        _check_open(found)
        limit = Limit(
            "question-downloader",
            str(found.downloader_id),
            settings.MUTUALIS_QUESTION_RATE_PER_DOWNLOADER,
        )
        if take([limit]) is not None:
            raise errors.QuestionLimitReached()
        return _ask(found=found, text=text, request_context=request_context)


def _check_open(found: Identification) -> None:
    consultation = Consultation.objects.filter(
        pk=found.consultation_id, organisation_id=found.organisation_id
    ).first()
    if consultation is None:
        raise errors.NotIdentified()
    if consultation.state != State.PUBLISHED or timezone.now() >= consultation.questions_deadline:
        raise errors.QuestionsClosed()


@transaction.atomic(durable=True)
def publish_answer(
    *,
    actor: Any,
    consultation_id: int,
    body: str,
    question_id: int | None = None,
    question_text: str = "",
    request_context: dict[str, Any] | None = None,
) -> Answer:
    """A buyer publishes an answer to a question, or information without one (no
    ``question_id``), to everyone; the confirmed downloaders are mailed in the
    background."""
    require_buyer(actor)
    consultation = Consultation.objects.select_for_update().get(
        pk=consultation_id, organisation_id=actor.organisation_id
    )
    if consultation.state != State.PUBLISHED:
        raise errors.AnswersClosed()
    # Plain text (no tag) keeps its paragraphs and line breaks.
    html = sanitise(body if "<" in body else linebreaks(body, autoescape=True))
    if not html:
        raise errors.AnswerEmpty()
    question = None
    if question_id is not None:
        question = Question.objects.filter(
            pk=question_id, organisation_id=actor.organisation_id, consultation=consultation
        ).first()
        if question is None:
            raise Question.DoesNotExist
        if Answer.objects.filter(organisation_id=actor.organisation_id, question=question).exists():
            raise errors.QuestionAlreadyAnswered()
        question_text = question_text.strip() or question.text
    try:
        with transaction.atomic():
            answer = Answer.objects.create(
                organisation_id=actor.organisation_id,
                consultation=consultation,
                question=question,
                question_text=question_text.strip()[:QUESTION_MAX_LENGTH],
                body=html,
            )
    except IntegrityError:
        raise errors.QuestionAlreadyAnswered() from None
    audit.record(
        actor=actor,
        organisation=consultation.organisation,
        action="answer.published",
        target=answer,
        payload={"consultation": consultation.pk, "question": question_id},
        **(request_context or {}),
    )
    organisation_id = actor.organisation_id

    def enqueue() -> None:
        from .tasks import notify_downloaders

        notify_downloaders.enqueue(
            consultation_id=consultation_id,
            organisation_id=organisation_id,
            kind=ANSWER,
            reference=answer.pk,
        )

    transaction.on_commit(enqueue)
    return answer


# --- Telling the identified downloaders ---------------------------------------------------


def notify_downloaders(
    *, consultation_id: int, organisation_id: int, kind: str, reference: int
) -> int:
    """Mail every confirmed downloader of the consultation that an answer or a
    rectification was published, each once; the number mailed now."""
    if kind not in (ANSWER, RECTIFICATION):
        raise ValueError(kind)
    anchor = f"{kind}-{reference}"
    sent = 0
    with scope(organisation=organisation_id):
        consultation = Consultation.objects.filter(
            pk=consultation_id, organisation_id=organisation_id
        ).first()
        if consultation is None:
            return 0
        ids = list(
            Downloader.for_organisation.filter(
                organisation_id=organisation_id,
                consultation_id=consultation_id,
                confirmed_at__isnull=False,
            )
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        link = public_url(consultation_id, anchor)
        for downloader_id in ids:
            sent += _notify_one(
                consultation=consultation, downloader_id=downloader_id, kind=kind,
                reference=reference, link=link,
            )  # fmt: skip
    return sent


@transaction.atomic
def _notify_one(
    *, consultation: Consultation, downloader_id: int, kind: str, reference: int, link: str
) -> int:
    downloader = Downloader.for_organisation.filter(
        pk=downloader_id, organisation_id=consultation.organisation_id
    ).first()
    if downloader is None or downloader.confirmed_at is None:
        return 0
    _notice, created = DownloaderNotice.objects.get_or_create(
        organisation_id=consultation.organisation_id,
        downloader=downloader,
        kind=kind,
        reference=reference,
    )
    if not created:
        return 0
    queue_mail(
        to=downloader.email,
        template=f"downloader_{kind}",
        context={"consultation": consultation, "link": link},
    )
    return 1


def on_rectification_published(
    sender: Any,
    *,
    consultation_id: int,
    organisation_id: int,
    rectification_id: int,
    **kwargs: Any,
) -> None:
    """Receiver of ``signals.rectification_published`` (after the commit): the mails
    go from a job, never in the buyer's request."""
    from .tasks import notify_downloaders

    notify_downloaders.enqueue(
        consultation_id=consultation_id,
        organisation_id=organisation_id,
        kind=RECTIFICATION,
        reference=rectification_id,
    )


# --- Reading -----------------------------------------------------------------------------


def questions_of(*, organisation_id: int, consultation_id: int) -> list[Question]:
    """The buyer's questions of a consultation, with who asked and their answer."""
    return list(
        Question.objects.filter(organisation_id=organisation_id, consultation_id=consultation_id)
        .select_related("downloader", "downloader__company", "answer")
        .order_by("asked_at", "pk")
    )


def answers_of(*, organisation_id: int, consultation_id: int) -> list[Answer]:
    return list(
        Answer.objects.filter(
            organisation_id=organisation_id, consultation_id=consultation_id
        ).order_by("published_at", "pk")
    )
