"""Back-office pages for the applications that sign people in through the platform
(OpenID Connect clients): list, register, renew a secret, delete.

The rules live in ``mutualis.identity.oidc_clients``; these views parse input, call one
service and render. A client secret is shown in the response to the request that made
it and written nowhere else: the database keeps only its hash.
"""

from __future__ import annotations

from typing import Any

from allauth.idp.oidc.models import Client
from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from mutualis.core import audit
from mutualis.core.forms import show_error
from mutualis.identity import crossings as identity_crossings
from mutualis.identity import oidc_clients
from mutualis.identity.oidc import SCOPES

from . import selectors
from .views import actor_of, posted, staff_view

DEFAULT_SCOPES = ["openid", "email", "profile", "organisations"]
DEFAULT_GRANT_TYPES = [Client.GrantType.AUTHORIZATION_CODE, Client.GrantType.REFRESH_TOKEN]
GRANT_TYPE_LABELS = {
    Client.GrantType.AUTHORIZATION_CODE: gettext_lazy(
        "Authorization code: people sign in to the application through the platform"
    ),
    Client.GrantType.REFRESH_TOKEN: gettext_lazy(
        "Refresh token: the application keeps people signed in without asking again"
    ),
    Client.GrantType.CLIENT_CREDENTIALS: gettext_lazy(
        "Client credentials: a machine client calls the API in its own name"
    ),
}


class ServiceCheckedChoiceField(forms.MultipleChoiceField):
    """Check boxes of the known values whose check is left to the service: a value that
    is not offered (a tampered form, an old page) gets the service's error and code."""

    widget = forms.CheckboxSelectMultiple

    def valid_value(self, value: str) -> bool:
        return True


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


class ClientForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=100,
        help_text=gettext_lazy("Shown to people on the consent page, e.g. “Nuage du territoire”."),
    )
    kind = forms.ChoiceField(
        label=gettext_lazy("Kind of application"),
        choices=[
            (
                Client.Type.CONFIDENTIAL,
                gettext_lazy("Confidential: a server-side application that can keep a secret"),
            ),
            (
                Client.Type.PUBLIC,
                gettext_lazy(
                    "Public: a browser or mobile application, without a secret (PKCE required)"
                ),
            ),
        ],
        initial=Client.Type.CONFIDENTIAL,
        widget=forms.RadioSelect,
    )
    redirect_uris = forms.CharField(
        label=gettext_lazy("Redirect addresses"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "off", "spellcheck": "false"}),
        help_text=gettext_lazy(
            "One per line, as the application's documentation gives it. https:// addresses; "
            "http:// only for localhost."
        ),
    )
    post_logout_redirect_uris = forms.CharField(
        label=gettext_lazy("Addresses to return to after logging out"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 2, "autocomplete": "off", "spellcheck": "false"}),
        help_text=gettext_lazy(
            "One per line; optional. Without any, a logout may return to any address on the "
            "same site as a redirect address."
        ),
    )
    scopes = ServiceCheckedChoiceField(
        label=gettext_lazy("Allowed scopes"),
        choices=[(code, format_lazy("{}: {}", code, label)) for code, label in SCOPES.items()],
        initial=DEFAULT_SCOPES,
        error_messages={"required": gettext_lazy("Choose at least one scope.")},
    )
    grant_types = ServiceCheckedChoiceField(
        label=gettext_lazy("Allowed grants"),
        choices=list(GRANT_TYPE_LABELS.items()),
        initial=DEFAULT_GRANT_TYPES,
        error_messages={"required": gettext_lazy("Choose at least one grant.")},
    )
    acts_for = forms.CharField(
        label=gettext_lazy("Acts for (API clients)"),
        required=False,
        max_length=100,
        help_text=gettext_lazy(
            "For a machine client of the API (scopes api:read, api:write): the SIREN or the "
            "address name of the member organisation, or the SIREN of the company, whose data "
            "it reads and changes. Empty for a tool that signs people in."
        ),
    )
    skip_consent = forms.BooleanField(
        label=gettext_lazy("Do not ask people for their consent"),
        required=False,
        help_text=gettext_lazy(
            "Only for the operator's own tools: people are not asked whether the tool may "
            "know who they are."
        ),
    )

    def _clean_uris(self, field: str) -> list[str]:
        # Checked here line by line, so that the error names the faulty address; the
        # service checks them again, with the same rule.
        uris = _lines(self.cleaned_data[field])
        faulty = []
        for uri in uris:
            try:
                oidc_clients.validate_redirect_uri(uri)
            except oidc_clients.RedirectUriInvalid:
                faulty.append(uri)
        if faulty:
            raise ValidationError(
                _("Refused: %(uris)s. %(rule)s")
                % {"uris": ", ".join(faulty), "rule": oidc_clients.RedirectUriInvalid.message},
                code=oidc_clients.RedirectUriInvalid.code,
            )
        return uris

    def clean_acts_for(self) -> selectors.ApiParty | None:
        reference = self.cleaned_data["acts_for"]
        party = selectors.api_party(reference)
        if reference.strip() and party is None:
            raise ValidationError(
                _("No organisation nor company has this SIREN or address name."),
                code="api_party_unknown",
            )
        return party

    def clean_redirect_uris(self) -> list[str]:
        return self._clean_uris("redirect_uris")

    def clean_post_logout_redirect_uris(self) -> list[str]:
        return self._clean_uris("post_logout_redirect_uris")

    def show_error(self, error: oidc_clients.ClientRegistrationError) -> None:
        show_error(self, error)


def _client_or_404(client_id: str) -> tuple[Client, Any]:
    """The application and, for a machine client of the API, whom it acts for."""
    found = identity_crossings.client_application(client_id)
    if found is None:
        raise Http404
    return found


def _provider_addresses(request: HttpRequest) -> dict[str, str]:
    """What a tool's administrator types in: the issuer and the discovery document."""
    return {
        "issuer": request.build_absolute_uri("/").rstrip("/"),
        "discovery_url": request.build_absolute_uri(reverse("idp:oidc:configuration")),
    }


def _secret_page(request: HttpRequest, client: Client, secret: str, *, created: bool) -> Any:
    return render(
        request,
        "backoffice/sso_client_secret.html",
        {"client": client, "secret": secret, "created": created, **_provider_addresses(request)},
    )


@staff_view
def client_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "backoffice/sso_client_list.html",
        {"clients": identity_crossings.client_applications(), **_provider_addresses(request)},
    )


@staff_view
@never_cache
def client_create(request: HttpRequest) -> HttpResponse:
    form = ClientForm(posted(request))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            client, secret = oidc_clients.register_client(
                actor=actor_of(request),
                name=data["name"],
                confidential=data["kind"] == Client.Type.CONFIDENTIAL,
                redirect_uris=data["redirect_uris"],
                post_logout_redirect_uris=data["post_logout_redirect_uris"],
                scopes=data["scopes"],
                grant_types=data["grant_types"],
                skip_consent=data["skip_consent"],
                organisation_id=party.organisation_id if (party := data["acts_for"]) else None,
                company_id=party.company_id if party else None,
                request_context=audit.request_context(request),
            )
        except oidc_clients.ClientRegistrationError as exc:
            form.show_error(exc)
        else:
            if secret:
                # Rendered, not redirected: the secret exists nowhere but in this response.
                return _secret_page(request, client, secret, created=True)
            messages.success(request, _("%(name)s has been registered.") % {"name": client.name})
            return redirect("backoffice:sso_client_detail", client_id=client.pk)
    return render(request, "backoffice/sso_client_form.html", {"form": form})


@staff_view
def client_detail(request: HttpRequest, client_id: str) -> HttpResponse:
    client, api_access = _client_or_404(client_id)
    return render(
        request,
        "backoffice/sso_client_detail.html",
        {
            "client": client,
            "is_confidential": client.type == Client.Type.CONFIDENTIAL,
            "api_access": api_access,
            **_provider_addresses(request),
        },
    )


@staff_view
@require_POST
@never_cache
def client_rotate_secret(request: HttpRequest, client_id: str) -> HttpResponse:
    client, _api_access = _client_or_404(client_id)
    try:
        client, secret = oidc_clients.rotate_client_secret(
            actor=actor_of(request),
            client_id=client.pk,
            request_context=audit.request_context(request),
        )
    except oidc_clients.ClientUnknown as exc:
        raise Http404 from exc
    except oidc_clients.ClientRegistrationError as exc:
        messages.error(request, exc.message)
        return redirect("backoffice:sso_client_detail", client_id=client.pk)
    return _secret_page(request, client, secret, created=False)


@staff_view
def client_delete(request: HttpRequest, client_id: str) -> HttpResponse:
    client, _api_access = _client_or_404(client_id)
    if request.method == "POST":
        try:
            oidc_clients.delete_client(
                actor=actor_of(request),
                client_id=client.pk,
                request_context=audit.request_context(request),
            )
        except oidc_clients.ClientUnknown as exc:
            raise Http404 from exc
        messages.success(request, _("%(name)s has been deleted.") % {"name": client.name})
        return redirect("backoffice:sso_client_list")
    return render(request, "backoffice/sso_client_delete.html", {"client": client})
