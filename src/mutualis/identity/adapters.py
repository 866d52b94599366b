from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest

from mutualis.core import registry
from mutualis.core.mail import queue_email


class AccountAdapter(DefaultAccountAdapter):
    """Sends allauth's e-mails through the platform's outgoing-mail table."""

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        context = {**context, "email": email}
        message = self.render_mail(template_prefix, email, context)
        body_html = ""
        for alternative, mimetype in getattr(message, "alternatives", []):
            if mimetype == "text/html":
                body_html = alternative
        queue_email(to=email, subject=message.subject, body_text=message.body, body_html=body_html)

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
    spaces = [
        url for kind in registry.tenant_kinds().values() for _name, url in kind.spaces(request.user)
    ]
    return spaces[0] if len(spaces) == 1 else None
