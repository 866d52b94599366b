"""Pages of the businesses: sign-up by SIRET, the company, its colleagues and requests.

Every page but the sign-up, the invitation link and the switcher is for a person acting
for a company (the request's ``representation``, whose scope the tenancy middleware
entered); a person who acts for no company gets 404, as for another tenant's object.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from mutualis.core import audit
from mutualis.core.errors import InvitationError, InvitationNotFound, MutualisError
from mutualis.core.forms import show_error
from mutualis.core.links import absolute_url
from mutualis.core.tenancy import tenant_redirect

from . import crossings, errors, forms, selectors, services
from .models import RepresentativeRole
from .services import profile as profile_services

View = Callable[..., HttpResponse]


def representative_required(*, admin: bool = False) -> Callable[[View], View]:
    """A person acting for a company (an administrator of it when ``admin``)."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            representation = getattr(request, "representation", None)
            if representation is None:
                raise Http404
            # Like another company's page: the platform's one guard convention.
            if admin and not representation.is_admin:
                raise Http404
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def actor_of(request: HttpRequest) -> Any:
    """The company representation acting (set by ``representative_required``)."""
    return request.representation  # type: ignore[attr-defined]


def posted(request: HttpRequest) -> Any:
    """The posted data to bind a form to, or None on a GET."""
    return request.POST if request.method == "POST" else None


# --- Sign-up ---------------------------------------------------------------------------


def signup(request: HttpRequest) -> HttpResponse:
    """Register a business by SIRET, or ask to join it when its SIREN is registered."""
    user = request.user
    here = reverse("business:signup")
    context: dict[str, Any] = {
        "signup_url": reverse("account_signup") + "?" + urlencode({"next": here}),
        "login_url": reverse("account_login") + "?" + urlencode({"next": here}),
    }
    if not user.is_authenticated:
        return render(request, "companies/signup.html", context)
    context["join_requests"] = crossings.join_requests_of_user(user)
    if not services.has_verified_email(user):
        context["unverified"] = True
        return render(request, "companies/signup.html", context)
    form = forms.SignUpForm(posted(request))
    context["form"] = form
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            result = services.sign_up_with_siret(
                user=user,
                siret=data["siret"],
                name=data["name"],
                is_head_office=data["is_head_office"],
                site_url=absolute_url("/"),
                request_context=audit.request_context(request),
            )
        except MutualisError as exc:
            show_error(form, exc)
        else:
            if result.representative is not None:
                crossings.representations_of_user(user, refresh=True)
                messages.success(
                    request,
                    _(
                        "%(name)s is registered and you are its administrator. It shows as "
                        "unverified until the platform's operator confirms it."
                    )
                    % {"name": result.company.name},
                )
                return redirect("companies:home", company=result.company.siren)
            if result.company.is_verified:
                done = _(
                    "%(name)s is already registered: your request to join it has been sent "
                    "to its administrators."
                )
            else:
                done = _(
                    "%(name)s (unverified company) is already registered: your request to "
                    "join it has been sent to its administrators."
                )
            messages.success(request, done % {"name": result.company.name})
            return redirect("business:signup")
    return render(request, "companies/signup.html", context)


# --- The company -----------------------------------------------------------------------


@representative_required()
def home(request: HttpRequest) -> HttpResponse:
    representation = actor_of(request)
    company = representation.company
    return render(
        request,
        "companies/home.html",
        {
            "company": company,
            "representation": representation,
            "establishments": selectors.establishments(company),
            "pending_count": (
                selectors.pending_join_requests(company).count() if representation.is_admin else 0
            ),
        },
    )


@representative_required(admin=True)
def establishment_add(request: HttpRequest) -> HttpResponse:
    form = forms.EstablishmentForm(posted(request))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            establishment = services.add_establishment(
                actor=actor_of(request),
                siret=data["siret"],
                name=data["name"],
                address=data["address"],
                is_head_office=data["is_head_office"],
                request_context=audit.request_context(request),
            )
        except MutualisError as exc:
            show_error(form, exc)
        else:
            messages.success(
                request,
                _("The establishment %(siret)s has been added.") % {"siret": establishment.siret},
            )
            return tenant_redirect(request, "companies:home")
    return render(
        request,
        "companies/establishment_add.html",
        {"form": form, "company": actor_of(request).company},
    )


# --- Requests to join ------------------------------------------------------------------


@representative_required(admin=True)
def requests(request: HttpRequest) -> HttpResponse:
    company = actor_of(request).company
    return render(
        request,
        "companies/requests.html",
        {
            "company": company,
            "pending": selectors.pending_join_requests(company),
            "decided": selectors.decided_join_requests(company),
        },
    )


def _decide(request: HttpRequest, pk: int, *, accept: bool) -> HttpResponse:
    actor = actor_of(request)
    join_request = selectors.join_request(actor.company, pk)
    if join_request is None:
        raise Http404
    try:
        if accept:
            services.accept_join_request(
                actor=actor,
                join_request_id=join_request.pk,
                site_url=absolute_url("/"),
                request_context=audit.request_context(request),
            )
        else:
            services.refuse_join_request(
                actor=actor,
                join_request_id=join_request.pk,
                request_context=audit.request_context(request),
            )
    except MutualisError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("The request has been accepted.") if accept else _("The request has been refused."),
        )
    return tenant_redirect(request, "companies:requests")


@representative_required(admin=True)
@require_POST
def request_accept(request: HttpRequest, pk: int) -> HttpResponse:
    return _decide(request, pk, accept=True)


@representative_required(admin=True)
@require_POST
def request_refuse(request: HttpRequest, pk: int) -> HttpResponse:
    return _decide(request, pk, accept=False)


# --- Colleagues ------------------------------------------------------------------------


@representative_required()
def colleagues(request: HttpRequest) -> HttpResponse:
    """Everyone sees their colleagues; administrators also invite and manage them."""
    actor = actor_of(request)
    company = actor.company
    form = forms.InviteForm(posted(request)) if actor.is_admin else None
    if request.method == "POST":
        if form is None:
            raise PermissionDenied
        if form.is_valid():
            try:
                invitation = services.invite_colleague(
                    actor=actor,
                    email=form.cleaned_data["email"],
                    role=form.cleaned_data["role"],
                    site_url=absolute_url("/"),
                    request_context=audit.request_context(request),
                )
            except MutualisError as exc:
                show_error(form, exc)
            else:
                messages.success(
                    request,
                    _("An invitation has been sent to %(email)s.") % {"email": invitation.email},
                )
                return tenant_redirect(request, "companies:colleagues")
    return render(
        request,
        "companies/colleagues.html",
        {
            "company": company,
            "representation": actor,
            "form": form,
            "representatives": selectors.representatives(company),
            "invitations": selectors.open_invitations(company) if actor.is_admin else [],
            "roles": RepresentativeRole.choices,
            "now": timezone.now(),
        },
    )


def _colleague_action(
    request: HttpRequest, pk: int, use_case: Callable[..., Any], **kw: Any
) -> Any:
    actor = actor_of(request)
    colleague = selectors.representative(actor.company, pk)
    if colleague is None:
        raise Http404
    try:
        return use_case(
            actor=actor,
            representative_id=colleague.pk,
            request_context=audit.request_context(request),
            **kw,
        )
    except MutualisError as exc:
        messages.error(request, exc.message)
        return None


@representative_required(admin=True)
@require_POST
def colleague_role(request: HttpRequest, pk: int) -> HttpResponse:
    form = forms.RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, errors.UnknownRole.message)
        return tenant_redirect(request, "companies:colleagues")
    colleague = _colleague_action(
        request, pk, services.change_colleague_role, role=form.cleaned_data["role"]
    )
    if colleague is not None:
        messages.success(
            request,
            _("The role of %(person)s is now: %(role)s.")
            % {"person": colleague.user.email, "role": colleague.get_role_display()},
        )
    return tenant_redirect(request, "companies:colleagues")


@representative_required(admin=True)
@require_POST
def colleague_remove(request: HttpRequest, pk: int) -> HttpResponse:
    colleague = _colleague_action(request, pk, services.remove_colleague)
    if colleague is not None:
        messages.success(
            request,
            _("%(person)s no longer represents the company.") % {"person": colleague.user.email},
        )
    return tenant_redirect(request, "companies:colleagues")


@representative_required(admin=True)
@require_POST
def invitation_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    invitation = selectors.invitation(actor.company, pk)
    if invitation is None:
        raise Http404
    try:
        services.revoke_invitation(
            actor=actor,
            invitation_id=invitation.pk,
            request_context=audit.request_context(request),
        )
    except MutualisError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The invitation has been withdrawn."))
    return tenant_redirect(request, "companies:colleagues")


# --- Accepting an invitation -----------------------------------------------------------


def invitation(request: HttpRequest, token: str) -> HttpResponse:
    """The page an invitation link opens: who invites whom, then the button to accept,
    once signed in with the invited address."""
    here = request.path
    context: dict[str, Any] = {}
    try:
        found = services.find_invitation(token=token)
    except InvitationError as exc:
        context["error"] = exc.message
        status = 404 if isinstance(exc, InvitationNotFound) else 410
        return render(request, "companies/invitation.html", context, status=status)
    context.update(
        invitation=found,
        # The holder of the link reads the address in the e-mail anyway.
        signup_url=reverse("account_signup")
        + "?"
        + urlencode({"email": found.email, "next": here}),
        login_url=reverse("account_login") + "?" + urlencode({"next": here}),
    )
    user = request.user
    if user.is_authenticated:
        context["may_accept"] = services.may_accept(user, found)
    if request.method == "POST" and user.is_authenticated:
        try:
            services.accept_invitation(
                user=user,  # type: ignore[arg-type]
                token=token,
                request_context=audit.request_context(request),
            )
        except MutualisError as exc:
            context["error"] = exc.message
        else:
            crossings.representations_of_user(user, refresh=True)
            messages.success(
                request,
                _("You now represent %(name)s.") % {"name": found.company.name},
            )
            return redirect("companies:home", company=found.company.siren)
    return render(request, "companies/invitation.html", context)


# --- Procurement profile ---------------------------------------------------------------


@representative_required()
def profile(request: HttpRequest) -> HttpResponse:
    """Every representative reads the profile; administrators edit it."""
    actor = actor_of(request)
    company = actor.company
    current = selectors.profile(company)
    form = None
    if actor.is_admin:
        initial = {}
        if current is not None:
            initial = {
                "size": current.size,
                "main_departement": (
                    current.main_departement.insee_code if current.main_departement else ""
                ),
                "intervention_departements": [
                    d.insee_code for d in current.intervention_departements.all()
                ],
                "activities": current.activities,
                "cpv_codes": ", ".join(row.full_code for row in current.cpv_codes.all()),
            }
        form = forms.ProfileForm(
            posted(request), initial=initial, departements=selectors.departement_choices()
        )
    elif request.method == "POST":
        raise Http404
    if request.method == "POST" and form is not None and form.is_valid():
        data = form.cleaned_data
        try:
            profile_services.update_company_profile(
                actor=actor,
                size=data["size"],
                main_departement=data["main_departement"],
                intervention_departements=data["intervention_departements"],
                activities=data["activities"],
                cpv_codes=data["cpv_codes"],
                request_context=audit.request_context(request),
            )
        except MutualisError as exc:
            show_error(form, exc)
        else:
            messages.success(request, _("The company's profile has been saved."))
            return tenant_redirect(request, "companies:profile")
    return render(
        request,
        "companies/profile.html",
        {
            "company": company,
            "representation": actor,
            "profile": current,
            "form": form,
            # What the CPV picker script reads (a json_script block: no inline script).
            "cpv_picker": {
                "url": reverse("procurement_reference:cpv"),
                "label": _("Codes found"),
                "none": _("No code found."),
            },
        },
    )
