"""The platform as deployed (``mutualis.wsgi``) plus one route for bench/deposit_rush.py.

``PUT /bench/noop-upload`` reads the raw request body in the same streaming loop as a
deposit chunk (1 MiB reads) and throws it away: the reference a deposit's upload is
compared with, through the same nginx and the same gunicorn workers. Every other path is
the platform's own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.core.wsgi import get_wsgi_application

platform = get_wsgi_application()
READ = 1024 * 1024


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    if environ.get("PATH_INFO") == "/bench/noop-upload" and environ["REQUEST_METHOD"] == "PUT":
        remaining = int(environ.get("CONTENT_LENGTH") or 0)
        stream = environ["wsgi.input"]
        while remaining > 0:
            block = stream.read(min(READ, remaining))
            if not block:
                break
            remaining -= len(block)
        start_response("204 No Content", [("Content-Length", "0")])
        return [b""]
    return platform(environ, start_response)
