"""The HTTPS transport to the ministry's @ctes endpoint: one POST of a package with the
operator's client certificate (mutual TLS), and what the answer means.

The package is the request body (``application/x-gzip``); its name, which carries the
member's SIREN, the day and the serial, is given in ``Content-Disposition``. The
endpoint answers ``201 Created`` (``200`` in the legacy protocol, a setting). A
timeout, a connection failure, ``408``, ``429`` or a ``5xx`` may be retried; any other
answer is a refusal, with the text the endpoint gave.

No database here: ``transmission.py`` decides what an answer does to the act.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import requests

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
DETAIL_MAX_LENGTH = 400


class Result(enum.Enum):
    ACCEPTED = "accepted"
    RETRY = "retry"
    REFUSED = "refused"


@dataclasses.dataclass(frozen=True)
class Answer:
    result: Result
    url: str
    status: int | None
    detail: str


@dataclasses.dataclass(frozen=True)
class Tls:
    """Paths of the client certificate, its key and the CA bundle that checks the
    endpoint (``None``: the system's)."""

    certificate: str
    key: str
    server_ca: str | None


def _materialise(value: str, directory: Path, name: str) -> str:
    """A PEM given inline (a secret read from ``_FILE``) is written to a private file
    of ``directory``: ``requests`` reads certificates from paths. A path is kept."""
    if not value.lstrip().startswith("-----BEGIN"):
        return value
    path = directory / name
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(value)
    return str(path)


@contextlib.contextmanager
def tls_files(certificate: str, key: str, server_ca: str) -> Iterator[Tls]:
    """The TLS material as paths for the time of a run; inline secrets are written to a
    private temporary directory removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="mutualis-actes-") as directory:
        root = Path(directory)
        os.chmod(root, 0o700)
        yield Tls(
            certificate=_materialise(certificate, root, "client.pem"),
            key=_materialise(key, root, "client.key"),
            server_ca=_materialise(server_ca, root, "ca.pem") if server_ca else None,
        )


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text[:DETAIL_MAX_LENGTH]


def post_package(
    session: requests.Session,
    url: str,
    name: str,
    body: IO[bytes],
    tls: Tls,
    *,
    accepted: frozenset[int],
    timeout: float,
) -> Answer:
    """POST the package ``body`` (read from its start) named ``name`` to ``url``."""
    body.seek(0)
    try:
        response = session.post(
            url,
            data=body,
            headers={
                "Content-Type": "application/x-gzip",
                "Content-Disposition": f'attachment; filename="{name}"',
            },
            cert=(tls.certificate, tls.key) if tls.certificate else None,
            verify=tls.server_ca if tls.server_ca else True,
            timeout=timeout,
            allow_redirects=False,
        )
    except requests.Timeout:
        return Answer(Result.RETRY, url, None, "timeout")
    except requests.exceptions.SSLError as exc:
        return Answer(Result.RETRY, url, None, _clip(f"TLS: {exc}"))
    except requests.RequestException as exc:
        return Answer(Result.RETRY, url, None, _clip(f"connection: {exc.__class__.__name__}"))
    text = _clip(response.text or response.reason or "")
    if response.status_code in accepted:
        return Answer(Result.ACCEPTED, url, response.status_code, text)
    if response.status_code in RETRYABLE_STATUSES:
        return Answer(Result.RETRY, url, response.status_code, text)
    return Answer(Result.REFUSED, url, response.status_code, text)
