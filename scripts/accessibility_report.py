"""Sum up the axe-core results of the browser journeys for the accessibility statement.

Usage: ``python scripts/accessibility_report.py LINES`` (``make accessibility`` runs the
browser tests with ``MUTUALIS_AXE_REPORT=LINES`` first). Writes
``src/mutualis/core/data/accessibility.json``: the date, the axe-core version and, per page
path (identifiers in paths replaced by ``…``, so that a page checked in several journeys
counts once), its title, the rules it passed and the rules it broke.
"""

from __future__ import annotations

import datetime
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "src" / "mutualis" / "core" / "data" / "accessibility.json"
# A path segment that names one object: a number, a UUID, a SIREN, a token.
_IDENTIFIER = re.compile(r"/(?:\d+|[0-9a-f-]{32,36}|[A-Za-z0-9_-]{20,})(?=/|$)")


def main(lines_path: str) -> int:
    pages: dict[str, dict[str, object]] = {}
    version = ""
    for raw in Path(lines_path).read_text("utf-8").splitlines():
        line = json.loads(raw)
        path = _IDENTIFIER.sub("/…", line["path"])
        version = line["axe_version"] or version
        seen = pages.get(path)
        if seen is None or line["passes"] > seen["passes"]:  # type: ignore[operator]
            pages[path] = {
                "path": path,
                "title": line["title"],
                "passes": line["passes"],
                "violations": line["violations"],
            }
    result = {
        "date": datetime.datetime.now(datetime.UTC).date().isoformat(),
        "axe_version": version,
        "pages": sorted(pages.values(), key=lambda p: str(p["path"])),
    }
    OUT.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", "utf-8")
    sys.stdout.write(f"{len(pages)} pages, written to {OUT}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
