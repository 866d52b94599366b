"""Background jobs of the identity context (Django's tasks API)."""

from django.core.management import call_command
from django_tasks import task


@task()
def clear_expired_oidc_tokens() -> None:
    # allauth's own cleanup of expired authorization codes and access/refresh tokens.
    call_command("oidc_cleartokens")
