"""Where the procurement context reads across members, each saying why
(``registry.crossing``). ``scopes_disabled()`` appears only in modules named
``crossings.py`` (a test checks it).

What a member published is public: the portal lists every member's published
consultations, and the page of each one shows its lots and criteria. These crossings
read the published states only (``PUBLIC_STATES``), never a draft or a scheduled one, and
hand out evaluated rows. The lists skip the operator's test consultation
(``simulation.py``); its own page, files and deposits stay reachable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Prefetch
from django_scopes import scopes_disabled

from mutualis.core.api.pagination import changes_since
from mutualis.core.registry import crossing

from .models import (
    PUBLIC_STATES,
    AwardCriterion,
    CancellationKind,
    Consultation,
    ConsultationArchive,
    ConsultationDocument,
    GroupParticipation,
    LibraryProposal,
    Lot,
    Rectification,
    State,
)
from .search import MAX_ID, ConsultationSearch, QuerysetReader, Reader, Results
from .search import apply as search_apply
from .search import ordered as search_ordered
from .search import results as search_results
from .search_sql import SqlReader
from .vocabulary import Procedure

PER_PAGE = 20
# What a list of search results shows (the portal's rows, the API's items), read as
# plain values: a model instance per row, with the whole row and its buyer, cost more
# than the page's query (bench/RESULTS.md, procurement search).
LIST_COLUMNS = (
    "pk",
    "reference",
    "title",
    "object",
    "procedure",
    "category",
    "main_cpv",
    "additional_cpv",
    "estimated_value",
    "state",
    "published_at",
    "questions_deadline",
    "response_deadline",
    "cancellation_kind",
    "updated_at",
    "organisation__slug",
    "organisation__name",
)
_PROCEDURES = dict(Procedure.choices)
_CANCELLATIONS = dict(CancellationKind.choices)


@dataclass(frozen=True, slots=True)
class Buyer:
    slug: str
    name: str


class ListedConsultation:
    """A consultation in a list of search results: the columns of ``LIST_COLUMNS``, with
    what the templates and the API ask of a ``Consultation`` (``is_open``, the labels)."""

    __slots__ = (*(c for c in LIST_COLUMNS if not c.startswith("organisation__")), "organisation")

    def __init__(self, *values: Any) -> None:
        for name, value in zip(self.__slots__[:-1], values, strict=False):
            object.__setattr__(self, name, value)
        self.organisation = Buyer(slug=values[-2], name=values[-1])

    @property
    def id(self) -> int:
        return int(self.pk)  # type: ignore[attr-defined]

    def is_open(self, now: datetime) -> bool:
        """As ``Consultation.is_open``: computed from the deadline at read time."""
        deadline: datetime = self.response_deadline  # type: ignore[attr-defined]
        return bool(self.state == State.PUBLISHED and now < deadline)  # type: ignore[attr-defined]

    def get_procedure_display(self) -> str:
        procedure: str = self.procedure  # type: ignore[attr-defined]
        return str(_PROCEDURES.get(procedure, procedure))

    def get_cancellation_kind_display(self) -> str:
        kind: str = self.cancellation_kind  # type: ignore[attr-defined]
        return str(_CANCELLATIONS.get(kind, kind))

    def __repr__(self) -> str:
        return f"<ListedConsultation {self.pk}>"  # type: ignore[attr-defined]


def public_search_reader(search: ConsultationSearch, *, now: datetime) -> Reader:
    """What reads the public consultations matching ``search``: SQL written for
    PostgreSQL (``search_sql``), the ORM elsewhere. Use within ``scopes_disabled``."""
    if connection.vendor == "postgresql":
        return SqlReader(search, now, LIST_COLUMNS)
    rows = Consultation.objects.filter(state__in=PUBLIC_STATES, parent__isnull=True, is_test=False)
    return QuerysetReader(search_apply(rows, search, now=now), search, LIST_COLUMNS)


@crossing
def public_search_page(
    search: ConsultationSearch,
    *,
    now: datetime,
    page: Any = 1,
    per_page: int | None = None,
    reader: Reader | None = None,
) -> Results:
    """The public portal and the API list the published consultations of every member:
    public facts, narrowed and sorted as a visitor asked (``search``). ``reader``: the
    one of ``public_search_reader`` unless given (a test compares both)."""
    with scopes_disabled():
        return search_results(
            reader or public_search_reader(search, now=now),
            search,
            page=page,
            per_page=per_page or PER_PAGE,
            make=ListedConsultation,
        )


@crossing
def public_search_latest(
    search: ConsultationSearch, *, now: datetime, limit: int
) -> list[Consultation]:
    """The Atom feed of a search: its latest published consultations (newest first),
    public facts, uncounted."""
    with scopes_disabled():
        rows = Consultation.objects.filter(
            state__in=PUBLIC_STATES, parent__isnull=True, is_test=False
        )
        rows = rows.select_related("organisation")
        matching = search_apply(rows, search, now=now)
        return list(search_ordered(matching, search, "recent")[:limit])


@crossing
def public_consultation_changes(*, cursor: str | None, limit: int) -> dict[str, Any]:
    """The API's change feed: published consultations of every member, oldest
    modification first, for a program keeping a copy of the public facts."""
    with scopes_disabled():
        rows = Consultation.objects.filter(
            state__in=PUBLIC_STATES, parent__isnull=True, is_test=False
        )
        rows = rows.select_related("organisation")
        return changes_since(rows, cursor=cursor, limit=limit, scope="consultations")


def _with_lots_and_criteria(consultation_id: int, **conditions: Any) -> Consultation | None:
    if not 0 < consultation_id <= MAX_ID:
        return None  # no database holds it
    with scopes_disabled():
        consultation = (
            Consultation.objects.filter(pk=consultation_id, state__in=PUBLIC_STATES, **conditions)
            .select_related("organisation")
            .prefetch_related(
                Prefetch("lots", queryset=Lot.objects.order_by("number")),
                Prefetch("criteria", queryset=AwardCriterion.objects.order_by("position", "pk")),
            )
            .first()
        )
        if consultation is not None:
            # Read now, while the scopes are off: the page renders them afterwards.
            list(consultation.lots.all())
            list(consultation.criteria.all())
        return consultation


@crossing
def public_consultation(consultation_id: int) -> Consultation | None:
    """The public page of one published consultation, with its lots and criteria: what
    its buyer published for every business to read (never an offer phase, which is its
    invited companies' only)."""
    return _with_lots_and_criteria(consultation_id, parent__isnull=True)


@crossing
def depositable_consultation(consultation_id: int, company_ids: list[int]) -> Consultation | None:
    """A consultation the companies ``company_ids`` may deposit on: a published one,
    or an offer phase that invites one of them (``phases``)."""
    consultation = _with_lots_and_criteria(consultation_id)
    if consultation is None or consultation.parent_id is None:
        return consultation
    with scopes_disabled():
        if consultation.invited_companies.filter(pk__in=company_ids).exists():
            return consultation
    return None


@crossing
def logged_consultation(consultation_id: int) -> Consultation | None:
    """A consultation whose public deposit log may be read: a published one, or the
    offer phase of one (its root and count are published once its deadline passed, on
    the first phase's page)."""
    return _with_lots_and_criteria(consultation_id)


# A procedure's chain is a handful of consultations (``rounds.MAX_CHAIN``).
MAX_CHAIN = 100


def _descendants(consultation_id: int) -> list[Consultation]:
    """The public consultations after ``consultation_id`` in its procedure's chain (its
    offer phase, its negotiation rounds), in order; call with the scopes off."""
    found: list[Consultation] = []
    current = consultation_id
    for _step in range(MAX_CHAIN):
        child = (
            Consultation.objects.filter(parent_id=current, state__in=PUBLIC_STATES)
            .select_related("organisation")
            .first()
        )
        if child is None:
            break
        found.append(child)
        current = child.pk
    return found


@crossing
def first_of_procedure(consultation_id: int) -> int:
    """The first consultation of the procedure of ``consultation_id`` (itself when it
    has no parent): an invited company's way back from an offer phase or a round to
    the public page. Identifiers only."""
    current = consultation_id
    with scopes_disabled():
        for _step in range(MAX_CHAIN):
            parent_id = (
                Consultation.objects.filter(pk=current).values_list("parent_id", flat=True).first()
            )
            if not parent_id:
                break
            current = int(parent_id)
    return current


@crossing
def public_later_phases(consultation_id: int) -> list[Consultation]:
    """The offer phase and the negotiation rounds after a published first consultation,
    in order, for the public deposit log on its page: their deadlines, never whom they
    invite."""
    with scopes_disabled():
        published = Consultation.objects.filter(
            pk=consultation_id, state__in=PUBLIC_STATES, parent__isnull=True
        ).exists()
        return _descendants(consultation_id) if published else []


@crossing
def offer_phase_invitations(consultation_id: int, company_ids: list[int]) -> Consultation | None:
    """The latest consultation after ``consultation_id`` in its procedure's chain (its
    offer phase, a negotiation round) that invites one of ``company_ids``: their
    representatives' way to their current invitation from an earlier one's page."""
    with scopes_disabled():
        invited = [
            child
            for child in _descendants(consultation_id)
            if child.invited_companies.filter(pk__in=company_ids).exists()
        ]
        return invited[-1] if invited else None


@crossing
def public_buyers() -> list[tuple[str, str]]:
    """The members that published at least one consultation, for the portal's buyer
    filter: (slug, name), public facts."""
    with scopes_disabled():
        return list(
            Consultation.objects.filter(state__in=PUBLIC_STATES, parent__isnull=True, is_test=False)
            .values_list("organisation__slug", "organisation__name")
            .distinct()
            .order_by("organisation__name")
        )


@crossing
def recent_public_consultations_of(organisation_id: int, *, limit: int = 10) -> list[Consultation]:
    """A member's public page in the directory lists its latest published consultations
    (its buyer profile): public facts."""
    with scopes_disabled():
        return list(
            Consultation.objects.filter(
                organisation_id=organisation_id,
                state__in=PUBLIC_STATES,
                parent__isnull=True,
                is_test=False,
            ).order_by("-published_at", "-pk")[:limit]
        )


@crossing
def due_consultations(*, now: datetime) -> list[tuple[int, int]]:
    """The periodic job finds, across every member, the consultations whose planned
    publication or deadline has come (``next_check``): identifiers only; each is then
    moved inside its own member's scope."""
    with scopes_disabled():
        return list(
            Consultation.objects.filter(next_check__lte=now)
            .order_by("next_check", "pk")
            .values_list("pk", "organisation_id")
        )


# --- Group purchasing (groups.py) ------------------------------------------------------------
#
# A participation row is the participant's (its ``organisation``); the coordinator's
# consultation is the coordinator's. Each side reads the other's rows only here.


@crossing
def group_of(*, consultation_id: int, coordinator_id: int) -> list[GroupParticipation]:
    """The coordinator manages the group of its own consultation: the participation rows
    (the participants' rows) that point at it, with each participant's name. Nothing is
    returned for a consultation of another member."""
    with scopes_disabled():
        return list(
            GroupParticipation.objects.filter(
                consultation_id=consultation_id, consultation__organisation_id=coordinator_id
            )
            .select_related("organisation")
            .order_by("organisation__name", "pk")
        )


@crossing
def public_group_members(consultation_id: int) -> list[GroupParticipation]:
    """A published group purchase names its members and their shares on its public page:
    public facts, as the consultation documents state them."""
    with scopes_disabled():
        return list(
            GroupParticipation.objects.filter(
                consultation_id=consultation_id,
                consultation__state__in=PUBLIC_STATES,
                consultation__parent__isnull=True,
            )
            .select_related("organisation")
            .order_by("organisation__name", "pk")
        )


@crossing
def public_consultations_among(consultation_ids: list[int]) -> list[Consultation]:
    """A participant reads the group purchases it takes part in (the identifiers come from
    its own participation rows) as the public reads them: published states only, never
    the coordinator's draft."""
    with scopes_disabled():
        return list(
            Consultation.objects.filter(
                pk__in=consultation_ids, state__in=PUBLIC_STATES, parent__isnull=True
            )
            .select_related("organisation")
            .order_by("-published_at", "-pk")
        )


@crossing
def public_group_purchases_of(organisation_id: int, *, limit: int = 10) -> list[Consultation]:
    """A member's buyer profile (its page in the directory) lists the published group
    purchases it takes part in, which another member coordinates: public facts."""
    with scopes_disabled():
        return list(
            Consultation.objects.filter(
                participations__organisation_id=organisation_id,
                state__in=PUBLIC_STATES,
                parent__isnull=True,
            )
            .select_related("organisation")
            .order_by("-published_at", "-pk")[:limit]
        )


# --- The clause library (library.py) ----------------------------------------------------------


@crossing
def library_proposals_for_operator(*, state: str = "") -> list[LibraryProposal]:
    """Operator staff review the clauses members proposed for the shared library: the
    proposals (text, kind, note) and the proposing member's name, nothing else of it."""
    with scopes_disabled():
        rows = LibraryProposal.objects.select_related("organisation", "entry")
        if state:
            rows = rows.filter(state=state)
        return list(rows.order_by("-created_at", "-pk")[:200])


@crossing
def library_proposal_for_operator(pk: int) -> LibraryProposal | None:
    """One proposal a member sent to the library, for operator staff to decide on."""
    with scopes_disabled():
        return LibraryProposal.objects.select_related("organisation", "entry").filter(pk=pk).first()


@crossing
def public_documents(
    consultation_id: int,
) -> tuple[list[ConsultationDocument], list[Rectification]]:
    """The files (current and withdrawn) and the rectifications of a published
    consultation: what its buyer published, every version of it, for anyone to read
    and download. Empty for a consultation that is not public."""
    with scopes_disabled():
        documents = list(
            ConsultationDocument.objects.filter(
                consultation_id=consultation_id,
                consultation__state__in=PUBLIC_STATES,
                consultation__parent__isnull=True,
            )
            .select_related("file")
            .order_by("added_in_version", "added_at", "pk")
        )
        rectifications = list(
            Rectification.objects.filter(
                consultation_id=consultation_id,
                consultation__state__in=PUBLIC_STATES,
                consultation__parent__isnull=True,
            ).order_by("number")
        )
        return documents, rectifications


@crossing
def public_document(consultation_id: int, document_id: int) -> ConsultationDocument | None:
    """One file of a published consultation, current or withdrawn (the history keeps
    it downloadable): free, direct and complete download for anyone."""
    with scopes_disabled():
        return (
            ConsultationDocument.objects.filter(
                pk=document_id,
                consultation_id=consultation_id,
                consultation__state__in=PUBLIC_STATES,
                consultation__parent__isnull=True,
            )
            .select_related("file", "consultation")
            .first()
        )


@crossing
def is_public_document_file(stored_file_id: Any) -> bool:
    """The file store's download view asks whether a stored file is a file of a
    published consultation: then anyone may read it."""
    with scopes_disabled():
        return ConsultationDocument.objects.filter(
            file_id=stored_file_id,
            consultation__state__in=PUBLIC_STATES,
            consultation__parent__isnull=True,
        ).exists()


@crossing
def public_archive(consultation_id: int, *, version: int) -> ConsultationArchive | None:
    """The stored ZIP of a published consultation's files, if it holds ``version`` (the
    current one): the same files anyone downloads one by one, in one archive."""
    with scopes_disabled():
        return (
            ConsultationArchive.objects.filter(
                consultation_id=consultation_id,
                consultation__state__in=PUBLIC_STATES,
                consultation__parent__isnull=True,
                version=version,
            )
            .select_related("file")
            .first()
        )


@crossing
def is_public_archive_file(stored_file_id: Any) -> bool:
    """The file store's download view asks whether a stored file is the archive of a
    published consultation: then anyone may read it."""
    with scopes_disabled():
        return ConsultationArchive.objects.filter(
            file_id=stored_file_id,
            consultation__state__in=PUBLIC_STATES,
            consultation__parent__isnull=True,
        ).exists()


@crossing
def consultations_to_archive() -> list[tuple[int, int]]:
    """(id, member) of every public consultation with files whose current version has no
    stored archive: what the archiving job (or the demo) still has to write, each
    inside its own member afterwards. Published states only, ids and keys only."""
    from django.db.models import Exists, OuterRef

    with scopes_disabled():
        archived = ConsultationArchive.objects.filter(
            consultation=OuterRef("pk"), version=OuterRef("version")
        )
        has_files = ConsultationDocument.objects.filter(
            consultation=OuterRef("pk"), withdrawn_in_version__isnull=True
        )
        rows = (
            Consultation.objects.filter(state__in=PUBLIC_STATES, parent__isnull=True)
            .filter(Exists(has_files))
            .exclude(Exists(archived))
            .order_by("pk")
            .values_list("pk", "organisation_id")
        )
        return [(int(pk), int(organisation_id)) for pk, organisation_id in rows]


@crossing
def public_answers(consultation_id: int) -> list[Any]:
    """The answers and information a buyer published on a public consultation, for its
    public page: public facts (the question as published, never who asked)."""
    from .models import Answer

    with scopes_disabled():
        return list(
            Answer.objects.filter(
                consultation_id=consultation_id,
                consultation__state__in=PUBLIC_STATES,
                consultation__parent__isnull=True,
            ).order_by("published_at", "pk")
        )


# --- Alerts ------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertNotice:
    """A published consultation as alerts read it: what matching needs (``notice``) and
    what an e-mail or a feed shows."""

    notice: Any  # alert_matching.Notice
    reference: str
    title: str
    buyer_name: str
    published_at: datetime
    response_deadline: datetime


@crossing
def alert_notices(
    *,
    consultation_ids: list[int] | None = None,
    published_after: datetime | None = None,
    published_until: datetime | None = None,
    states: list[str] | None = None,
    latest: int | None = None,
) -> list[AlertNotice]:
    """Alerts match the consultations every member published (public facts): the one
    just published, those of a digest's window, or the latest ones for a feed. Four
    queries whatever their number: the consultations with their buyers, their lots'
    codes, the départements their buyers span."""
    from mutualis.core.models import Organisation

    from .alert_matching import Notice

    with scopes_disabled():
        rows = Consultation.objects.filter(state__in=states or [State.PUBLISHED])
        if consultation_ids is not None:
            rows = rows.filter(pk__in=consultation_ids)
        if published_after is not None:
            rows = rows.filter(published_at__gt=published_after)
        if published_until is not None:
            rows = rows.filter(published_at__lte=published_until)
        rows = rows.order_by("-published_at", "-pk")
        fields = (
            "pk",
            "reference",
            "title",
            "search_text",
            "main_cpv",
            "additional_cpv",
            "procedure",
            "category",
            "published_at",
            "response_deadline",
            "organisation_id",
            "organisation__slug",
            "organisation__name",
            "organisation__kind",
            "organisation__insee_code",
            "organisation__departement__insee_code",
        )
        values = list(rows.values_list(*fields)[:latest] if latest else rows.values_list(*fields))
        ids = [v[0] for v in values]
        lot_codes: dict[int, list[str]] = {}
        for consultation_id, codes in Lot.objects.filter(consultation_id__in=ids).values_list(
            "consultation_id", "cpv_codes"
        ):
            lot_codes.setdefault(consultation_id, []).extend(codes or [])
        spanned: dict[int, set[str]] = {}
        through = Organisation.departements_spanned.through
        for organisation_id, code in through.objects.filter(
            from_organisation_id__in={v[10] for v in values}
        ).values_list("from_organisation_id", "to_organisation__insee_code"):
            spanned.setdefault(organisation_id, set()).add(code)
    found = []
    for v in values:
        departements = set(spanned.get(v[10], ()))
        if v[13] == "departement" and v[14]:
            departements.add(v[14])
        if v[15]:
            departements.add(v[15])
        codes = tuple(dict.fromkeys([v[4], *(v[5] or []), *lot_codes.get(v[0], [])]))
        found.append(
            AlertNotice(
                notice=Notice(
                    id=v[0],
                    text=v[3],
                    cpv_codes=codes,
                    departements=frozenset(departements),
                    procedure=v[6],
                    category=v[7],
                    buyer=v[11],
                ),
                reference=v[1],
                title=v[2],
                buyer_name=v[12],
                published_at=v[8],
                response_deadline=v[9],
            )
        )
    return found


# --- The operator's test consultation (simulation.py) -------------------------------


@crossing
def operator_id() -> int | None:
    """The test consultation belongs to the operator's organisation, found by its kind
    (one on an instance): its identifier."""
    from mutualis.core.models import Organisation
    from mutualis.core.models.organisations import OrganisationKind

    return (
        Organisation.objects.filter(kind=OrganisationKind.OPERATOR)
        .values_list("pk", flat=True)
        .first()
    )


@crossing
def simulation_consultation() -> Consultation | None:
    """The instance's one test consultation (the operator's), read wherever a company
    simulates a deposit or the probe deposits: public by nature."""
    with scopes_disabled():
        return Consultation.objects.filter(is_test=True).select_related("organisation").first()
