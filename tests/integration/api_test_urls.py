"""The platform's URLs plus a test-only API (``/test-api/``), built like the platform's
one (``mutualis.core.api.new_api``), whose operations write through an API client's scope.

It shows how a service's write operations use the mechanism, before any service has one.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.urls import path
from django_scopes import get_scope
from ninja import Router
from ninja.errors import HttpError

from mutualis.core.api import ErrorOut, errors, new_api
from mutualis.core.errors import MutualisError
from mutualis.identity.api_clients import READ, WRITE
from mutualis.identity.models import Membership
from mutualis.urls import urlpatterns as platform_urls

router = Router()


@router.get("/scope", auth=READ, response={200: dict, **errors(401, 403)})
def current_scope(request: HttpRequest) -> dict[str, Any]:
    return {
        "client": request.auth.client_id,  # type: ignore[attr-defined]
        "scope": {k: v for k, v in get_scope().items() if not k.startswith("_")},
    }


@router.get("/memberships", auth=READ, response={200: list[int], **errors(401, 403)})
def memberships(request: HttpRequest) -> list[int]:
    return sorted(Membership.objects.values_list("pk", flat=True))


@router.post(
    "/memberships/{pk}/deactivate", auth=WRITE, response={200: dict, **errors(401, 403, 404)}
)
def deactivate(request: HttpRequest, pk: int) -> dict[str, Any]:
    membership = get_object_or_404(Membership.objects, pk=pk)
    membership.is_active = False
    membership.save(update_fields=["is_active"])
    return {"id": membership.pk, "is_active": membership.is_active}


class Refused(MutualisError):
    code = "test_refused"
    field_name = "name"
    message = "Refused by the service."


@router.get("/refused", response={400: ErrorOut})
def refused(request: HttpRequest) -> None:
    raise Refused()


@router.get("/conflict", response={409: ErrorOut})
def conflict(request: HttpRequest) -> None:
    raise HttpError(409, "Already done.")


test_api = new_api(urls_namespace="test_api")
test_api.add_router("", router)

urlpatterns = [path("test-api/", test_api.urls), *platform_urls]
