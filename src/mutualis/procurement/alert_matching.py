"""The rules of an alert: which published consultations a saved search matches.

Pure functions over plain values, no database: the delivery (``alerts.py``) reads the
alerts' compact criteria once and the new consultations once, then matches in memory.

An alert's criteria are those of the portal (``notes``: the shared search parameters):
each criterion it states must hold (AND between criteria), and within one criterion any
value may (OR): a consultation matches "CPV 45 or 50, in the Côte-d'Or" when one of its
codes (main, additional, lots) starts with 45 or 50 and its buyer is in département 21.
Words are matched as the folded search of ``core.search`` does (SQLite's portal): every
word folded (accents and case ignored) must be contained in the consultation's folded
text, a ``-word`` must not be; quotes and ``or`` are not read. An alert with no criterion
matches nothing (the services refuse to save one).

Matching 275 consultations against 100,000 alerts pair by pair is 27.5 million tests;
:class:`NoticeIndex` instead indexes the day's consultations by each criterion's values
(CPV prefixes of every length, départements, procedures, categories, buyers, and each
word once), so that an alert costs a few set intersections over small sets of ids.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from mutualis.core.search import fold, query_words

CPV_MIN_PREFIX = 2
CPV_MAX_PREFIX = 8


@dataclass(frozen=True, slots=True)
class Notice:
    """What an alert reads of a published consultation."""

    id: int
    text: str  # folded (core.search.fold): reference, title, object, description
    cpv_codes: tuple[str, ...]  # 8 digits: main, additional, every lot's
    departements: frozenset[str]  # the buyer's département(s), INSEE codes
    procedure: str
    category: str
    buyer: str  # the buyer's slug


@dataclass(frozen=True, slots=True)
class Criteria:
    # Sequences as stored (lists read from the database are not copied): never changed.
    words: Sequence[str] = ()  # folded, each required
    excluded: Sequence[str] = ()  # folded, each forbidden
    cpv_prefixes: Sequence[str] = ()
    departements: Sequence[str] = ()
    procedures: Sequence[str] = ()
    categories: Sequence[str] = ()
    buyers: Sequence[str] = ()

    @property
    def is_empty(self) -> bool:
        return not (
            self.words
            or self.excluded
            or self.cpv_prefixes
            or self.departements
            or self.procedures
            or self.categories
            or self.buyers
        )


def compiled_words(q: str) -> list[str]:
    """The words of a query as an alert stores them: folded, ``-`` before an excluded
    one; quotes dropped, ``or`` ignored (as the folded search does)."""
    words: list[str] = []
    for raw, folded in query_words(q.replace('"', " ")):
        if raw.casefold() == "or":
            continue
        words.append(("-" + folded) if raw.startswith("-") else folded)
    return words


def criteria(
    *,
    words: Sequence[str] = (),
    cpv_prefixes: Sequence[str] = (),
    departements: Sequence[str] = (),
    procedures: Sequence[str] = (),
    categories: Sequence[str] = (),
    buyers: Sequence[str] = (),
) -> Criteria:
    """Criteria from an alert's stored values (``words`` as :func:`compiled_words`)."""
    return Criteria(
        words=tuple(w for w in words if not w.startswith("-")),
        excluded=tuple(w[1:] for w in words if w.startswith("-") and len(w) > 1),
        cpv_prefixes=tuple(cpv_prefixes),
        departements=tuple(departements),
        procedures=tuple(procedures),
        categories=tuple(categories),
        buyers=tuple(buyers),
    )


def matches(rule: Criteria, notice: Notice) -> bool:
    """Whether ``notice`` matches ``rule``: the reference definition, one pair at a time
    (:class:`NoticeIndex` gives the same answers, faster)."""
    if rule.is_empty:
        return False
    if rule.cpv_prefixes and not any(
        code.startswith(prefix) for code in notice.cpv_codes for prefix in rule.cpv_prefixes
    ):
        return False
    if rule.departements and notice.departements.isdisjoint(rule.departements):
        return False
    if rule.procedures and notice.procedure not in rule.procedures:
        return False
    if rule.categories and notice.category not in rule.categories:
        return False
    if rule.buyers and notice.buyer not in rule.buyers:
        return False
    if any(word not in notice.text for word in rule.words):
        return False
    return not any(word in notice.text for word in rule.excluded)


_NONE: frozenset[int] = frozenset()


class NoticeIndex:
    """The day's consultations indexed by the values alerts ask for."""

    def __init__(self, notices: Iterable[Notice]) -> None:
        self.notices = {n.id: n for n in notices}
        self.all: frozenset[int] = frozenset(self.notices)
        self._cpv: dict[str, set[int]] = {}
        self._departements: dict[str, set[int]] = {}
        self._procedures: dict[str, set[int]] = {}
        self._categories: dict[str, set[int]] = {}
        self._buyers: dict[str, set[int]] = {}
        self._words: dict[str, frozenset[int]] = {}
        for n in self.notices.values():
            for code in n.cpv_codes:
                for length in range(CPV_MIN_PREFIX, min(len(code), CPV_MAX_PREFIX) + 1):
                    self._cpv.setdefault(code[:length], set()).add(n.id)
            for departement in n.departements:
                self._departements.setdefault(departement, set()).add(n.id)
            self._procedures.setdefault(n.procedure, set()).add(n.id)
            self._categories.setdefault(n.category, set()).add(n.id)
            self._buyers.setdefault(n.buyer, set()).add(n.id)

    def _containing(self, word: str) -> frozenset[int]:
        # Each distinct word is looked for once in each text, whatever the number of
        # alerts that ask for it.
        found = self._words.get(word)
        if found is None:
            found = frozenset(i for i, n in self.notices.items() if word in n.text)
            self._words[word] = found
        return found

    @staticmethod
    def _any_of(table: dict[str, set[int]], values: Sequence[str]) -> frozenset[int] | set[int]:
        if len(values) == 1:
            return table.get(values[0], _NONE)
        found: set[int] = set()
        for value in values:
            found.update(table.get(value, _NONE))
        return found

    def matching(self, rule: Criteria) -> frozenset[int] | set[int]:
        """The ids of the notices ``rule`` matches (as :func:`matches` would say).

        Called once per alert (100,000 times a day): the most selective criteria first,
        stopping as soon as nothing is left, with no allocation for a criterion not
        stated."""
        if rule.is_empty or not self.all:
            return _NONE
        ids: frozenset[int] | set[int] = self.all
        any_of = self._any_of
        if rule.cpv_prefixes:
            ids = any_of(self._cpv, rule.cpv_prefixes)
            if not ids:
                return _NONE
        if rule.buyers:
            ids = ids & any_of(self._buyers, rule.buyers)
            if not ids:
                return _NONE
        if rule.departements:
            ids = ids & any_of(self._departements, rule.departements)
            if not ids:
                return _NONE
        if rule.procedures:
            ids = ids & any_of(self._procedures, rule.procedures)
            if not ids:
                return _NONE
        if rule.categories:
            ids = ids & any_of(self._categories, rule.categories)
            if not ids:
                return _NONE
        for word in rule.words:
            ids = ids & self._containing(word)
            if not ids:
                return _NONE
        for word in rule.excluded:
            ids = ids - self._containing(word)
        return ids


def notice_text(*parts: str) -> str:
    """The folded text an alert's words are looked for in."""
    return fold(" ".join(p for p in parts if p))
