"""`seed_demo` runs only on a demo instance, and every account it creates is recognisable
as the demo's, so that `check --deploy` can warn about them."""

from __future__ import annotations

from io import StringIO

import pytest
from django.conf import settings as django_settings
from django.core import checks
from django.core.management import call_command
from django.core.management.base import CommandError

from mutualis.core.demo import DEMO_EMAIL_SUFFIX
from mutualis.core.models import Organisation
from mutualis.identity import checks as identity_checks
from mutualis.identity.models import User
from tests.factories.identity import UserFactory

pytestmark = pytest.mark.django_db


def test_the_demo_key_makes_the_demo_and_any_other_key_does_not():
    # The test settings run on the built-in key, like `make demo`.
    assert django_settings.SECRET_KEY.startswith("django-insecure-demo-key-")
    assert django_settings.MUTUALIS_DEMO is True


def test_seed_demo_refuses_when_the_instance_is_not_a_demo(settings):
    settings.MUTUALIS_DEMO = False
    with pytest.raises(CommandError, match="not configured as a demo"):
        call_command("seed_demo", stdout=StringIO())
    assert not Organisation.objects.filter(slug=settings.MUTUALIS_OPERATOR_SLUG).exists()
    assert not User.objects.exists()


def test_every_demo_account_is_in_the_reserved_domain_and_the_check_sees_them():
    call_command("import_territory", "--region", "27", stdout=StringIO())
    assert identity_checks.demo_accounts() == []
    call_command("seed_demo", stdout=StringIO())

    emails = list(User.objects.values_list("email", flat=True))
    assert len(emails) >= 5
    assert all(email.endswith(DEMO_EMAIL_SUFFIX) for email in emails)
    [warning] = identity_checks.demo_accounts()
    assert warning.id == "identity.W001"
    assert warning.level == checks.WARNING
    assert warning.msg.startswith(f"{len(emails)} account(s)")


def test_real_accounts_raise_no_warning():
    UserFactory(email="agent@mairie-exemple.fr")
    UserFactory(email="someone@localhost.example.org")
    assert identity_checks.demo_accounts() == []


def test_the_check_runs_with_deploy_checks_only():
    deploy = checks.registry.registry.get_checks(include_deployment_checks=True)
    ordinary = checks.registry.registry.get_checks(include_deployment_checks=False)
    assert identity_checks.demo_accounts in deploy
    assert identity_checks.demo_accounts not in ordinary
