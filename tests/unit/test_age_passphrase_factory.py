"""The test factories' passphrase-sealed age files (tests/factories/age.py) are age files:
rage opens them with the passphrase, refuses another one, and the platform's parser reads
their one scrypt stanza with the work factor asked for."""

from __future__ import annotations

import secrets

import pyrage
import pytest

from mutualis.deposits import key_formats
from tests.factories.age import TEST_WORK_FACTOR, armored_passphrase_encrypt, passphrase_encrypt


@pytest.mark.parametrize("size", [0, 74, 64 * 1024, 200_000])
def test_rage_opens_what_the_factory_seals(size):
    plaintext = secrets.token_bytes(size)

    sealed = passphrase_encrypt(plaintext, "lune bleue sur la mairie")

    assert pyrage.passphrase.decrypt(sealed, "lune bleue sur la mairie") == plaintext


def test_another_passphrase_does_not_open_it():
    sealed = passphrase_encrypt(b"AGE-SECRET-KEY-1", "lune bleue sur la mairie")

    with pytest.raises(pyrage.DecryptError):
        pyrage.passphrase.decrypt(sealed, "pas la bonne phrase")


def test_the_armored_file_has_one_scrypt_stanza_at_the_work_factor_asked():
    armored = armored_passphrase_encrypt(b"AGE-SECRET-KEY-1XYZ", "pw", work_factor=12)

    parsed = key_formats.passphrase_file(armored.decode(), max_chars=4096, min_work=1, max_work=99)
    assert parsed.types() == ["scrypt"]
    assert parsed.stanzas[0].args[1] == "12"
    assert parsed.payload_size == 16 + len(b"AGE-SECRET-KEY-1XYZ") + 16
    opened = pyrage.passphrase.decrypt(key_formats.dearmor(armored.decode(), max_chars=4096), "pw")
    assert opened == b"AGE-SECRET-KEY-1XYZ"
    assert TEST_WORK_FACTOR < 18  # test-sized: under the browsers' 2^18
