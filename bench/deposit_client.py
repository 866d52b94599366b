"""The client of bench/deposit_rush.py, in its own process: ``python deposit_client.py
CONFIG.json RESULT.json``. Encrypts one file per company (age, to the consultation's
key) before anything is timed, then, from one thread per company, all at once:

1. reference: PUT the same ciphertext bytes, chunk by chunk, to ``/bench/noop-upload``;
2. deposits: start a deposit, declare the file, PUT its chunks, complete it.

Writes the wall times, each deposit's duration and the errors as JSON.
"""

from __future__ import annotations

import hashlib
import json
import sys
import threading
import time
from typing import Any

import pyrage
import requests

CHUNK = 8 * 1024 * 1024


def _chunks(data: bytes) -> list[tuple[int, bytes]]:
    return [(offset, data[offset : offset + CHUNK]) for offset in range(0, len(data), CHUNK)]


def _all_at_once(count: int, work: Any) -> tuple[float, list[float], list[str]]:
    durations: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(count + 1)

    def run(n: int) -> None:
        barrier.wait()
        started = time.perf_counter()
        try:
            work(n)
        except Exception as exc:  # an error is a figure
            with lock:
                errors.append(f"{type(exc).__name__}: {exc}"[:300])
            return
        with lock:
            durations.append(time.perf_counter() - started)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    barrier.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return time.perf_counter() - began, durations, errors


def main(config_path: str, result_path: str) -> None:
    with open(config_path) as source:
        config = json.load(source)
    base, tokens = config["base"], config["tokens"]
    size = config["file_bytes"]
    recipient = pyrage.x25519.Recipient.from_str(config["recipient"])
    plaintext = (b"%PDF-1.7 memoire technique " * (size // 27 + 1))[:size]
    digest = hashlib.sha256(plaintext).hexdigest()
    ciphertexts = [pyrage.encrypt(plaintext, [recipient]) for _token in tokens]
    sessions = [requests.Session() for _token in tokens]

    def reference(n: int) -> None:
        for _offset, chunk in _chunks(ciphertexts[n]):
            response = sessions[n].put(f"{base}/bench/noop-upload", data=chunk, timeout=600)
            if response.status_code != 204:
                raise RuntimeError(f"noop {response.status_code}")

    def deposit(n: int) -> None:
        s, auth = sessions[n], {"Authorization": f"Bearer {tokens[n]}"}
        api = f"{base}/api/v1/deposits"

        def call(method: str, url: str, key: str, **kwargs: Any) -> dict[str, Any]:
            headers = {**auth, "Idempotency-Key": key, **kwargs.pop("headers", {})}
            response = s.request(method, url, headers=headers, timeout=600, **kwargs)
            if response.status_code not in (200, 201):
                raise RuntimeError(f"{method} {url}: {response.status_code} {response.text[:200]}")
            answer: dict[str, Any] = response.json()
            return answer

        started = call("POST", api, f"d{n}", json={"consultation": config["consultation"]})
        reference_ = started["reference"]
        declared = call(
            "POST",
            f"{api}/{reference_}/files",
            f"f{n}",
            json={
                "name": "memoire-technique.pdf",
                "content_type": "application/pdf",
                "kind": "offer",
                "plaintext_size": size,
                "plaintext_sha256": digest,
                "ciphertext_size": len(ciphertexts[n]),
            },
        )
        for offset, chunk in _chunks(ciphertexts[n]):
            call(
                "PUT",
                f"{api}/{reference_}/files/{declared['id']}/content?offset={offset}",
                f"c{n}-{offset}",
                data=chunk,
                headers={"Content-Type": "application/octet-stream"},
            )
        acknowledged = call("POST", f"{api}/{reference_}/complete", f"k{n}")
        if acknowledged["state"] != "acknowledged":
            raise RuntimeError(f"{reference_}: {acknowledged['state']}")

    results: dict[str, Any] = {}
    for name, work in (("reference", reference), ("deposits", deposit)):
        wall, durations, errors = _all_at_once(len(tokens), work)
        results[name] = {"wall": wall, "durations": durations, "errors": errors}
    results["bytes"] = sum(len(c) for c in ciphertexts)
    with open(result_path, "w") as out:
        json.dump(results, out)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
