"""Back-office pages about businesses: the list, a company's details, verify and suspend.

Operator staff only (the ``staff_view`` guard of the other back-office pages), reading
through the named crossings of ``mutualis.companies.crossings``.
"""

from __future__ import annotations

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
from mutualis.core.links import absolute_url

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
