"""Merkle trees as RFC 6962 / RFC 9162 define them: the roots of Certificate
Transparency's reference vectors, inclusion and consistency proofs that verify for every
size and index, proofs that fail once anything is changed, and the standard-library
script a bidder runs giving the same answers as the module."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mutualis.evidence import merkle

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "verify_inclusion.py"


def _load_script():
    spec = importlib.util.spec_from_file_location("verify_inclusion", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


script = _load_script()

# The leaves and roots of Certificate Transparency's reference tests (RFC 6962's
# implementation, merkle_tree_test): the root of the first n leaves, for n = 1..8.
CT_LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    bytes(range(0x50, 0x58)),
    bytes(range(0x60, 0x70)),
]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def entries(n: int) -> list[bytes]:
    """n receipt digests, as a consultation's log holds them."""
    return [hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(n)]


@pytest.mark.parametrize("size", range(1, 9))
def test_roots_match_certificate_transparencys_reference(size):
    assert merkle.root(CT_LEAVES[:size]).hex() == CT_ROOTS[size - 1]


def test_the_root_of_no_entries_is_the_hash_of_nothing():
    assert merkle.root([]) == hashlib.sha256(b"").digest()


def test_a_leaf_cannot_pass_for_a_node():
    """The two prefixes: the two children of a node, given as one leaf, give another root."""
    pair = entries(2)
    forged = merkle.leaf_hash(pair[0]) + merkle.leaf_hash(pair[1])

    assert merkle.root([forged]) != merkle.root(pair)


def test_every_entry_of_every_size_up_to_70_proves_its_inclusion():
    """A deterministic walk of every (size, index) pair: the module and the script agree."""
    for size in range(1, 71):
        tree = entries(size)
        expected = merkle.root(tree)
        for index in range(size):
            path = merkle.inclusion_proof(tree, index)
            assert merkle.verify_inclusion(
                entry=tree[index], index=index, size=size, path=path, expected_root=expected
            ), (size, index)
            leaf = script.leaf_hash(tree[index])
            assert script.root_from_inclusion(leaf, index, size, path) == expected


def test_every_prefix_of_every_size_up_to_40_proves_its_consistency():
    for size in range(1, 41):
        tree = entries(size)
        new_root = merkle.root(tree)
        for old in range(1, size + 1):
            proof = merkle.consistency_proof(tree, old)
            assert merkle.verify_consistency(
                old_size=old,
                new_size=size,
                old_root=merkle.root(tree[:old]),
                new_root=new_root,
                proof=proof,
            ), (old, size)


@given(st.integers(1, 600).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n - 1))))
def test_inclusion_holds_for_any_size(size_and_index):
    size, index = size_and_index
    tree = entries(size)
    path = merkle.inclusion_proof(tree, index)

    assert merkle.verify_inclusion(
        entry=tree[index], index=index, size=size, path=path, expected_root=merkle.root(tree)
    )
    # A path never longer than the tree's height.
    assert len(path) <= max(0, (size - 1).bit_length())


@given(
    st.integers(2, 300).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n - 1))),
    st.data(),
)
def test_an_altered_inclusion_proof_fails(size_and_index, data):
    size, index = size_and_index
    tree = entries(size)
    path = merkle.inclusion_proof(tree, index)
    expected = merkle.root(tree)
    other_index = data.draw(st.integers(0, size - 1).filter(lambda i: i != index))
    position = data.draw(st.integers(0, len(path) - 1))
    altered = list(path)
    altered[position] = bytes([altered[position][0] ^ 1]) + altered[position][1:]

    def holds(**changes):
        arguments = {
            "entry": tree[index],
            "index": index,
            "size": size,
            "path": path,
            "expected_root": expected,
            **changes,
        }
        return merkle.verify_inclusion(**arguments)

    assert not holds(path=altered)
    assert not holds(entry=tree[other_index])
    assert not holds(index=other_index)
    # (Another size may lead to the same root for a leaf of a complete left subtree: the
    # size is bound by being published, and time-stamped, with the root.)
    assert not holds(path=path[:-1])
    assert not holds(path=[*path, expected])


@given(st.integers(2, 300).flatmap(lambda n: st.tuples(st.integers(1, n - 1), st.just(n))))
def test_consistency_holds_and_a_changed_old_tree_fails(old_and_new):
    old, new = old_and_new
    tree = entries(new)
    proof = merkle.consistency_proof(tree, old)
    old_root = merkle.root(tree[:old])
    new_root = merkle.root(tree)
    rewritten = [*tree[: old - 1], b"replaced", *tree[old:]]

    assert merkle.verify_consistency(
        old_size=old, new_size=new, old_root=old_root, new_root=new_root, proof=proof
    )
    assert not merkle.verify_consistency(
        old_size=old,
        new_size=new,
        old_root=merkle.root(rewritten[:old]),
        new_root=new_root,
        proof=proof,
    )
    assert not merkle.verify_consistency(
        old_size=old, new_size=new, old_root=old_root, new_root=merkle.root(rewritten), proof=proof
    )


def test_the_same_size_is_consistent_only_with_the_same_root():
    tree = entries(5)
    root = merkle.root(tree)

    assert merkle.verify_consistency(old_size=5, new_size=5, old_root=root, new_root=root, proof=[])
    assert not merkle.verify_consistency(
        old_size=5, new_size=5, old_root=root, new_root=merkle.root(entries(6)), proof=[]
    )


def test_proofs_refuse_indexes_outside_the_tree():
    with pytest.raises(IndexError):
        merkle.inclusion_proof(entries(3), 3)
    with pytest.raises(IndexError):
        merkle.consistency_proof(entries(3), 0)


# --- The bidder's script ---------------------------------------------------------------


def run_script(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 — this interpreter, the repository's script.
        [sys.executable, "-I", str(SCRIPT), *arguments],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def published(tmp_path):
    """Seven receipts; the bidder holds the fourth, with its proof."""
    receipts = [f'{{"deposit": "D-{i}", "lot": 1}}'.encode() for i in range(7)]
    tree = [hashlib.sha256(r).digest() for r in receipts]
    (tmp_path / "receipt.json").write_bytes(receipts[3])
    (tmp_path / "proof.json").write_text(json.dumps(merkle.inclusion_document(tree, 3)))
    (tmp_path / "other.json").write_bytes(b'{"deposit": "D-99", "lot": 1}')
    return tmp_path, merkle.root(tree).hex(), len(tree)


def test_the_script_finds_the_receipt_in_the_published_tree(published):
    directory, root, size = published

    result = run_script(
        "--receipt", str(directory / "receipt.json"), "--proof", str(directory / "proof.json"),
        "--root", root, "--size", str(size),
    )  # fmt: skip

    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK" in result.stdout


def test_the_script_refuses_another_receipt_root_or_size(published):
    directory, root, size = published
    proof = str(directory / "proof.json")
    receipt = str(directory / "receipt.json")
    other_root = merkle.root(entries(7)).hex()

    another_receipt = run_script(
        "--receipt", str(directory / "other.json"), "--proof", proof, "--root", root,
        "--size", str(size),
    )  # fmt: skip
    another_root = run_script(
        "--receipt", receipt, "--proof", proof, "--root", other_root, "--size", str(size)
    )
    another_size = run_script(
        "--receipt", receipt, "--proof", proof, "--root", root, "--size", str(size + 1)
    )
    garbage = run_script("--receipt", receipt, "--proof", receipt, "--root", "zz", "--size", "7")

    assert [r.returncode for r in (another_receipt, another_root, another_size)] == [1, 1, 1]
    assert "NOT IN THE TREE" in another_root.stdout
    assert garbage.returncode == 2
