"""The generated territory the web benches share: ten départements and ``count`` member
communes spread over them, with valid SIRENs (bulk inserts, scopes off: a bench writes
for every member at once, as the territory import does)."""

from __future__ import annotations

from typing import Any

from stdnum import luhn

DEPARTEMENTS = ["21", "25", "39", "58", "70", "71", "89", "90", "2A", "75"]


def siren(n: int) -> str:
    """A valid SIREN (Luhn) of number ``n``, never a real one's range start."""
    body = f"{20000000 + n:08d}"
    return body + luhn.calc_check_digit(body)


def departements_and_communes(count: int, *, batch: int) -> tuple[list[Any], list[Any]]:
    """The départements and ``count`` member communes (SIREN ``siren(0…count-1)``)."""
    from django_scopes import scopes_disabled

    from mutualis.core.models import Organisation

    with scopes_disabled():
        departements = Organisation.objects.bulk_create(
            Organisation(
                name=f"Département {code}",
                kind="departement",
                insee_code=code,
                slug=f"departement-{code.lower()}",
                search_name=f"departement {code.lower()}",
            )
            for code in DEPARTEMENTS
        )
        communes = Organisation.objects.bulk_create(
            (
                Organisation(
                    name=f"Commune {n}",
                    kind="commune",
                    siren=siren(n),
                    insee_code=f"{n:05d}",
                    slug=f"commune-{n}",
                    search_name=f"commune {n}",
                    departement=departements[n % len(departements)],
                    adhesion_status="member",
                )
                for n in range(count)
            ),
            batch_size=batch,
        )
    return departements, communes
