"""Second-factor secrets are sealed in the database: a reader of a backup cannot compute
anyone's codes (mutualis.identity.mfa_adapter, docs/security.md)."""

from __future__ import annotations

import importlib
import json

import pytest
from allauth.mfa.models import Authenticator
from django.apps import apps as django_apps
from django.urls import reverse

from mutualis.identity.mfa_adapter import PREFIX, seal, unseal
from mutualis.identity.services import ensure_user
from tests.factories.identity import PASSWORD, make_member
from tests.factories.mfa import TOTP_SECRET, give_authenticator_app, totp_code

pytestmark = pytest.mark.django_db

AUTHENTICATE = reverse("mfa_authenticate")


@pytest.fixture
def app_user(org_a):
    user = ensure_user(email="admin@example.org", password=PASSWORD)
    make_member(org_a, user.email, roles=["org_admin"])
    give_authenticator_app(user)
    return user


def stored(user, kind: str) -> dict:
    return Authenticator.objects.get(user=user, type=kind).data


def test_the_totp_secret_and_the_recovery_seed_are_stored_sealed(app_user):
    totp = stored(app_user, Authenticator.Type.TOTP)
    recovery = stored(app_user, Authenticator.Type.RECOVERY_CODES)

    assert totp["secret"].startswith(PREFIX)
    assert recovery["seed"].startswith(PREFIX)
    everything = json.dumps([totp, recovery])
    assert TOTP_SECRET not in everything
    assert unseal(totp["secret"]) == TOTP_SECRET


def test_a_person_signs_in_with_a_sealed_secret(client, app_user):
    client.post(reverse("account_login"), {"login": app_user.email, "password": PASSWORD})

    response = client.post(AUTHENTICATE, {"code": totp_code()})

    assert response.status_code == 302
    assert "_auth_user_id" in client.session


def test_the_recovery_codes_read_from_a_sealed_seed_work(client, app_user):
    recovery = Authenticator.objects.get(user=app_user, type=Authenticator.Type.RECOVERY_CODES)
    code = recovery.wrap().get_unused_codes()[0]
    client.post(reverse("account_login"), {"login": app_user.email, "password": PASSWORD})

    response = client.post(AUTHENTICATE, {"code": code})

    assert response.status_code == 302
    recovery.refresh_from_db()
    assert code not in recovery.wrap().get_unused_codes()


def test_the_migration_seals_what_was_stored_in_clear_and_keeps_it_usable(client, app_user):
    totp = Authenticator.objects.get(user=app_user, type=Authenticator.Type.TOTP)
    recovery = Authenticator.objects.get(user=app_user, type=Authenticator.Type.RECOVERY_CODES)
    codes_before = recovery.wrap().get_unused_codes()
    # As stored before the adapter sealed anything.
    totp.data = {"secret": TOTP_SECRET}
    totp.save()
    recovery.data = {**recovery.data, "seed": unseal(recovery.data["seed"])}
    recovery.save()
    assert unseal(TOTP_SECRET) == TOTP_SECRET  # read as it is meanwhile

    migration = importlib.import_module(
        "mutualis.identity.migrations.0010_seal_second_factor_secrets"
    )
    migration.seal_all(django_apps, None)
    migration.seal_all(django_apps, None)  # a second run changes nothing

    totp.refresh_from_db()
    recovery.refresh_from_db()
    assert totp.data["secret"].startswith(PREFIX)
    assert unseal(totp.data["secret"]) == TOTP_SECRET
    assert not unseal(totp.data["secret"]).startswith(PREFIX)
    assert recovery.wrap().get_unused_codes() == codes_before
    client.post(reverse("account_login"), {"login": app_user.email, "password": PASSWORD})
    assert client.post(AUTHENTICATE, {"code": totp_code()}).status_code == 302


def test_a_rotated_secret_key_kept_as_fallback_still_opens_the_seals(settings):
    settings.SECRET_KEY = "old-key-" + "x" * 50
    sealed = seal(TOTP_SECRET)

    settings.SECRET_KEY = "new-key-" + "y" * 50
    settings.SECRET_KEY_FALLBACKS = ["old-key-" + "x" * 50]
    assert unseal(sealed) == TOTP_SECRET

    settings.SECRET_KEY_FALLBACKS = []
    with pytest.raises(ValueError, match="SECRET_KEY_FALLBACKS"):
        unseal(sealed)


def test_each_seal_is_different_and_names_no_secret():
    first, second = seal(TOTP_SECRET), seal(TOTP_SECRET)

    assert first != second
    assert TOTP_SECRET not in first
