"""The vendored OCDS 1.1.5 schemas (``schema/``, see its SOURCE.md), read from the package.

Nothing here touches the network: the schemas refer to each other by absolute URLs,
which :func:`registry` maps to the vendored files for ``jsonschema``; ``ocdsmerge`` gets
its merge rules from the vendored release schema (:func:`merge_rules`), since it would
otherwise download the schema of the latest version.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

import ocdsmerge  # type: ignore[import-untyped]
from jsonschema import Draft4Validator, FormatChecker  # type: ignore[import-untyped]
from ocdsmerge.rules import get_merge_rules  # type: ignore[import-untyped]
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

SCHEMA_DIR = Path(__file__).resolve().parent / "schema"
BASE_URL = "https://standard.open-contracting.org/schema/1__1__5/"
VERSION = "1.1"

RELEASE = "release-schema.json"
RELEASE_PACKAGE = "release-package-schema.json"
RECORD_PACKAGE = "record-package-schema.json"
VERSIONED_RELEASE = "versioned-release-validation-schema.json"
FILES = (RELEASE, RELEASE_PACKAGE, RECORD_PACKAGE, VERSIONED_RELEASE)


@cache
def schema(name: str) -> dict[str, Any]:
    """One vendored schema, parsed (``name``: one of :data:`FILES`)."""
    if name not in FILES:
        raise ValueError(f"{name!r} is not a vendored OCDS schema")
    loaded: dict[str, Any] = json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8"))
    return loaded


@cache
def registry() -> Registry:
    """The vendored schemas under the URLs they refer to each other by."""
    resources = [
        (BASE_URL + name, Resource.from_contents(schema(name), default_specification=DRAFT4))
        for name in FILES
    ]
    return Registry().with_resources(resources)


@cache
def validator(name: str) -> Draft4Validator:
    """A draft-04 validator of ``name``, with format checking (dates, URIs)."""
    return Draft4Validator(schema(name), registry=registry(), format_checker=FormatChecker())


def errors(data: Any, name: str) -> list[str]:
    """What is wrong with ``data`` against schema ``name``: one line per error, empty when
    valid."""
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '(root)'}: {error.message}"
        for error in sorted(validator(name).iter_errors(data), key=lambda e: list(e.path))
    ]


@cache
def merge_rules() -> dict[tuple[str, ...], str]:
    """ocdsmerge's merge rules, from the vendored release schema."""
    # A copy: the references are replaced in place of the dictionary given.
    rules: dict[tuple[str, ...], str] = get_merge_rules(copy.deepcopy(schema(RELEASE)))
    return rules


def merger() -> ocdsmerge.Merger:
    return ocdsmerge.Merger(merge_rules=merge_rules())
