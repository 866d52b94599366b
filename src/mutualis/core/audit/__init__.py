"""The hash-chained audit trail: record events, sign checkpoints, verify chains.

Every state change of the platform appends one event to the chain of the organisation
(or company) concerned, or to the platform's chain, in the same transaction as the
change. Writers lock the chain's head row, so that two concurrent writers never take
the same sequence number or the same previous hash (a fork).

A hash chain alone proves nothing about its end: whoever deletes the last events and
rewinds the head leaves a chain that is perfectly consistent. So a job signs the head of
every chain each minute (``checkpoint_all_chains``) with the platform's Ed25519 key and
keeps the signed statement twice, in the database and appended to a file outside it;
``verify_all_chains`` then checks each chain against itself and against every checkpoint
it finds in both places.

Personal data never enters the hashed fields: the actor is a pseudonym whose identity
lives in ``AuditSubject``, the source address in ``AuditEventContext``; the payload holds
identifiers, not names. ``erase_subject`` blanks those rows without touching a chain.
"""

from .chain import (
    CHECKPOINT_FORMAT,
    EVENT_FORMAT,
    GENESIS_HASH,
    PLATFORM_CHAIN,
    SYSTEM,
    SystemActor,
    canonical_json,
    company_chain,
    erase_subject,
    event_hash,
    hash_of,
    normalise_payload,
    organisation_chain,
    payload_digest,
    record,
    request_context,
    subject_reference,
)
from .keys import checkpoint_message, generate_signing_key, key_id, load_signing_key
from .verification import (
    PLACES,
    AuditChainBroken,
    Problem,
    VerifyReport,
    checkpoint_all_chains,
    read_checkpoint_file,
    verify_all_chains,
)

__all__ = [
    "CHECKPOINT_FORMAT",
    "EVENT_FORMAT",
    "GENESIS_HASH",
    "PLACES",
    "PLATFORM_CHAIN",
    "SYSTEM",
    "AuditChainBroken",
    "Problem",
    "SystemActor",
    "VerifyReport",
    "canonical_json",
    "checkpoint_all_chains",
    "checkpoint_message",
    "company_chain",
    "erase_subject",
    "event_hash",
    "generate_signing_key",
    "hash_of",
    "key_id",
    "load_signing_key",
    "normalise_payload",
    "organisation_chain",
    "payload_digest",
    "read_checkpoint_file",
    "record",
    "request_context",
    "subject_reference",
    "verify_all_chains",
]
