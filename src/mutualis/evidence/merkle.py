"""Merkle trees as Certificate Transparency defines them (RFC 6962, 2.1; RFC 9162, 2.1).

A tree over an ordered list of entries (a consultation's receipts in reception order):

- a leaf is ``SHA-256(0x00 || entry)``, an inner node ``SHA-256(0x01 || left || right)``:
  the two prefixes keep a leaf from passing for a node (a second-preimage attack);
- a list of ``n > 1`` entries splits at ``k``, the largest power of two below ``n``: the
  first ``k`` entries form the left subtree, the rest the right one, so that a tree of
  any size has one root and a larger tree keeps every smaller one's subtrees;
- the root of no entries is ``SHA-256()``.

An inclusion proof shows that an entry is at an index of a tree of a given size and root;
a consistency proof that a tree of size ``m`` is the prefix of one of size ``n`` (nothing
removed or changed, only entries appended). The verifiers follow RFC 9162 (2.1.3.2 and
2.1.4.2) step by step; ``scripts/verify_inclusion.py`` repeats the inclusion check with
the standard library only, so that a bidder needs nothing of the platform's.

Every function here is pure: the tree is recomputed from the entries (a few thousand
receipts per consultation: milliseconds).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from .errors import InvalidProof

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def _root(hashes: Sequence[bytes]) -> bytes:
    n = len(hashes)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashes[0]
    k = _split(n)
    return node_hash(_root(hashes[:k]), _root(hashes[k:]))


def root(entries: Sequence[bytes]) -> bytes:
    """The Merkle tree hash of ``entries`` (RFC 9162's MTH)."""
    return _root([leaf_hash(e) for e in entries])


def _path(index: int, hashes: Sequence[bytes]) -> list[bytes]:
    n = len(hashes)
    if n <= 1:
        return []
    k = _split(n)
    if index < k:
        return [*_path(index, hashes[:k]), _root(hashes[k:])]
    return [*_path(index - k, hashes[k:]), _root(hashes[:k])]


def inclusion_proof(entries: Sequence[bytes], index: int) -> list[bytes]:
    """The audit path of entry ``index`` in the tree of ``entries`` (RFC 9162's PATH)."""
    if not 0 <= index < len(entries):
        raise IndexError("The index is outside the tree.")
    return _path(index, [leaf_hash(e) for e in entries])


def _subproof(m: int, hashes: Sequence[bytes], complete: bool) -> list[bytes]:
    n = len(hashes)
    if m == n:
        return [] if complete else [_root(hashes)]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, hashes[:k], complete), _root(hashes[k:])]
    return [*_subproof(m - k, hashes[k:], False), _root(hashes[:k])]


def consistency_proof(entries: Sequence[bytes], old_size: int) -> list[bytes]:
    """The proof that the first ``old_size`` entries' tree is a prefix of the tree of
    ``entries`` (RFC 9162's PROOF)."""
    if not 0 < old_size <= len(entries):
        raise IndexError("The old size must be between 1 and the tree's size.")
    return _subproof(old_size, [leaf_hash(e) for e in entries], True)


def _lsb(value: int) -> bool:
    return bool(value & 1)


def root_from_inclusion(*, leaf: bytes, index: int, size: int, path: Sequence[bytes]) -> bytes:
    """The root that ``path`` leads to from the leaf hash ``leaf`` at ``index`` of a tree
    of ``size`` entries (RFC 9162, 2.1.3.2); raises :class:`InvalidProof` when the path
    cannot belong to such a tree."""
    if not 0 <= index < size:
        raise InvalidProof
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            raise InvalidProof
        if _lsb(fn) or fn == sn:
            r = node_hash(p, r)
            if not _lsb(fn):
                while not _lsb(fn) and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise InvalidProof
    return r


def verify_inclusion(
    *, entry: bytes, index: int, size: int, path: Sequence[bytes], expected_root: bytes
) -> bool:
    """Whether ``entry`` is at ``index`` of the tree of ``size`` entries whose root is
    ``expected_root``."""
    try:
        computed = root_from_inclusion(leaf=leaf_hash(entry), index=index, size=size, path=path)
    except InvalidProof:
        return False
    return computed == expected_root


def verify_consistency(
    *, old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Whether the tree of ``old_size`` entries and root ``old_root`` is a prefix of the
    tree of ``new_size`` entries and root ``new_root`` (RFC 9162, 2.1.4.2)."""
    if not 0 < old_size <= new_size:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is a node of the path
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while _lsb(fn):
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if _lsb(fn) or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not _lsb(fn):
                while not _lsb(fn) and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root


def inclusion_document(entries: Sequence[bytes], index: int) -> dict[str, Any]:
    """What a bidder receives with its receipt: everything ``scripts/verify_inclusion.py``
    needs besides the published root and size, which it must take from the consultation's
    page, not from this document."""
    return {
        "format": "mutualis-merkle-inclusion/1",
        "hash": "sha256",
        "tree_size": len(entries),
        "leaf_index": index,
        "entry": entries[index].hex(),
        "path": [p.hex() for p in inclusion_proof(entries, index)],
        "root": root(entries).hex(),
    }
