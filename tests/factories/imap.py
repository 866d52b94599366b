"""A real IMAP server for the return channel's tests: Debian's dovecot, started for the
test session on a free loopback port with one mailbox user (``.ci/run`` installs
``dovecot-imapd``; the start-up is ``mutualis.legality.standin.dovecot``, which the
benchmark uses too). Skipped where dovecot is not installed or the tests do not run as
root (dovecot's master process needs it)."""

from __future__ import annotations

import pytest

from mutualis.legality.standin import dovecot as dovecot_server


@pytest.fixture(scope="session")
def dovecot():
    if not dovecot_server.available():
        pytest.skip("dovecot-imapd is not installed, or the tests do not run as root")
    with dovecot_server.running() as server:
        yield server.as_dict()
