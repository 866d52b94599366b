#!/usr/bin/env python3
"""Check, offline, that a deposit receipt is in a consultation's published Merkle tree.

Needs Python 3.8 or later and nothing else: no package of the platform, no network. The
tree is the one Certificate Transparency defines (RFC 6962 / RFC 9162): a leaf is
SHA-256(0x00 || entry), a node SHA-256(0x01 || left || right); an entry is the SHA-256
digest (32 bytes) of a deposit receipt, the receipts taken in reception order.

    python3 verify_inclusion.py --receipt receipt.json --proof proof.json \\
        --root <root published on the consultation's page> --size <count published>

    python3 verify_inclusion.py --receipt receipt.json --proof proof.json \\
        --root <root> --size <count> --token root.tst

``--receipt`` is the receipt file exactly as received (its SHA-256 is the entry);
``--entry`` gives the entry in hexadecimal instead. ``--proof`` is the inclusion proof
sent with the receipt (JSON: ``leaf_index``, ``tree_size``, ``path``). The root and the
size are taken from the published page, never from the proof: the check is that the
receipt leads to the root everyone can see, which was time-stamped at the deadline.

``--token`` is the time-stamp token of the root downloaded from the consultation's page
(DER): the script checks that it covers the published root (its message imprint) and
prints the time it states; the token's signature is checked with OpenSSL, against the
authority's certificate published on the platform's time-stamping page::

    openssl ts -verify -digest <root> -in root.tst -token_in -CAfile tsa-certificate.pem

Exit status 0 when the receipt is in the tree, 1 when it is not, 2 on unusable input.
(docs/evidence.md describes the procedure; the same check in French on the platform's
time-stamping page.)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_inclusion(leaf: bytes, index: int, size: int, path: list[bytes]) -> bytes | None:
    """RFC 9162, 2.1.3.2: the root the path leads to, or None if no tree of this size
    has such a path."""
    if not 0 <= index < size:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        return None
    return r


def check(entry: bytes, proof: dict, published_root: bytes, published_size: int) -> str | None:
    """None when ``entry`` is in the published tree, else why not."""
    if int(proof["tree_size"]) != published_size:
        return "the proof is for a tree of another size than the published one"
    path = [bytes.fromhex(p) for p in proof["path"]]
    if "entry" in proof and bytes.fromhex(proof["entry"]) != entry:
        return "the proof is for another receipt"
    computed = root_from_inclusion(leaf_hash(entry), int(proof["leaf_index"]), published_size, path)
    if computed is None:
        return "the proof does not fit a tree of this size"
    if computed != published_root:
        return "the receipt and the proof lead to another root than the published one"
    return None


# --- Reading a time-stamp token (DER), just enough to find what it covers and when -------

SHA256_OID = bytes.fromhex("0609608648016503040201")  # OBJECT IDENTIFIER 2.16.840.1.101.3.4.2.1
TST_INFO_OID = bytes.fromhex("060b2a864886f70d0109100104")  # id-ct-TSTInfo


def _element(data: bytes, offset: int) -> tuple[int, int, int]:
    """(tag, start of content, end of content) of the DER element at ``offset``."""
    tag = data[offset]
    length = data[offset + 1]
    start = offset + 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4:
            raise ValueError("unsupported DER length")
        length = int.from_bytes(data[start : start + count], "big")
        start += count
    end = start + length
    if end > len(data):
        raise ValueError("truncated DER")
    return tag, start, end


def _children(data: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    found, offset = [], start
    while offset < end:
        element = _element(data, offset)
        found.append(element)
        offset = element[2]
    return found


def token_statement(token: bytes) -> tuple[bytes, str]:
    """The SHA-256 digest a token covers and the time it states (GeneralizedTime text),
    read from its TSTInfo; the signature is OpenSSL's to check."""
    at = token.find(TST_INFO_OID)
    if at < 0:
        raise ValueError("not a time-stamp token")
    # eContent [0] EXPLICIT OCTET STRING follows the content type.
    _tag, _start, after_oid = _element(token, at)
    tag, start, end = _element(token, after_oid)
    if tag != 0xA0:
        raise ValueError("no TSTInfo in the token")
    tag, start, end = _element(token, start)
    if tag != 0x04:
        raise ValueError("no TSTInfo in the token")
    tag, start, end = _element(token, start)  # TSTInfo SEQUENCE
    fields = _children(token, start, end)
    # version, policy, messageImprint, serialNumber, genTime, ...
    imprint = _children(token, fields[2][1], fields[2][2])
    algorithm = token[imprint[0][1] : imprint[0][2]]
    if not algorithm.startswith(SHA256_OID):
        raise ValueError("the token does not cover a SHA-256 digest")
    digest = token[imprint[1][1] : imprint[1][2]]
    gen_time = token[fields[4][1] : fields[4][2]].decode("ascii")
    return digest, gen_time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--receipt", help="the receipt file, as received")
    source.add_argument("--entry", help="the receipt's SHA-256, hexadecimal")
    parser.add_argument("--proof", required=True, help="the inclusion proof (JSON)")
    parser.add_argument("--root", required=True, help="the published root, hexadecimal")
    parser.add_argument("--size", required=True, type=int, help="the published count")
    parser.add_argument("--token", help="the root's time-stamp token (DER), optional")
    arguments = parser.parse_args(argv)
    try:
        if arguments.receipt:
            with open(arguments.receipt, "rb") as handle:
                entry = hashlib.sha256(handle.read()).digest()
        else:
            entry = bytes.fromhex(arguments.entry)
        with open(arguments.proof, encoding="utf-8") as handle:
            proof = json.load(handle)
        published_root = bytes.fromhex(arguments.root.strip().lower())
        problem = check(entry, proof, published_root, arguments.size)
        stamped_at = None
        if problem is None and arguments.token:
            with open(arguments.token, "rb") as handle:
                covered, stamped_at = token_statement(handle.read())
            if covered != published_root:
                problem = "the time-stamp token covers another root than the published one"
    except (OSError, ValueError, KeyError, TypeError, IndexError) as error:
        sys.stderr.write(f"Unusable input / entrée inutilisable : {error}\n")
        return 2
    if problem is None:
        sys.stdout.write(
            f"OK: receipt {entry.hex()} is entry {proof['leaf_index']} of the published tree "
            f"of {arguments.size} entries / le pli figure dans l'arbre publié.\n"
        )
        if stamped_at is not None:
            sys.stdout.write(
                f"The token covers this root, time-stamped at {stamped_at} (UTC) / racine "
                "horodatée ; check its signature with: openssl ts -verify -digest "
                f"{published_root.hex()} -in {arguments.token} -token_in -CAfile "
                "tsa-certificate.pem\n"
            )
        return 0
    sys.stdout.write(f"NOT IN THE TREE / absent de l'arbre : {problem}.\n")
    return 1


if __name__ == "__main__":
    sys.exit(main())
