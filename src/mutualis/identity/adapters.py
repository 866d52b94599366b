import dataclasses
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.contrib import messages
from django.core.validators import MaxLengthValidator
from django.http import HttpRequest
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.urls import reverse

from mutualis.core import audit, mail_limits, tenancy
from mutualis.core.errors import MailLimitReached
from mutualis.core.links import absolute_url
from mutualis.core.mail import queue_email, render_text

# The links allauth puts in its e-mails' context. It builds them from the request's host
# (``build_absolute_uri``), which may be an internal name behind the proxy, and which a
# job sending mail has not at all: they are re-rooted on MUTUALIS_SITE_URL.
LINKS_IN_MAILS = ("activate_url", "password_reset_url", "signup_url")
# allauth's e-mails that anyone can ask for toward an address (a confirmation, a reset):
# limited per recipient and per signed-in person (``core.mail_limits``). Notices of a
# change to one's own account (password changed, address removed) always go.
LIMITED_MAILS = frozenset(
    {
        "account/email/account_already_exists",
        "account/email/email_confirm",
        "account/email/email_confirmation",
        "account/email/email_confirmation_signup",
        "account/email/login_code",
        "account/email/password_reset_code",
        "account/email/password_reset_key",
        "account/email/unknown_account",
    }
)
# What in allauth's mail context gives the account to whoever reads it: the address
# confirmation link and key, the password-reset link and key, a login or reset code.
# Never stored in the outbox (see mutualis.core.mail).
SECRETS_IN_MAILS = ("activate_url", "key", "code")


def secrets_in(context: dict[str, Any]) -> list[str]:
    names = list(SECRETS_IN_MAILS)
    if "key" in context:
        # With a key, the reset link carries it; without (the "account already exists"
        # mail), it is the public page that asks for a reset.
        names.append("password_reset_url")
    return [context[name] for name in names if isinstance(context.get(name), str)]


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
        if template_prefix in LIMITED_MAILS and not self._within_limits(template_prefix, email):
            return
        context = {**context, "email": email, "current_site": platform_site()}
        for name in LINKS_IN_MAILS:
            if isinstance(context.get(name), str):
                context[name] = rerooted(context[name])
        # Rendered here rather than by allauth's render_mail: its plain-text templates go
        # through the platform's unescaped text engine like every other e-mail's.
        subject = render_text(f"{template_prefix}_subject.txt", context)
        subject = self.format_email_subject(" ".join(subject.splitlines()).strip())
        body_text = render_text(f"{template_prefix}_message.txt", context).strip()
        try:
            body_html = render_to_string(f"{template_prefix}_message.html", context).strip()
        except TemplateDoesNotExist:
            body_html = ""
        queue_email(
            to=email,
            subject=subject,
            body_text=body_text,
            body_html=body_html,
            secrets=secrets_in(context),
        )

    def _within_limits(self, template_prefix: str, email: str) -> bool:
        """Count the e-mail against its address and the signed-in person; over a limit,
        skip it (allauth's pages say "if the address is known, a message was sent" either
        way, so skipping reveals nothing), tell the person, and audit the first refusal
        of the window on the platform's chain."""
        request = getattr(self, "request", None)
        user = getattr(request, "user", None)
        person = user if user is not None and user.is_authenticated else None
        try:
            mail_limits.require(
                mail_limits.account_mail_limits(
                    person_id=person.pk if person is not None else None, address=email
                )
            )
        except MailLimitReached as exc:
            if exc.first:
                audit.record(
                    actor=person,
                    action="account.mail_refused",
                    payload={"mail": template_prefix.rsplit("/", 1)[-1], "limit": exc.rule},
                    **(audit.request_context(request) if request is not None else {}),
                )
            if request is not None and hasattr(request, "_messages"):
                messages.warning(request, exc.message)
            return False
        return True

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
