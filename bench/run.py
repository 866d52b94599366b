"""Run every benchmark, in order: ``python bench/run.py`` (``make bench``).

Each benchmark is a module of this directory run as its own process, so that one
benchmark's imports, settings and memory never colour the next one's figures. Add a
benchmark by appending its module name to ``BENCHMARKS``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCHMARKS = [
    "import_france",
    "login_throughput",
    "token_throughput",
    "directory",
    "files_download",
    "files",
    "tsa_throughput",
    "procurement_search",
    "observatory",
    "alert_matching",
    "deposit_rush",
    "pes_import",
    "actes_send",
    "imap_acks",
    "ocds_export",
]

HERE = Path(__file__).resolve().parent


def main() -> int:
    failed = []
    for name in BENCHMARKS:
        print(f"\n=== bench/{name}.py ===", flush=True)
        result = subprocess.run([sys.executable, str(HERE / f"{name}.py"), *sys.argv[1:]])
        if result.returncode != 0:
            failed.append(name)
    if failed:
        print(f"\nFailed or over target: {', '.join(failed)}")
        return 1
    print(f"\nAll {len(BENCHMARKS)} benchmark(s) done; figures in bench/RESULTS.md.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
