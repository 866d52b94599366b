"""The deposit API accepts a declared ciphertext size only if age makes that size of the
declared plaintext: the payload formula checked against real age files (pyrage), and
the header check against what age writes and what it does not."""

from __future__ import annotations

import pyrage
import pytest

from mutualis.deposits import services
from tests.factories.age import passphrase_encrypt

IDENTITY = pyrage.x25519.Identity.generate()
RECIPIENT = IDENTITY.to_public()


@pytest.mark.parametrize("size", [1, 15, 65_535, 65_536, 65_537, 131_072, 200_000])
def test_the_payload_size_is_ages(size):
    ciphertext = pyrage.encrypt(b"a" * size, [RECIPIENT])
    header = len(ciphertext) - services.age_payload_size(size)
    assert services.AGE_MIN_HEADER <= header <= services.AGE_MAX_HEADER
    # The payload follows the header's MAC line exactly.
    assert ciphertext[:header].endswith(b"\n")
    assert ciphertext[:header].split(b"\n")[-2].startswith(b"--- ")


def test_the_header_check():
    genuine = pyrage.encrypt(b"offer", [RECIPIENT])
    assert services.is_age_header(genuine[: services.AGE_MAX_HEADER])
    # Two recipients: still age, still X25519.
    other = pyrage.x25519.Identity.generate().to_public()
    assert services.is_age_header(pyrage.encrypt(b"offer", [RECIPIENT, other]))
    assert not services.is_age_header(b"%PDF-1.7\n" + genuine)
    assert not services.is_age_header(passphrase_encrypt(b"offer", "secret"))
    # The armored form is age, but not what the API takes.
    assert not services.is_age_header(b"-----BEGIN AGE ENCRYPTED FILE-----\n")
    # A header cut before its MAC line.
    assert not services.is_age_header(genuine.split(b"\n---")[0])
    assert not services.is_age_header(b"")
