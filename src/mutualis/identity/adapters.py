import dataclasses
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.core.validators import MaxLengthValidator
from django.http import HttpRequest
from django.urls import reverse

from mutualis.core import tenancy
from mutualis.core.links import absolute_url
from mutualis.core.mail import queue_email

# The links allauth puts in its e-mails' context. It builds them from the request's host
# (``build_absolute_uri``), which may be an internal name behind the proxy, and which a
# job sending mail has not at all: they are re-rooted on MUTUALIS_SITE_URL.
LINKS_IN_MAILS = ("activate_url", "password_reset_url", "signup_url")


@dataclasses.dataclass(frozen=True)
class PlatformSite:
    """What allauth's mail templates read as ``current_site``: the platform, as
    MUTUALIS_SITE_URL names it (not the host of the request, if any)."""

    name: str
    domain: str


def platform_site() -> PlatformSite:
    return PlatformSite(
        name=settings.MUTUALIS_PLATFORM_NAME,
        domain=urlsplit(settings.MUTUALIS_SITE_URL).netloc,
    )


def rerooted(url: str) -> str:
    """``url`` with the platform's public address in place of its scheme and host."""
    parts = urlsplit(url)
    return absolute_url(urlunsplit(("", "", parts.path or "/", parts.query, parts.fragment)))


# The address columns of the platform (Django's model EmailField).
EMAIL_MAX_LENGTH = 254


class AccountAdapter(DefaultAccountAdapter):
    """Sends allauth's e-mails through the platform's outgoing-mail table, with links to
    MUTUALIS_SITE_URL."""

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        context = {**context, "email": email, "current_site": platform_site()}
        for name in LINKS_IN_MAILS:
            if isinstance(context.get(name), str):
                context[name] = rerooted(context[name])
        message = self.render_mail(template_prefix, email, context)
        body_html = ""
        for alternative, mimetype in getattr(message, "alternatives", []):
            if mimetype == "text/html":
                body_html = alternative
        queue_email(to=email, subject=message.subject, body_text=message.body, body_html=body_html)

    def clean_email(self, email: str) -> str:
        # allauth's address fields (sign-up, password reset, adding an address) accept the
        # 320 characters of Django's form field; every address column holds 254, and the
        # reset form queues a mail even to an unknown address: the database refused it.
        MaxLengthValidator(EMAIL_MAX_LENGTH)(email)
        return str(super().clean_email(email))

    def get_email_confirmation_url(
        self, request: HttpRequest | None, emailconfirmation: Any
    ) -> str:
        # Without a request (a job re-sending a confirmation), allauth would need
        # django.contrib.sites; the platform's address needs nothing.
        return absolute_url(reverse("account_confirm_email", args=[emailconfirmation.key]))

    def get_login_redirect_url(self, request: HttpRequest) -> str:
        # Someone who opened an invitation link signed out (typically before having an
        # account) comes back to it once logged in; an explicit ``next`` still wins.
        from .invitation_views import pending_invitation_url

        return (
            pending_invitation_url(request)
            or _only_space(request)
            or super().get_login_redirect_url(request)
        )


def _only_space(request: HttpRequest) -> str | None:
    """A person who acts for one organisation (or one company) only — most agents of a
    small commune — lands in it; others choose on the home page."""
    spaces = tenancy.spaces_of(request.user)
    return spaces[0][2] if len(spaces) == 1 else None
