"""The hashing rules of the audit trail: canonical JSON, payload digest, event hash."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from mutualis.core import audit

FIELDS = {
    "chain": "org:1",
    "sequence": 7,
    "prev_hash": "a" * 64,
    "occurred_at": datetime(2026, 3, 29, 1, 30, 0, 123456, tzinfo=UTC),
    "organisation_id": 1,
    "actor": "user:" + str(uuid.UUID(int=1)),
    "action": "consultation.published",
    "object_type": "procurement.consultation",
    "object_id": "42",
    "digest": "b" * 64,
}

OTHER_VALUES = {
    "chain": "org:2",
    "sequence": 8,
    "prev_hash": "c" * 64,
    "occurred_at": FIELDS["occurred_at"] + timedelta(microseconds=1),
    "organisation_id": None,
    "actor": "system:platform",
    "action": "consultation.closed",
    "object_type": "procurement.bid",
    "object_id": "43",
    "digest": "d" * 64,
}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


def test_canonical_json_sorts_keys_drops_spaces_and_keeps_accents():
    assert audit.canonical_json({"b": 1, "a": ["é", None]}) == '{"a":["é",null],"b":1}'.encode()


def test_canonical_json_refuses_nan():
    """NaN cannot be stored in PostgreSQL's jsonb, so its digest could never be checked."""
    with pytest.raises(ValueError, match="JSON compliant"):
        audit.canonical_json({"score": float("nan")})


@given(st.dictionaries(st.text(max_size=8), json_values, max_size=8), st.randoms())
def test_payload_digest_ignores_key_order(payload, random):
    items = list(payload.items())
    random.shuffle(items)
    assert audit.payload_digest(dict(items)) == audit.payload_digest(payload)


@given(st.dictionaries(st.text(max_size=8), json_values, max_size=8))
def test_normalised_payload_survives_a_json_round_trip(payload):
    """What is hashed is what the database gives back, so verify can recompute it."""
    normalised = audit.normalise_payload(payload)
    assert json.loads(json.dumps(normalised)) == normalised
    assert audit.payload_digest(json.loads(json.dumps(normalised))) == audit.payload_digest(
        normalised
    )


def test_normalised_payload_turns_tuples_and_decimals_into_json():
    assert audit.normalise_payload({"roles": ("a", "b"), "amount": Decimal("12.50")}) == {
        "amount": "12.50",
        "roles": ["a", "b"],
    }


def test_payload_digest_changes_with_any_value():
    assert audit.payload_digest({"amount": "12.50"}) != audit.payload_digest({"amount": "12.51"})


def test_event_hash_is_a_sha256_hex_digest_and_deterministic():
    first = audit.event_hash(**FIELDS)
    assert first == audit.event_hash(**FIELDS)
    assert len(first) == 64
    int(first, 16)


@pytest.mark.parametrize("field", sorted(FIELDS))
def test_changing_any_hashed_field_changes_the_hash(field):
    assert audit.event_hash(**{**FIELDS, field: OTHER_VALUES[field]}) != audit.event_hash(**FIELDS)


def test_event_hash_does_not_depend_on_the_time_zone_of_the_instant():
    paris = timezone(timedelta(hours=2))
    same_instant = FIELDS["occurred_at"].astimezone(paris)
    assert audit.event_hash(**{**FIELDS, "occurred_at": same_instant}) == audit.event_hash(**FIELDS)


def test_no_separator_can_move_text_from_one_field_to_the_next():
    shifted = {**FIELDS, "object_type": "procurement.bid|4", "object_id": "2"}
    unshifted = {**FIELDS, "object_type": "procurement.bid", "object_id": "4|2"}
    assert audit.event_hash(**shifted) != audit.event_hash(**unshifted)


def test_a_checkpoint_signature_covers_chain_sequence_hash_and_time():
    key = Ed25519PrivateKey.generate()
    signed = ("org:1", 12, "e" * 64, "2026-03-29T01:30:00+00:00")
    signature = key.sign(audit.checkpoint_message(*signed))
    key.public_key().verify(signature, audit.checkpoint_message(*signed))
    for index, other in enumerate(("org:2", 11, "f" * 64, "2026-03-29T01:31:00+00:00")):
        forged = list(signed)
        forged[index] = other
        with pytest.raises(InvalidSignature):
            key.public_key().verify(signature, audit.checkpoint_message(*forged))


def test_subject_reference_is_the_pseudonym_in_one_spelling():
    pseudonym = uuid.UUID(int=5)
    assert audit.subject_reference(pseudonym) == audit.subject_reference(str(pseudonym).upper())
    assert audit.subject_reference(pseudonym) == f"user:{pseudonym}"
