from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from mutualis.core.permissions import operator_required


@operator_required
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "backoffice/dashboard.html", {})
