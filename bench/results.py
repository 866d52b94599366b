"""Shared by the benchmarks: the machine's description and ``RESULTS.md`` sections.

Each benchmark owns one ``## <name>`` section of ``bench/RESULTS.md`` and rewrites only
that one, so that running a single benchmark keeps the others' last figures.
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
# A trial run can write elsewhere: BENCH_RESULTS=/tmp/trial.md python bench/….
RESULTS = Path(os.environ.get("BENCH_RESULTS") or HERE / "RESULTS.md")
HEADER = (
    "# Benchmark results\n\n"
    "Written by `python bench/run.py` (`make bench`); one section per benchmark, each\n"
    "with the date, machine and commit it was measured on. Figures are from one run on\n"
    "the machine named: compare ratios to the same-run reference rather than seconds\n"
    "across machines.\n"
)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _ram_gib() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def _os_name() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return platform.platform()


def _git(*args: str) -> str:
    try:
        return subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def machine(postgres_version: str = "") -> list[tuple[str, str]]:
    """Where and on what code the figures were measured."""
    commit = _git("rev-parse", "--short", "HEAD") or "unknown"
    if _git("status", "--porcelain", "--untracked-files=no"):
        commit += " (with uncommitted changes)"
    rows = [
        ("Date", datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")),
        ("CPU", f"{_cpu_model()} ({os.cpu_count()} CPUs, nproc)"),
        ("RAM", _ram_gib()),
        ("OS", _os_name()),
        # Shared machines: a busy neighbour slows every figure alike, not the ratios.
        ("Load average (1, 5 min), at the end", "{:.2f}, {:.2f}".format(*os.getloadavg()[:2])),
        ("Python", platform.python_version()),
    ]
    if postgres_version:
        rows.append(("PostgreSQL", postgres_version))
    rows.append(("Commit", commit))
    return rows


def table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]
    return "\n".join(lines) + "\n"


def write_section(name: str, body: str) -> Path:
    """Replace (or append) the ``## name`` section of RESULTS.md."""
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else HEADER
    section = f"## {name}\n\n{body.strip()}\n"
    pattern = re.compile(rf"^## {re.escape(name)}\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _match: section + "\n", text).rstrip() + "\n"
    else:
        text = text.rstrip() + "\n\n" + section
    RESULTS.write_text(text, encoding="utf-8")
    return RESULTS
