#!/usr/bin/env python3
"""Check, offline, that a deposit receipt is in a consultation's published Merkle tree.

Needs Python 3.8 or later and nothing else: no package of the platform, no network. The
tree is the one Certificate Transparency defines (RFC 6962 / RFC 9162): a leaf is
SHA-256(0x00 || entry), a node SHA-256(0x01 || left || right); an entry is the SHA-256
digest (32 bytes) of a deposit receipt, the receipts taken in reception order.

    python3 verify_inclusion.py --receipt receipt.json --proof proof.json \\
        --root <root published on the consultation's page> --size <count published>

``--receipt`` is the receipt file exactly as received (its SHA-256 is the entry);
``--entry`` gives the entry in hexadecimal instead. ``--proof`` is the inclusion proof
sent with the receipt (JSON: ``leaf_index``, ``tree_size``, ``path``). The root and the
size are taken from the published page, never from the proof: the check is that the
receipt leads to the root everyone can see, which was time-stamped at the deadline.

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--receipt", help="the receipt file, as received")
    source.add_argument("--entry", help="the receipt's SHA-256, hexadecimal")
    parser.add_argument("--proof", required=True, help="the inclusion proof (JSON)")
    parser.add_argument("--root", required=True, help="the published root, hexadecimal")
    parser.add_argument("--size", required=True, type=int, help="the published count")
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
    except (OSError, ValueError, KeyError, TypeError) as error:
        sys.stderr.write(f"Unusable input / entrée inutilisable : {error}\n")
        return 2
    if problem is None:
        sys.stdout.write(
            f"OK: receipt {entry.hex()} is entry {proof['leaf_index']} of the published tree "
            f"of {arguments.size} entries / le pli figure dans l'arbre publié.\n"
        )
        return 0
    sys.stdout.write(f"NOT IN THE TREE / absent de l'arbre : {problem}.\n")
    return 1


if __name__ == "__main__":
    sys.exit(main())
