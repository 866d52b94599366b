"""Validation against the official DECP 2.0.3 JSON schema (vendored in ``schema/``), and
what each problem tells the buyer to fix."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from django.utils.translation import gettext_lazy as _
from jsonschema import Draft7Validator, FormatChecker  # type: ignore[import-untyped]

from .generation import Problem

SCHEMA_PATH = Path(__file__).parent / "schema" / "schema_decp_v2.0.3.json"

# What the buyer does about each field (``Problem.field``); the schema's own words follow
# for an error the generation did not foresee.
HINTS: dict[str, Any] = {
    "acheteur": _(
        "The buyer's SIRET is not recorded: ask the operator to record the organisation's SIRET."
    ),
    "nature": _("Choose the nature of the contract on the consultation."),
    "objet": _("The object of the consultation must be written (at most 1,000 characters)."),
    "codeCPV": _("The CPV code of the consultation or of the lot is not a valid code."),
    "ccag": _("Choose the CCAG of reference on the consultation (or “No CCAG”)."),
    "offresRecues": _("The number of offers received is unknown: notify the award first."),
    "procedure": _(
        "This procedure has no DECP equivalent (a subsequent contract is declared under its "
        "framework agreement): record the contract through its framework agreement."
    ),
    "lieuExecution": _(
        "Write the postcode of the place of execution on the consultation (or ask the "
        "operator to record the organisation's address)."
    ),
    "typesPrix": _("Choose at least one price type on the consultation."),
    "formePrix": _("Choose the price form on the consultation."),
    "montant": _("The amount must be at least 1 euro."),
    "dureeMois": _("The duration must be at least one month."),
    "titulaires": _("The holders' SIRETs are not valid."),
    "modifications": _("An amendment's amount or duration is not valid."),
}


@functools.cache
def schema() -> dict[str, Any]:
    with SCHEMA_PATH.open(encoding="utf-8") as handle:
        loaded: dict[str, Any] = json.load(handle)
    return loaded


@functools.cache
def validator() -> Draft7Validator:
    return Draft7Validator(schema(), format_checker=FormatChecker())


def envelope(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """The official envelope of a list of ``marche`` entries."""
    return {"marches": {"marche": entries}}


def schema_problems(entry: dict[str, Any]) -> list[Problem]:
    """The schema's errors about one entry, as problems naming the field in error."""
    problems: list[Problem] = []
    for error in sorted(validator().iter_errors(envelope([entry])), key=lambda e: e.path):
        # The path is ("marches", "marche", 0, <field>, …); the root's own errors have none.
        path = list(error.absolute_path)[3:]
        if not path and error.validator == "required":
            missing = [name for name in error.validator_value if name not in error.instance]
            problems.extend(Problem(name, "schema_required", error.message) for name in missing)
            continue
        field = str(path[0]) if path else ""
        problems.append(Problem(field, f"schema_{error.validator}", error.message[:500]))
    return problems


def check(entry: dict[str, Any], found: list[Problem]) -> list[Problem]:
    """Every problem of ``entry``: those the generation found, then the schema's about
    the other fields (one per field)."""
    problems = list(found)
    named = {problem.field for problem in problems}
    for problem in schema_problems(entry):
        if problem.field not in named:
            problems.append(problem)
            named.add(problem.field)
    return problems


def hint(problem: dict[str, str]) -> Any:
    """What to do about a stored problem, for the buyer's page."""
    return HINTS.get(problem.get("field", ""), _("The data do not follow the DECP format."))
