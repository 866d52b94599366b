"""The quorum of a commission's meeting, a pure function (no Django, no database).

CGCT L1411-5 (applied to the tender commission by L1414-2): "le quorum est atteint
lorsque plus de la moitié des membres ayant voix délibérative sont présents". The base
is the full members with a deliberative vote; a full member replaced by a substitute
counts as present when the substitute (with a deliberative vote) is there, each
substitute standing in for one full member at most. Members with an advisory vote (the
public accountant, the competition authority's representative: L1411-3) never count,
nor a substitute who replaces nobody. Without the quorum the commission is convened
again and then sits without one (``without_condition``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

PRESENT = "present"
ABSENT = "absent"
EXCUSED = "excused"
REPLACED = "replaced"

MAJORITY = "majority"
NONE = "none"


@dataclasses.dataclass(frozen=True)
class Seat:
    member_id: int
    full: bool
    deliberative: bool


@dataclasses.dataclass(frozen=True)
class Presence:
    status: str
    replaced_by: int | None = None


@dataclasses.dataclass(frozen=True)
class Quorum:
    members: int  # full members with a deliberative vote: the base
    required: int  # votes needed
    present: int  # votes present (full members there or replaced by a substitute there)
    reached: bool


def required_votes(members: int, *, rule: str = MAJORITY, without_condition: bool = False) -> int:
    """More than half of ``members``: ``members // 2 + 1``; none without a condition."""
    if rule == NONE or without_condition:
        return 0
    if rule != MAJORITY:
        raise ValueError(f"Unknown quorum rule {rule!r}.")
    return members // 2 + 1


def compute(
    seats: Iterable[Seat],
    presences: Mapping[int, Presence],
    *,
    rule: str = MAJORITY,
    without_condition: bool = False,
) -> Quorum:
    """The quorum of a meeting: ``presences`` by member id (a member missing is absent)."""
    by_id = {seat.member_id: seat for seat in seats}
    base = sorted(s.member_id for s in by_id.values() if s.full and s.deliberative)
    used: set[int] = set()
    present = 0
    for member_id in base:
        presence = presences.get(member_id, Presence(ABSENT))
        if presence.status == PRESENT:
            present += 1
        elif presence.status == REPLACED and presence.replaced_by is not None:
            substitute = by_id.get(presence.replaced_by)
            there = presences.get(presence.replaced_by, Presence(ABSENT)).status == PRESENT
            if (
                substitute is not None
                and not substitute.full
                and substitute.deliberative
                and there
                and substitute.member_id not in used
            ):
                used.add(substitute.member_id)
                present += 1
    required = required_votes(len(base), rule=rule, without_condition=without_condition)
    return Quorum(
        members=len(base),
        required=required,
        present=present,
        reached=present >= required,
    )
