"""The French catalogue is complete, and the English one compiles.

Source strings are English and the platform speaks French first (STYLE.md §6): every
string of the code must be in ``locale/fr/LC_MESSAGES/django.po``, translated, not fuzzy,
with the placeholders of its source. ``make messages`` refreshes the catalogues; these tests
say what it would change, without writing anything in the repository: the extraction runs
on a copy of the package.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import polib
import pytest

import mutualis

PACKAGE = Path(mutualis.__file__).resolve().parent
CATALOGUES = PACKAGE / "locale"
FRENCH = CATALOGUES / "fr" / "LC_MESSAGES" / "django.po"
ENGLISH = CATALOGUES / "en" / "LC_MESSAGES" / "django.po"
FRENCH_PLURALS = "nplurals=2; plural=(n > 1);"

# What makemessages reads for the "django" domain (its default extensions).
EXTRACTED_SUFFIXES = {".py", ".html", ".txt"}

# printf-style conversions as Python applies them: %(name)s, %(seconds).1f, %s, %d…
PERCENT = re.compile(r"%(?:\((?P<name>[^)]*)\))?[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[a-zA-Z%]")
NAMED = re.compile(r"%\([^)]*\)")
BRACES = re.compile(r"\{[^{}\s]*\}")
TAG = re.compile(r"</?[a-zA-Z][^>]*>")


def _key(entry: polib.POEntry) -> tuple[str | None, str, str | None]:
    return (entry.msgctxt, entry.msgid, entry.msgid_plural or None)


def _show(key: tuple[str | None, str, str | None]) -> str:
    context, msgid, plural = key
    text = repr(msgid)
    if plural:
        text += f" / plural {plural!r}"
    if context:
        text += f" (context {context!r})"
    return text


def _placeholders(text: str, *, python_format: bool) -> tuple[Counter, list[str], Counter, Counter]:
    """Named and positional %-placeholders, {braces} and HTML tags of ``text``."""
    named: Counter = Counter()
    positional: list[str] = []
    if python_format:
        for match in PERCENT.finditer(text):
            token = match.group(0)
            if token == "%%":
                continue
            if match.group("name") is None:
                positional.append(token)
            else:
                named[token] += 1
    else:
        named.update(NAMED.findall(text))
    # A named placeholder may appear more than once; what matters is that each is kept.
    named = Counter(dict.fromkeys(named, 1))
    return named, positional, Counter(BRACES.findall(text)), Counter(TAG.findall(text))


def _placeholder_problems(source: str, translation: str, *, python_format: bool) -> list[str]:
    names = ("placeholders", "positional placeholders (same order)", "{braces}", "HTML tags")
    expected = _placeholders(source, python_format=python_format)
    found = _placeholders(translation, python_format=python_format)
    problems = []
    for name, want, got in zip(names, expected, found, strict=True):
        if want != got:
            problems.append(f"{name}: expected {_listed(want)}, found {_listed(got)}")
    return problems


def _listed(tokens: Counter | list[str]) -> str:
    items = sorted(tokens.elements()) if isinstance(tokens, Counter) else tokens
    return "[" + ", ".join(items) + "]" if items else "none"


@pytest.fixture(scope="module")
def french() -> polib.POFile:
    assert FRENCH.is_file(), f"{FRENCH} is missing: run `make messages`"
    return polib.pofile(str(FRENCH))


def _entries(catalogue: polib.POFile) -> list[polib.POEntry]:
    return [entry for entry in catalogue if not entry.obsolete]


def test_the_french_header_is_settled(french):
    assert not french.metadata_is_fuzzy, "the header of the French catalogue is marked fuzzy"
    assert french.metadata.get("Language") == "fr"
    assert french.metadata.get("Plural-Forms") == FRENCH_PLURALS


def test_every_french_entry_is_translated_and_not_fuzzy(french):
    untranslated = []
    fuzzy = []
    for entry in _entries(french):
        if entry.fuzzy:
            fuzzy.append(_show(_key(entry)))
        if entry.msgid_plural:
            forms = entry.msgstr_plural
            if sorted(forms) != [0, 1] or not all(forms.values()):
                untranslated.append(_show(_key(entry)))
        elif not entry.msgstr:
            untranslated.append(_show(_key(entry)))
    problems = []
    if untranslated:
        problems.append("untranslated:\n  " + "\n  ".join(untranslated))
    if fuzzy:
        problems.append(
            "fuzzy (check the translation, then remove the flag):\n  " + "\n  ".join(fuzzy)
        )
    assert not problems, "in the French catalogue, " + "\nand ".join(problems)


def test_french_translations_keep_the_placeholders(french):
    problems = []
    for entry in _entries(french):
        python_format = "python-format" in entry.flags
        if entry.msgid_plural:
            # French uses form 0 for 0 and 1, form 1 from 2: the singular's placeholders for
            # the first, the plural's for the second.
            pairs = [
                (entry.msgid, entry.msgstr_plural.get(0, "")),
                (entry.msgid_plural, entry.msgstr_plural.get(1, "")),
            ]
        else:
            pairs = [(entry.msgid, entry.msgstr)]
        for source, translation in pairs:
            if not translation:
                continue  # reported by the test above
            for problem in _placeholder_problems(source, translation, python_format=python_format):
                problems.append(f"{source!r} -> {translation!r}: {problem}")
    assert not problems, "translations that do not keep their placeholders:\n  " + "\n  ".join(
        problems
    )


def _gettext_tool(name: str) -> str:
    path = shutil.which(name)
    assert path, f"{name} is missing: install GNU gettext (apt-get install gettext)"
    return path


@pytest.mark.parametrize("catalogue", [FRENCH, ENGLISH], ids=["fr", "en"])
def test_the_catalogues_compile(catalogue):
    # What compilemessages runs, with the header and domain checks as well.
    assert catalogue.is_file(), f"{catalogue} is missing: run `make messages`"
    result = subprocess.run(  # noqa: S603 - fixed arguments, no shell
        [_gettext_tool("msgfmt"), "--check", "-o", os.devnull, str(catalogue)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def _copy_sources(destination: Path) -> None:
    """The files makemessages reads, without the catalogues (nor hidden or cached files)."""
    for path in PACKAGE.rglob("*"):
        relative = path.relative_to(PACKAGE)
        parts = relative.parts
        if (
            not path.is_file()
            or path.suffix not in EXTRACTED_SUFFIXES
            or parts[0] == "locale"
            or "__pycache__" in parts
            or any(part.startswith(".") for part in parts)
        ):
            continue
        target = destination / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> polib.POFile:
    """The catalogue ``make messages`` would write today, made in a copy of the package.

    makemessages writes into LOCALE_PATHS when the project's settings are loaded: it runs
    here without settings, in a copy holding an empty ``locale`` directory, where it writes.
    """
    _gettext_tool("xgettext")
    _gettext_tool("msguniq")
    copy = tmp_path_factory.mktemp("extraction") / "mutualis"
    _copy_sources(copy)
    (copy / "locale").mkdir()
    environment = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "django",
            "makemessages",
            "--locale=fr",
            "--no-location",
            "--no-obsolete",
            "--verbosity=0",
        ],
        cwd=copy,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    catalogue = copy / "locale" / "fr" / "LC_MESSAGES" / "django.po"
    assert catalogue.is_file(), "makemessages wrote no catalogue in the copy"
    return polib.pofile(str(catalogue))


def test_every_string_of_the_code_is_in_the_french_catalogue(french, extracted):
    in_catalogue = {_key(entry) for entry in _entries(french)}
    missing = [_show(key) for key in map(_key, _entries(extracted)) if key not in in_catalogue]
    assert not missing, (
        "strings of the code missing from the French catalogue: run `make messages`, then "
        "translate them:\n  " + "\n  ".join(missing)
    )


def test_the_french_catalogue_has_no_stale_entries(french, extracted):
    in_code = {_key(entry) for entry in _entries(extracted)}
    stale = [_show(key) for key in map(_key, _entries(french)) if key not in in_code]
    assert not stale, (
        "entries of the French catalogue no longer in the code: run `make messages`:\n  "
        + "\n  ".join(stale)
    )
