"""The one invitation mechanism (``core.invitations``): tokens, digests, lifetime and
the reading of a link's validity, whichever context invites."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from mutualis.companies.models import CompanyInvitation
from mutualis.core import errors
from mutualis.core import invitations as links
from mutualis.identity.models import Invitation

NOW = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


def test_a_token_names_its_owner_and_carries_256_random_bits():
    token, digest = links.issue_token(42)

    owner, _dot, secret = token.partition(".")
    assert owner == "42"
    assert len(base64.urlsafe_b64decode(secret + "=")) == 32
    assert digest == hashlib.sha256(token.encode()).hexdigest()
    assert links.owner_of(token) == 42
    assert links.issue_token(42)[0] != token


@pytest.mark.parametrize(
    "token", ["", "nothing", ".secret", "42.", "x1.secret", "٤٢.secret", "1" * 19 + ".secret"]
)
def test_a_token_without_an_owner_is_not_found(token):
    with pytest.raises(errors.InvitationNotFound):
        links.owner_of(token)


def test_the_lifetime_is_read_from_the_setting_at_each_use(settings):
    settings.MUTUALIS_INVITATION_DAYS = 3
    assert links.expiry(NOW) == NOW + timedelta(days=3)
    settings.MUTUALIS_INVITATION_DAYS = 10
    assert links.validity_days() == 10


@pytest.mark.parametrize("model", [Invitation, CompanyInvitation])
def test_both_contexts_read_a_links_validity_the_same_way(model):
    live = model(expires_at=NOW + timedelta(seconds=1))
    assert live.refusal(NOW) is None
    assert live.is_open

    at_expiry = model(expires_at=NOW)
    assert isinstance(at_expiry.refusal(NOW), errors.InvitationExpired)

    used = model(expires_at=NOW - timedelta(days=1), accepted_at=NOW)
    assert isinstance(used.refusal(NOW), errors.InvitationUsed)
    assert not used.is_open

    revoked = model(expires_at=NOW + timedelta(days=1), revoked_at=NOW)
    assert isinstance(revoked.refusal(NOW), errors.InvitationRevoked)


def test_both_tables_store_the_digest_under_one_name():
    for model in (Invitation, CompanyInvitation):
        field = model._meta.get_field("token_digest")
        assert (field.max_length, field.unique, field.editable) == (64, True, False)
