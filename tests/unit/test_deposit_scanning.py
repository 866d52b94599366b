"""The virus scanner interface (ClamAV's INSTREAM over its socket), against a stand-in
daemon: clean, infected, not configured, unreachable, an error answer."""

from __future__ import annotations

import pytest

from mutualis.deposits import scanning
from tests.factories.clamd import EICAR, clamd


@pytest.fixture
def sample(tmp_path):
    def write(content: bytes):
        path = tmp_path / "file.bin"
        path.write_bytes(content)
        return path

    return write


@pytest.mark.parametrize("tcp", [False, True])
def test_a_clean_and_an_infected_file(settings, tmp_path, sample, tcp):
    big = b"%PDF-1.7 " + bytes(range(256)) * 1000  # several pieces of 64 KiB
    with clamd(tmp_path, tcp=tcp) as (address, seen):
        settings.MUTUALIS_CLAMD_ADDRESS = address
        assert scanning.scan(sample(big)) == scanning.ScanResult("clean")
        assert seen == [big]
        found = scanning.scan(sample(b"offre " + EICAR))
    assert found == scanning.ScanResult("infected", "Eicar-Test-Signature")


def test_not_configured(settings, sample):
    settings.MUTUALIS_CLAMD_ADDRESS = ""
    assert scanning.scan(sample(b"x")).outcome == "not_configured"


def test_an_unreachable_daemon_or_an_error_answer_is_unavailable(settings, tmp_path, sample):
    settings.MUTUALIS_CLAMD_ADDRESS = f"unix:{tmp_path / 'missing.ctl'}"
    result = scanning.scan(sample(b"x"))
    assert result.outcome == "unavailable"
    assert "FileNotFoundError" in result.signature
    settings.MUTUALIS_CLAMD_ADDRESS = "tcp:127.0.0.1:notaport"
    assert scanning.scan(sample(b"x")).outcome == "unavailable"
    with clamd(tmp_path, answer=b"INSTREAM size limit exceeded. ERROR\0") as (address, _seen):
        settings.MUTUALIS_CLAMD_ADDRESS = address
        result = scanning.scan(sample(b"x" * 10))
    assert result == scanning.ScanResult("unavailable", "INSTREAM size limit exceeded. ERROR")
