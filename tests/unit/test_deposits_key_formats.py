"""What the key ceremony reads of age material: recipients (Bech32), the ASCII armor, the
header's stanzas — checked against what rage (pyrage) writes."""

from __future__ import annotations

import base64

import pyrage
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mutualis.deposits import key_formats


def test_recipients_decode_to_their_x25519_public_key():
    for _ in range(5):
        recipient = str(pyrage.x25519.Identity.generate().to_public())
        key = key_formats.recipient_key(recipient)
        assert len(key) == 32
        assert key_formats.encode_recipient(key) == recipient


@given(st.binary(min_size=32, max_size=32))
def test_any_32_bytes_round_trip_through_a_recipient(key):
    recipient = key_formats.encode_recipient(key)
    assert str(pyrage.x25519.Recipient.from_str(recipient)) == recipient
    assert key_formats.recipient_key(recipient) == key


def test_a_changed_character_breaks_the_checksum():
    recipient = str(pyrage.x25519.Identity.generate().to_public())
    for position in range(4, len(recipient)):
        changed = recipient[:position] + ("q" if recipient[position] != "q" else "p")
        changed += recipient[position + 1 :]
        with pytest.raises(key_formats.AgeFormatError):
            key_formats.recipient_key(changed)


@given(st.binary(min_size=1, max_size=500))
def test_armor_round_trips(data):
    text = key_formats.armor(data)
    assert all(len(line) <= 64 for line in text.splitlines())
    assert key_formats.dearmor(text, max_chars=2000) == data
    assert key_formats.dearmor("\r\n  " + text.replace("\n", "\r\n"), max_chars=2000) == data


def test_the_armor_is_parsed_strictly():
    text = key_formats.armor(b"\x01" * 100)
    lines = text.splitlines()
    for broken in [
        text.replace(key_formats.ARMOR_BEGIN, "-----BEGIN PGP MESSAGE-----"),
        "\n".join([lines[0], lines[1][:-4], lines[1][-4:], *lines[2:]]),  # a short middle line
        text.replace(lines[1], lines[1][:-1] + "*"),
        "\n".join(lines[:-1]),
    ]:
        with pytest.raises(key_formats.AgeFormatError):
            key_formats.dearmor(broken, max_chars=2000)
    with pytest.raises(key_formats.AgeFormatError, match="too large"):
        key_formats.dearmor(text, max_chars=50)


def test_rage_files_are_read_grease_included():
    identity = pyrage.x25519.Identity.generate()
    sealed = key_formats.armor(pyrage.encrypt(b"0a1b", [identity.to_public()]))
    parsed = key_formats.x25519_file(sealed, max_chars=4096)
    # rage adds a grease stanza of random type: the file is still sealed to one key.
    assert "X25519" in parsed.types()
    assert parsed.payload_size == 16 + 4 + 16
    two = pyrage.encrypt(b"0a1b", [identity.to_public(), identity.to_public()])
    with pytest.raises(key_formats.AgeFormatError, match="exactly one"):
        key_formats.x25519_file(key_formats.armor(two), max_chars=4096)


def _b64(n: int) -> bytes:
    return base64.b64encode(b"\x05" * n).rstrip(b"=")


@pytest.mark.parametrize(
    "header",
    [
        b"age-encryption.org/v2\n",
        b"age-encryption.org/v1\n--- " + _b64(32) + b"\n",  # no stanza
        b"age-encryption.org/v1\n-> X25519 " + _b64(32) + b"\n",  # no body, no MAC
        b"age-encryption.org/v1\n-> X25519  "
        + _b64(32)
        + b"\n"
        + _b64(32)
        + b"\n--- "
        + _b64(32)
        + b"\n",  # empty argument
        b"age-encryption.org/v1\n-> X25519 "
        + _b64(32)
        + b"\n"
        + _b64(48)
        + b"\n--- "
        + _b64(32)
        + b"\n",  # a body line longer than 64 columns
        b"age-encryption.org/v1\n-> X25519 "
        + _b64(32)
        + b"\n"
        + _b64(32)
        + b"=\n--- "
        + _b64(32)
        + b"\n",  # padded base64
        b"age-encryption.org/v1\n-> X25519 "
        + _b64(32)
        + b"\n"
        + _b64(32)
        + b"\n--- "
        + _b64(16)
        + b"\n",  # short MAC
    ],
)
def test_malformed_headers_are_refused(header):
    with pytest.raises(key_formats.AgeFormatError):
        key_formats.parse(header + b"\x00" * 64)


def test_a_body_of_exactly_64_columns_continues_on_the_next_line():
    body = _b64(48)  # 64 characters: an empty line must follow
    header = (
        b"age-encryption.org/v1\n-> test-grease\n"
        + body
        + b"\n\n-> X25519 "
        + _b64(32)
        + b"\n"
        + _b64(32)
        + b"\n--- "
        + _b64(32)
        + b"\n"
    )
    parsed = key_formats.parse(header + b"\x00" * 40)
    assert parsed.types() == ["test-grease", "X25519"]
    assert parsed.stanzas[0].body == b"\x05" * 48
    assert parsed.payload_size == 40
