"""A person's own account: the deletion request."""

from __future__ import annotations

from allauth.account.forms import ReauthenticateForm
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from mutualis.core.forms import show_error

from . import accounts, errors


@login_required
def delete_account(request: HttpRequest) -> HttpResponse:
    user = request.user
    # Re-authentication by password goes through allauth, hence through the lock-out:
    # a stolen session cannot guess its way to deleting the account.
    form = ReauthenticateForm(
        data=request.POST if request.method == "POST" else None,
        user=user,
    )
    if request.method == "POST" and form.is_valid():
        try:
            accounts.delete_account(user=user)  # type: ignore[arg-type]
        except errors.IdentityError as exc:
            show_error(form, exc)
        else:
            logout(request)
            return redirect("my_account:deleted")
    return render(
        request,
        "identity/account_delete.html",
        {
            "form": form,
            "last_admin_of": accounts.organisations_left_without_admin(user),  # type: ignore[arg-type]
            "has_password": user.has_usable_password(),
        },
    )


def account_deleted(request: HttpRequest) -> HttpResponse:
    return render(request, "identity/account_deleted.html")
