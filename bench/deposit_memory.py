"""The server's peak memory for a small and a very large sealed deposit (part of
``bench/deposit_rush.py``): each size on a fresh gunicorn with one sync worker, the
deposit made through the API (8 MiB chunks, read from a file here: the client never holds
the ciphertext in memory), the worker's resident memory sampled every 20 ms and its
high-water mark (``VmHWM``) read at the end. The target: the peak does not grow with the
deposit's size."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path
from typing import Any

import requests

CHUNK = 8 * 1024 * 1024
PATTERN = b"%PDF-1.7 memoire technique, bordereau des prix unitaires " * 1024


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid …: comm may hold spaces, the last ")" ends it.
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def write_plaintext(path: Path, size: int) -> str:
    """A file of ``size`` bytes; its SHA-256."""
    digest = hashlib.sha256()
    with path.open("wb") as out:
        left = size
        while left:
            piece = PATTERN[: min(left, len(PATTERN))]
            out.write(piece)
            digest.update(piece)
            left -= len(piece)
    return digest.hexdigest()


def deposit_files(
    base: str, token: str, consultation: int, files: list[tuple[Path, int, str]], key: str
) -> None:
    """One deposit of ``files`` (ciphertext path, plaintext size, plaintext SHA-256)."""
    session = requests.Session()
    auth = {"Authorization": f"Bearer {token}"}
    api = f"{base}/api/v1/deposits"

    def call(method: str, url: str, idempotency: str, **kwargs: Any) -> dict[str, Any]:
        headers = {**auth, "Idempotency-Key": idempotency, **kwargs.pop("headers", {})}
        response = session.request(method, url, headers=headers, timeout=600, **kwargs)
        if response.status_code not in (200, 201):
            raise RuntimeError(f"{method} {url}: {response.status_code} {response.text[:200]}")
        answer: dict[str, Any] = response.json()
        return answer

    reference = call("POST", api, f"{key}-d", json={"consultation": consultation})["reference"]
    for number, (cipher_path, plaintext_size, digest) in enumerate(files):
        declared = call(
            "POST",
            f"{api}/{reference}/files",
            f"{key}-f{number}",
            json={
                "name": f"offre-{number}.pdf",
                "content_type": "application/pdf",
                "kind": "offer",
                "plaintext_size": plaintext_size,
                "plaintext_sha256": digest,
                "ciphertext_size": cipher_path.stat().st_size,
            },
        )
        with cipher_path.open("rb") as source:
            offset = 0
            while chunk := source.read(CHUNK):
                call(
                    "PUT",
                    f"{api}/{reference}/files/{declared['id']}/content?offset={offset}",
                    f"{key}-c{number}-{offset}",
                    data=chunk,
                    headers={"Content-Type": "application/octet-stream"},
                )
                offset += len(chunk)
    done = call("POST", f"{api}/{reference}/complete", f"{key}-k")
    if done["state"] != "acknowledged":
        raise RuntimeError(f"{reference}: {done['state']}")


def peak_during(master_pid: int, work: Any) -> tuple[int, int, float]:
    """Run ``work()``; the worker's peak sampled RSS and its VmHWM (KiB), and the time."""
    (worker,) = _children(master_pid)
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, _status_kib(worker, "VmRSS"))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    began = time.perf_counter()
    try:
        work()
    finally:
        stop.set()
        sampler.join()
    return peak, _status_kib(worker, "VmHWM"), time.perf_counter() - began


def sealed_files(
    directory: Path, recipient: str, sizes: list[int], tag: str
) -> list[tuple[Path, int, str]]:
    import pyrage  # type: ignore[import-untyped]

    files = []
    for number, size in enumerate(sizes):
        plain = directory / f"{tag}-{number}.pdf"
        digest = write_plaintext(plain, size)
        sealed = directory / f"{tag}-{number}.age"
        pyrage.encrypt_file(str(plain), str(sealed), [pyrage.x25519.Recipient.from_str(recipient)])
        plain.unlink()
        files.append((sealed, size, digest))
    return files


def measure(
    start_server: Any, tokens: list[str], consultation: int, recipient: str, directory: Path
) -> list[tuple[str, int, int, float]]:
    """(label, peak RSS KiB, VmHWM KiB, seconds) for a 1 MB and a 2 GB deposit (two files
    of 1 GB: the platform's limit is 1 GiB a file), each on a fresh one-worker server."""
    runs = [("1 MB deposit (one file)", [1_000_000]), ("2 GB deposit (two 1 GB files)",
            [1_000_000_000, 1_000_000_000])]  # fmt: skip
    figures = []
    for number, (label, sizes) in enumerate(runs):
        files = sealed_files(directory, recipient, sizes, f"memory{number}")
        try:
            with start_server() as (base, master_pid):

                def work(base: str = base, files: list = files, number: int = number) -> None:
                    deposit_files(base, tokens[number], consultation, files, f"mem{number}")

                peak, high_water, seconds = peak_during(master_pid, work)
        finally:
            for path, _size, _digest in files:
                path.unlink(missing_ok=True)
        figures.append((label, peak, high_water, seconds))
        os.sync()
    return figures
