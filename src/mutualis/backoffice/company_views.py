"""Back-office pages about businesses: the list, a company's details, verify and suspend,
and the resolution of a disputed SIREN.

Operator staff only (the ``staff_view`` guard of the other back-office pages), reading
through the named crossings of ``mutualis.companies.crossings`` (the dispute page
through ``dispute_file``) and writing through the companies' services.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from mutualis.companies import crossings, services
from mutualis.companies.models import CompanyStatus
from mutualis.core import audit
from mutualis.core.errors import MutualisError
from mutualis.core.forms import show_error
from mutualis.core.links import absolute_url

from .guards import operator_required
from .views import PAGE_SIZE, staff_view


class CompanyFilterForm(forms.Form):
    q = forms.CharField(
        label=gettext_lazy("Search"),
        required=False,
        max_length=200,
        help_text=gettext_lazy("Name, SIREN or SIRET."),
        widget=forms.TextInput(attrs={"type": "search"}),
    )
    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        required=False,
        choices=[("", gettext_lazy("All")), *CompanyStatus.choices],
    )

    def filters(self) -> dict[str, str]:
        """The valid filters; an invalid form filters nothing rather than failing."""
        if not self.is_valid():
            return {"text": "", "status": ""}
        return {"text": self.cleaned_data["q"], "status": self.cleaned_data["status"]}


@staff_view
def company_list(request: HttpRequest) -> HttpResponse:
    form = CompanyFilterForm(request.GET)
    page = crossings.companies_page(
        number=request.GET.get("page"), per_page=PAGE_SIZE, **form.filters()
    )
    return render(request, "backoffice/company_list.html", {"form": form, "page": page})


@staff_view
def company_detail(request: HttpRequest, pk: int) -> HttpResponse:
    company = crossings.company_for_operator(pk)
    if company is None:
        raise Http404
    file = crossings.company_file(company)
    return render(
        request,
        "backoffice/company_detail.html",
        {
            "company": company,
            "establishments": file.establishments,
            "representatives": file.representatives,
            "join_requests": file.join_requests,
            "invitations": file.invitations,
            "audit_chain": audit.company_chain(company.pk),
            "may_verify": company.status != CompanyStatus.VERIFIED,
            "may_suspend": company.status != CompanyStatus.SUSPENDED,
        },
    )


def _change_status(request: HttpRequest, pk: int, *, verify: bool) -> HttpResponse:
    company = crossings.company_for_operator(pk)
    if company is None:
        raise Http404
    use_case = services.verify_company if verify else services.suspend_company
    try:
        use_case(
            actor=request.membership,  # type: ignore[attr-defined]
            company_id=company.pk,
            site_url=absolute_url("/"),
            request_context=audit.request_context(request),
        )
    except MutualisError as exc:
        messages.error(request, exc.message)
    else:
        done = _("%(name)s is verified.") if verify else _("%(name)s is suspended.")
        messages.success(request, done % {"name": company.name})
    return redirect("backoffice:company_detail", pk=company.pk)


@staff_view
@require_POST
def company_verify(request: HttpRequest, pk: int) -> HttpResponse:
    return _change_status(request, pk, verify=True)


@staff_view
@require_POST
def company_suspend(request: HttpRequest, pk: int) -> HttpResponse:
    return _change_status(request, pk, verify=False)


# --- A disputed SIREN ------------------------------------------------------------------


class TransferForm(forms.Form):
    email = forms.EmailField(
        label=gettext_lazy("E-mail address of the rightful representative"),
        max_length=254,
        help_text=gettext_lazy(
            "An account with this confirmed address becomes the company's administrator "
            "at once; otherwise an administrator's invitation is sent to it."
        ),
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    name = forms.CharField(
        label=gettext_lazy("Company name"),
        max_length=200,
        required=False,
        help_text=gettext_lazy("As in the SIRENE register; leave empty to keep the name."),
    )


DISPUTE_ACTIONS = ("open", "suspend", "transfer")


@operator_required
def company_dispute(request: HttpRequest, pk: int) -> HttpResponse:
    """Resolve a disputed SIREN: open the dispute, suspend the representatives in place,
    transfer the company to its rightful representative (then verify it on its page)."""
    found = crossings.dispute_file(pk)
    if found is None:
        raise Http404
    form = TransferForm()
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action not in DISPUTE_ACTIONS:
            raise Http404
        if action == "transfer":
            form = TransferForm(request.POST)
        done = _dispute_step(request, found.company, action, form)
        if done:
            return redirect("backoffice:company_dispute", pk=found.company.pk)
        found = crossings.dispute_file(pk) or found
    return render(
        request,
        "backoffice/company_dispute.html",
        {
            "company": found.company,
            "file": found,
            "form": form,
            "disputed": found.company.status == CompanyStatus.DISPUTED,
        },
    )


def _dispute_step(request: HttpRequest, company: Any, action: str, form: TransferForm) -> bool:
    actor = request.membership  # type: ignore[attr-defined]
    ctx = audit.request_context(request)
    try:
        if action == "open":
            services.open_dispute(actor=actor, company_id=company.pk, request_context=ctx)
            messages.success(request, _("The dispute is open: nobody joins the company now."))
        elif action == "suspend":
            chosen = _representative_ids(request)
            suspended = services.suspend_representatives(
                actor=actor,
                company_id=company.pk,
                representative_ids=chosen,
                request_context=ctx,
            )
            messages.success(
                request,
                _("Representatives suspended: %(count)s.") % {"count": len(suspended)},
            )
        else:
            if not form.is_valid():
                return False
            result = services.transfer_company(
                actor=actor,
                company_id=company.pk,
                email=form.cleaned_data["email"],
                name=form.cleaned_data["name"],
                site_url=absolute_url("/"),
                request_context=ctx,
            )
            if result.representative is not None:
                done = _("%(email)s is now the company's administrator.")
            else:
                done = _("An administrator's invitation has been sent to %(email)s.")
            messages.success(request, done % {"email": form.cleaned_data["email"]})
    except MutualisError as exc:
        if action == "transfer":
            show_error(form, exc)
            return False
        messages.error(request, exc.message)
    return True


def _representative_ids(request: HttpRequest) -> list[int] | None:
    """The one representative named by the button, or None for all of them."""
    raw = request.POST.get("representative", "")
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise Http404
    return [int(raw)]
