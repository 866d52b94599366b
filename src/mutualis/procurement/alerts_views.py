"""The pages of a person's alerts (signed in, their own alerts only), and the two
public addresses an alert gives out: the unsubscribe link of its e-mails and its feed.
Thin: they parse input and call ``alerts``."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from mutualis.core.errors import MutualisError
from mutualis.core.forms import show_error
from mutualis.core.links import absolute_url

from . import alerts, crossings
from .alerts_forms import AlertForm, initial_from_alert, initial_from_query
from .alerts_models import Alert


def _picker() -> dict[str, str]:
    """What the CPV picker script reads (a ``json_script`` block: no inline script)."""
    return {
        "url": reverse("procurement_reference:cpv"),
        "label": _("Codes found"),
        "none": _("No code found."),
    }


def _alert_or_404(request: HttpRequest, pk: int) -> Alert:
    alert = alerts.alert_of(request.user, pk)
    if alert is None:
        raise Http404
    return alert


@login_required
@require_safe
def alert_list(request: HttpRequest) -> HttpResponse:
    rows = list(alerts.alerts_of(request.user))
    return render(
        request,
        "procurement/alerts/list.html",
        {
            "alerts": [(alert, alerts.feed_url(alert)) for alert in rows],
            "suggestions": alerts.company_suggestions(request.user),
        },
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def alert_create(request: HttpRequest) -> HttpResponse:
    buyers = crossings.public_buyers()
    if request.method == "POST":
        form = AlertForm(request.POST, buyers=buyers)
        if form.is_valid():
            try:
                alert = alerts.create_alert(user=request.user, data=form.to_input())
            except MutualisError as exc:
                show_error(form, exc)
            else:
                messages.success(
                    request, _("The alert “%(name)s” has been saved.") % {"name": alert.name}
                )
                return redirect("alerts:list")
    else:
        form = AlertForm(initial=initial_from_query(request.GET), buyers=buyers)
    return render(
        request,
        "procurement/alerts/form.html",
        {"form": form, "alert": None, "cpv_picker": _picker()},
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def alert_edit(request: HttpRequest, pk: int) -> HttpResponse:
    alert = _alert_or_404(request, pk)
    buyers = crossings.public_buyers()
    if request.method == "POST":
        form = AlertForm(request.POST, initial=initial_from_alert(alert), buyers=buyers)
        if form.is_valid():
            try:
                alerts.update_alert(user=request.user, alert_id=alert.pk, data=form.to_input())
            except Alert.DoesNotExist:
                raise Http404 from None
            except MutualisError as exc:
                show_error(form, exc)
            else:
                messages.success(request, _("The alert has been saved."))
                return redirect("alerts:list")
    else:
        form = AlertForm(initial=initial_from_alert(alert), buyers=buyers)
    return render(
        request,
        "procurement/alerts/form.html",
        {"form": form, "alert": alert, "cpv_picker": _picker()},
    )


@login_required
@require_POST
def alert_pause(request: HttpRequest, pk: int) -> HttpResponse:
    alert = _alert_or_404(request, pk)
    active = request.POST.get("active") == "1"
    alerts.set_alert_active(user=request.user, alert_id=alert.pk, active=active)
    if active:
        messages.success(request, _("The alert is active again."))
    else:
        messages.success(request, _("The alert is paused: it sends nothing until resumed."))
    return redirect("alerts:list")


@login_required
@require_POST
def alert_delete(request: HttpRequest, pk: int) -> HttpResponse:
    alert = _alert_or_404(request, pk)
    alerts.delete_alert(user=request.user, alert_id=alert.pk)
    messages.success(request, _("The alert has been deleted."))
    return redirect("alerts:list")


@login_required
@require_POST
def alert_feed_regenerate(request: HttpRequest, pk: int) -> HttpResponse:
    alert = _alert_or_404(request, pk)
    alerts.regenerate_feed_token(user=request.user, alert_id=alert.pk)
    messages.success(request, _("The feed has a new address: the former one no longer works."))
    return redirect("alerts:list")


# --- Public addresses: the e-mail's unsubscribe link, the feed ---------------------------


# The mail client's one-click POST (RFC 8058) carries no session and no CSRF token: the
# signed token, bound to the alert, is the proof. This route alone is exempt.
@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button and changes nothing (mail scanners follow links); POST
    pauses the alert."""
    alert = alerts.alert_for_token(token)
    if alert is None:
        return render(request, "procurement/alerts/unsubscribe.html", {"invalid": True}, status=404)
    done = False
    if request.method == "POST":
        alerts.unsubscribe(token=token)
        done = True
    return render(
        request,
        "procurement/alerts/unsubscribe.html",
        {"alert": alert, "done": done, "invalid": False},
    )


@require_safe
def feed(request: HttpRequest, token: str) -> HttpResponse:
    alert = alerts.alert_for_feed(token)
    if alert is None:
        raise Http404
    url = alerts.feed_url(alert)
    atom = Atom1Feed(
        title=_("Alert “%(name)s”") % {"name": alert.name},
        link=absolute_url(reverse("consultations:list")),
        description=_("The latest consultations this alert matches."),
        feed_url=url,
        language="fr",
        feed_guid=url,
    )
    for entry in alerts.feed_entries(alert):
        link = absolute_url(reverse("consultations:detail", kwargs={"pk": entry.notice.id}))
        atom.add_item(
            title=entry.title,
            link=link,
            description=_("%(buyer)s · reference %(reference)s")
            % {"buyer": entry.buyer_name, "reference": entry.reference},
            unique_id=link,
            pubdate=entry.published_at,
            updateddate=entry.published_at,
            author_name=entry.buyer_name,
        )
    response = HttpResponse(content_type="application/atom+xml; charset=utf-8")
    atom.write(response, "utf-8")
    # The address is a secret: no shared cache keeps it, no search engine lists it.
    response["Cache-Control"] = "private, max-age=300"
    response["X-Robots-Tag"] = "noindex"
    return response
