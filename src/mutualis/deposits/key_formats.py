"""What the key ceremony checks of the age material a browser posts, without any key.

- A recipient ``age1…``: Bech32 (BIP 173 checksum, no length limit, as age uses it) with the
  human-readable part ``age`` and 32 bytes of X25519 public key.
- An armored age file (age's ASCII armor, a strict subset of PEM) and its header: the
  version line, the recipient stanzas (``-> type args`` and a base64 body), the MAC line.
  The server cannot decrypt anything here; it checks the shape, so that a holder never
  discovers at the opening that what was stored for them is not an age file, or one
  sealed by another method than the one the ceremony uses.

Formats: https://age-encryption.org/v1 (C2SP age and age armor).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import re

from django.utils.translation import gettext_lazy as _

from mutualis.core.errors import MutualisError

ARMOR_BEGIN = "-----BEGIN AGE ENCRYPTED FILE-----"
ARMOR_END = "-----END AGE ENCRYPTED FILE-----"
VERSION_LINE = b"age-encryption.org/v1"
_ARMOR_COLUMNS = 64
_BODY_COLUMNS = 64
_BECH32_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_GENERATOR = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
_ARG = re.compile(rb"[\x21-\x7e]+")


class AgeFormatError(MutualisError):
    code = "age_format_invalid"
    message = _("This is not an age file.")


# --- Recipients ------------------------------------------------------------------------


def _polymod(values: list[int]) -> int:
    checksum = 1
    for value in values:
        top = checksum >> 25
        checksum = (checksum & 0x1FFFFFF) << 5 ^ value
        for i, generator in enumerate(_GENERATOR):
            if (top >> i) & 1:
                checksum ^= generator
    return checksum


def _expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _regroup(data: list[int]) -> bytes | None:
    """5-bit groups to bytes; None when the padding is not zero bits of less than a byte."""
    accumulator = bits = 0
    out = bytearray()
    for value in data:
        accumulator = (accumulator << 5) | value
        bits += 5
        if bits >= 8:
            bits -= 8
            out.append((accumulator >> bits) & 0xFF)
    if bits >= 5 or (accumulator << (8 - bits)) & 0xFF:
        return None
    return bytes(out)


def recipient_key(recipient: str) -> bytes:
    """The 32-byte X25519 public key of an ``age1…`` recipient, or ``AgeFormatError``."""
    invalid = AgeFormatError(_("This is not an age public key (age1…)."), field="recipient")
    if not isinstance(recipient, str) or len(recipient) > 100 or recipient != recipient.lower():
        raise invalid
    hrp, separator, data = recipient.rpartition("1")
    if not separator or hrp != "age" or len(data) < 6:
        raise invalid
    if any(c not in _BECH32_CHARSET for c in data):
        raise invalid
    values = [_BECH32_CHARSET.index(c) for c in data]
    if _polymod(_expand(hrp) + values) != 1:
        raise invalid
    key = _regroup(values[:-6])
    if key is None or len(key) != 32:
        raise invalid
    return key


def encode_recipient(key: bytes) -> str:
    """The ``age1…`` text of a 32-byte X25519 public key (for tests and messages)."""
    accumulator = bits = 0
    values = []
    for byte in key:
        accumulator = (accumulator << 8) | byte
        bits += 8
        while bits >= 5:
            bits -= 5
            values.append((accumulator >> bits) & 31)
    if bits:
        values.append((accumulator << (5 - bits)) & 31)
    polymod = _polymod([*_expand("age"), *values, 0, 0, 0, 0, 0, 0]) ^ 1
    values += [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    return "age1" + "".join(_BECH32_CHARSET[v] for v in values)


# --- Armored files and headers ---------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Stanza:
    type: str
    args: tuple[str, ...]
    body: bytes


@dataclasses.dataclass(frozen=True)
class AgeFile:
    stanzas: tuple[Stanza, ...]
    payload_size: int

    def types(self) -> list[str]:
        return [s.type for s in self.stanzas]


def armor(data: bytes) -> str:
    """An age file in age's ASCII armor (64 columns, padded base64, final newline)."""
    encoded = base64.b64encode(data).decode()
    lines = [encoded[i : i + _ARMOR_COLUMNS] for i in range(0, len(encoded), _ARMOR_COLUMNS)]
    return "\n".join([ARMOR_BEGIN, *lines, ARMOR_END]) + "\n"


def dearmor(text: str, *, max_chars: int) -> bytes:
    """The bytes of an armored age file: what age's own decoder accepts (whitespace around
    the file, LF or CRLF), nothing else."""
    invalid = AgeFormatError(_("This is not an armored age file (BEGIN AGE ENCRYPTED FILE)."))
    if not isinstance(text, str) or len(text) > max_chars:
        raise AgeFormatError(_("This age file is too large for what it should hold."))
    lines = text.strip().replace("\r\n", "\n").split("\n")
    if len(lines) < 3 or lines[0] != ARMOR_BEGIN or lines[-1] != ARMOR_END:
        raise invalid
    body = lines[1:-1]
    for index, line in enumerate(body):
        last = index == len(body) - 1
        if (not last and len(line) != _ARMOR_COLUMNS) or (
            last and not (0 < len(line) <= _ARMOR_COLUMNS and len(line) % 4 == 0)
        ):
            raise invalid
        if not re.fullmatch(r"[A-Za-z0-9+/=]+", line):
            raise invalid
    try:
        return base64.b64decode("".join(body), validate=True)
    except (binascii.Error, ValueError):
        raise invalid from None


def _b64(text: bytes) -> bytes:
    """age's base64: standard alphabet, no padding, canonical."""
    if not re.fullmatch(rb"[A-Za-z0-9+/]*", text) or len(text) % 4 == 1:
        raise binascii.Error("not canonical base64")
    decoded = base64.b64decode(text + b"=" * (-len(text) % 4), validate=True)
    if base64.b64encode(decoded).rstrip(b"=") != text:
        raise binascii.Error("not canonical base64")
    return decoded


def parse(data: bytes) -> AgeFile:
    """The header of a binary age file (its stanzas) and the size of its payload."""
    invalid = AgeFormatError(_("The header of this age file is malformed."))
    lines = data.split(b"\n")
    if not lines or lines[0] != VERSION_LINE:
        raise AgeFormatError(_("This is not an age file (age-encryption.org/v1)."))
    stanzas: list[Stanza] = []
    position = len(lines[0]) + 1
    index = 1
    try:
        while index < len(lines) and lines[index].startswith(b"-> "):
            words = lines[index][3:].split(b" ")
            if not words or not all(_ARG.fullmatch(w) for w in words):
                raise invalid
            position += len(lines[index]) + 1
            index += 1
            body = b""
            # The body's lines are full (64 columns) until a shorter one, maybe empty.
            while True:
                if index >= len(lines) - 1:
                    raise invalid
                line = lines[index]
                position += len(line) + 1
                index += 1
                if len(line) > _BODY_COLUMNS:
                    raise invalid
                body += _b64(line)
                if len(line) < _BODY_COLUMNS:
                    break
            stanzas.append(Stanza(words[0].decode(), tuple(w.decode() for w in words[1:]), body))
        if index >= len(lines) or not lines[index].startswith(b"--- "):
            raise invalid
        mac = _b64(lines[index][4:])
    except binascii.Error:
        raise invalid from None
    if len(mac) != 32 or not stanzas:
        raise invalid
    position += len(lines[index]) + 1
    # The payload: a 16-byte nonce, then chunks each ending in a 16-byte tag.
    payload_size = len(data) - position
    if payload_size < 32:
        raise AgeFormatError(_("This age file holds no encrypted content."))
    return AgeFile(tuple(stanzas), payload_size)


def _arg_bytes(arg: str, size: int) -> bool:
    try:
        return len(_b64(arg.encode())) == size
    except binascii.Error:
        return False


def passphrase_file(text: str, *, max_chars: int, min_work: int, max_work: int) -> AgeFile:
    """An armored age file sealed by a passphrase only: its one stanza is ``scrypt`` (salt
    of 16 bytes, a work factor in bounds, a 32-byte wrapped file key)."""
    parsed = parse(dearmor(text, max_chars=max_chars))
    if parsed.types() != ["scrypt"]:
        raise AgeFormatError(
            _("The private key must be sealed by a passphrase only (one scrypt stanza).")
        )
    stanza = parsed.stanzas[0]
    if (
        len(stanza.args) != 2
        or not _arg_bytes(stanza.args[0], 16)
        or not re.fullmatch(r"[1-9][0-9]?", stanza.args[1])
        or len(stanza.body) != 32
    ):
        raise AgeFormatError(_("The passphrase stanza of this age file is malformed."))
    if not min_work <= int(stanza.args[1]) <= max_work:
        raise AgeFormatError(_("The passphrase's work factor is outside the accepted bounds."))
    return parsed


def x25519_file(text: str, *, max_chars: int) -> AgeFile:
    """An armored age file sealed to one X25519 recipient: exactly one ``X25519`` stanza
    (32-byte ephemeral share, 32-byte wrapped file key), and no other recipient stanza
    than grease (``…-grease``, which age implementations add to keep parsers honest).

    Which recipient it was sealed to cannot be read from the file without the private key:
    the holder learns it at the opening, when their identity opens it."""
    parsed = parse(dearmor(text, max_chars=max_chars))
    kinds = [t for t in parsed.types() if not t.endswith("-grease")]
    if kinds != ["X25519"]:
        raise AgeFormatError(_("A key share must be sealed to exactly one X25519 public key."))
    stanza = next(s for s in parsed.stanzas if s.type == "X25519")
    if len(stanza.args) != 1 or not _arg_bytes(stanza.args[0], 32) or len(stanza.body) != 32:
        raise AgeFormatError(_("The X25519 stanza of this age file is malformed."))
    return parsed
