"""Client secrets are stored as one SHA-256; Argon2 ones still verify; passwords never
use that hash."""

from __future__ import annotations

import pytest
from allauth.idp.oidc.models import Client
from django.contrib.auth import authenticate
from django.contrib.auth.hashers import identify_hasher, make_password
from django.test import RequestFactory

from mutualis import settings as project_settings
from mutualis.core import audit
from mutualis.identity import oidc_clients
from mutualis.identity.hashers import ClientSecretSHA256Hasher

PRODUCTION_HASHERS = project_settings.PASSWORD_HASHERS


def machine_client(**options):
    return oidc_clients.register_client(
        actor=audit.SystemActor("test"),
        name="Entrepôt",
        scopes=["openid"],
        grant_types=["client_credentials"],
        **options,
    )


def test_the_fast_hasher_is_listed_last_never_first():
    assert PRODUCTION_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    assert PRODUCTION_HASHERS[-1] == "mutualis.identity.hashers.ClientSecretSHA256Hasher"


@pytest.mark.django_db
def test_a_new_secret_has_256_bits_and_is_stored_as_sha256(settings):
    settings.PASSWORD_HASHERS = PRODUCTION_HASHERS
    client, secret = machine_client()

    client.refresh_from_db()
    assert len(secret) == 43  # 32 bytes, URL-safe base64
    assert client.secret.startswith("client_secret_sha256$")
    assert secret not in client.secret
    assert client.check_secret(secret)
    assert not client.check_secret(secret[:-1] + ("A" if secret[-1] != "A" else "B"))


@pytest.mark.django_db
def test_a_public_client_has_no_usable_secret(settings):
    settings.PASSWORD_HASHERS = PRODUCTION_HASHERS
    client, secret = oidc_clients.register_client(
        actor=audit.SystemActor("test"),
        name="Appli",
        redirect_uris=["https://appli.example.fr/cb"],
        confidential=False,
    )
    assert secret is None
    assert not client.check_secret("")
    assert client.secret.startswith("!")


@pytest.mark.django_db
def test_an_argon2_secret_keeps_working_until_renewed(settings):
    settings.PASSWORD_HASHERS = PRODUCTION_HASHERS
    client, _secret = machine_client()
    old_secret = "an-old-secret-from-before"
    Client.objects.filter(pk=client.pk).update(secret=make_password(old_secret))
    client.refresh_from_db()
    assert identify_hasher(client.secret).algorithm == "argon2"

    assert client.check_secret(old_secret)
    client.refresh_from_db()
    assert identify_hasher(client.secret).algorithm == "argon2"  # not rewritten

    client, new_secret = oidc_clients.rotate_client_secret(
        actor=audit.SystemActor("test"), client_id=client.pk
    )
    client.refresh_from_db()
    assert client.secret.startswith("client_secret_sha256$")
    assert client.check_secret(new_secret)
    assert not client.check_secret(old_secret)


@pytest.mark.django_db
def test_passwords_are_hashed_and_upgraded_with_argon2_only(settings):
    from tests.factories.identity import UserFactory

    settings.PASSWORD_HASHERS = PRODUCTION_HASHERS
    user = UserFactory(email="agent@example.org")
    user.set_password("a long enough password")
    user.save()
    assert identify_hasher(user.password).algorithm == "argon2"

    # An older PBKDF2 hash is upgraded to the first hasher at the next login.
    user.password = make_password("a long enough password", hasher="pbkdf2_sha256")
    user.save()
    assert (
        authenticate(
            RequestFactory().post("/accounts/login/"),
            email="agent@example.org",
            password="a long enough password",
        )
        == user
    )
    user.refresh_from_db()
    assert identify_hasher(user.password).algorithm == "argon2"


@pytest.mark.django_db
def test_a_password_stored_with_the_secret_hash_is_refused(settings):
    from tests.factories.identity import UserFactory

    settings.PASSWORD_HASHERS = PRODUCTION_HASHERS
    user = UserFactory(email="agent@example.org")
    user.password = ClientSecretSHA256Hasher().encode("a long enough password", "")
    user.save()

    assert not user.check_password("a long enough password")
    assert (
        authenticate(
            RequestFactory().post("/accounts/login/"),
            email="agent@example.org",
            password="a long enough password",
        )
        is None
    )
    user.refresh_from_db()
    assert user.password.startswith("client_secret_sha256$")  # not "upgraded" either
