"""Alerts: a person saves searches of the portal and is told of the new consultations
that match them, by e-mail at once or in a daily digest, and in an Atom feed.

- Use cases of the person (create, update, pause, delete, a new feed address): each
  reads the alert *of that person* (another person's alert is not found: 404), in one
  transaction. An alert is a personal setting, like the account's own: no member's or
  company's audit chain records it.
- Delivery. ``signals.consultation_published`` enqueues ``tasks.send_immediate_alerts``
  (``apps.py``): the new consultation is matched against every active immediate alert,
  and each matching person gets one e-mail, whatever the number of their alerts it
  matches. The periodic job ``send_alert_digests`` sends each daily alert the
  consultations published since its last digest. Both read the alerts' compact criteria
  with one query and match in memory (``alert_matching.NoticeIndex``); each send records
  ``AlertDelivery`` rows under a unique constraint in the transaction that queues the
  e-mail (``core.mail``'s outbox), so that a job run twice never sends a consultation
  twice for one alert.
- Every e-mail carries ``List-Unsubscribe`` (an https URL with a token signed and bound
  to the alert) and ``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` (RFC 8058):
  the mail client's POST pauses the alert without a login; a GET only shows a page with
  a button, since mail scanners follow links.
"""

from __future__ import annotations

import gc
import json
import re
import secrets
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.db import connection, transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import ngettext

from mutualis.core.links import absolute_url
from mutualis.core.mail import queue_email, render_text
from mutualis.core.search import MAX_QUERY_LENGTH

from . import crossings, errors
from .alert_matching import Criteria, NoticeIndex, compiled_words, criteria
from .alerts_models import Alert, AlertDelivery, AlertFrequency
from .models import State
from .vocabulary import Category, Procedure

# A person follows a handful of searches; the cap bounds what one account costs the job.
MAX_ALERTS_PER_PERSON = 50
MAX_VALUES_PER_CRITERION = 50
UNSUBSCRIBE_SALT = "mutualis.procurement.alerts.unsubscribe"
# A digest looks back a little before its last window's end: a consultation stamped
# just before a digest ran but committed just after is not missed (the deliveries
# already recorded keep it from being sent twice).
DIGEST_OVERLAP = timedelta(hours=1)
# An alert back from a long pause, or never sent, gets at most a week of consultations.
DIGEST_MAX_WINDOW = timedelta(days=7)
FEED_LENGTH = 20
# The feed looks for its entries among this many of the latest consultations.
FEED_CANDIDATES = 1000

CPV_PREFIX = re.compile(r"^\d{2,8}$")
DEPARTEMENT = re.compile(r"^(0[1-9]|1\d|2[1-9]|[3-8]\d|9[0-5]|2A|2B|97[1-8])$")
SLUG = re.compile(r"^[-a-z0-9_]{1,120}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class AlertInput:
    """What a person enters for an alert (the portal's search parameters)."""

    name: str
    frequency: str = AlertFrequency.DAILY
    q: str = ""
    cpv_prefixes: Sequence[str] = ()
    departements: Sequence[str] = ()
    procedures: Sequence[str] = ()
    categories: Sequence[str] = ()
    buyers: Sequence[str] = ()


def _values(
    values: Iterable[str], pattern: re.Pattern[str] | None, allowed: Any = None
) -> list[str]:
    found = list(dict.fromkeys(str(v).strip() for v in values if str(v).strip()))
    if len(found) > MAX_VALUES_PER_CRITERION:
        raise errors.AlertCriterionInvalid()
    for value in found:
        if pattern is not None and not pattern.match(value):
            raise errors.AlertCriterionInvalid()
        if allowed is not None and value not in allowed:
            raise errors.AlertCriterionInvalid()
    return found


def _apply(alert: Alert, data: AlertInput) -> None:
    """Check ``data`` and write it on ``alert`` (not saved)."""
    name = " ".join(data.name.split())[:100]
    q = data.q.strip()
    if not name or _CONTROL.search(data.name) or _CONTROL.search(q) or len(q) > MAX_QUERY_LENGTH:
        raise errors.AlertCriterionInvalid()
    if data.frequency not in AlertFrequency.values:
        raise errors.AlertCriterionInvalid()
    alert.name = name
    alert.q = q
    alert.words = compiled_words(q)
    alert.cpv_prefixes = _values(data.cpv_prefixes, CPV_PREFIX)
    alert.departements = _values([d.upper() for d in data.departements], DEPARTEMENT)
    alert.procedures = _values(data.procedures, None, Procedure.values)
    alert.categories = _values(data.categories, None, Category.values)
    alert.buyers = _values(data.buyers, SLUG)
    alert.frequency = data.frequency
    if _criteria_of(alert).is_empty:
        raise errors.AlertWithoutCriteria()


def _criteria_of(alert: Alert) -> Criteria:
    return criteria(
        words=alert.words,
        cpv_prefixes=alert.cpv_prefixes,
        departements=alert.departements,
        procedures=alert.procedures,
        categories=alert.categories,
        buyers=alert.buyers,
    )


def _new_feed_token() -> str:
    return secrets.token_urlsafe(32)


# --- The person's use cases ------------------------------------------------------------


def alerts_of(user: Any) -> QuerySet[Alert]:
    return Alert.objects.filter(user=user).order_by("name", "pk")


def alert_of(user: Any, alert_id: int) -> Alert | None:
    """The person's alert, or None (another person's alert is not found)."""
    return Alert.objects.filter(user=user, pk=alert_id).first()


def _locked(user: Any, alert_id: int) -> Alert:
    alert = Alert.objects.select_for_update().filter(user=user, pk=alert_id).first()
    if alert is None:
        raise Alert.DoesNotExist
    return alert


@transaction.atomic(durable=True)
def create_alert(*, user: Any, data: AlertInput, now: datetime | None = None) -> Alert:
    # Counted under the person's row lock: two tabs cannot both pass the cap.
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()
    if Alert.objects.filter(user=user).count() >= MAX_ALERTS_PER_PERSON:
        raise errors.TooManyAlerts()
    alert = Alert(user=user, feed_token=_new_feed_token(), digest_until=now or timezone.now())
    _apply(alert, data)
    alert.save()
    return alert


@transaction.atomic(durable=True)
def update_alert(*, user: Any, alert_id: int, data: AlertInput) -> Alert:
    alert = _locked(user, alert_id)
    _apply(alert, data)
    alert.save()
    return alert


@transaction.atomic(durable=True)
def set_alert_active(
    *, user: Any, alert_id: int, active: bool, now: datetime | None = None
) -> Alert:
    """Pause or resume an alert. A resumed daily alert starts from now: no digest of
    what was published while it was paused."""
    alert = _locked(user, alert_id)
    if active and not alert.is_active:
        alert.digest_until = now or timezone.now()
    alert.is_active = active
    alert.save(update_fields=["is_active", "digest_until", "updated_at"])
    return alert


@transaction.atomic(durable=True)
def delete_alert(*, user: Any, alert_id: int) -> None:
    _locked(user, alert_id).delete()


@transaction.atomic(durable=True)
def regenerate_feed_token(*, user: Any, alert_id: int) -> Alert:
    """A new secret address for the alert's feed; the former one stops working."""
    alert = _locked(user, alert_id)
    alert.feed_token = _new_feed_token()
    alert.save(update_fields=["feed_token", "updated_at"])
    return alert


# --- One-click unsubscribe (RFC 8058) --------------------------------------------------


def unsubscribe_token(alert: Alert) -> str:
    """A token signed with the platform's key, bound to the alert and its owner."""
    return signing.dumps([alert.pk, alert.user_id], salt=UNSUBSCRIBE_SALT, compress=True)


def alert_for_token(token: str) -> Alert | None:
    """The alert a genuine unsubscribe token names, or None (forged, altered, or its
    alert deleted)."""
    try:
        value = signing.loads(token[:200], salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    if not (isinstance(value, list) and len(value) == 2 and all(type(v) is int for v in value)):
        return None
    return Alert.objects.filter(pk=value[0], user_id=value[1]).first()


@transaction.atomic(durable=True)
def unsubscribe(*, token: str) -> Alert | None:
    """Pause the alert the token names (the e-mail's one-click unsubscribe); None when
    the token is not genuine. Repeating it changes nothing."""
    alert = alert_for_token(token)
    if alert is None:
        return None
    Alert.objects.filter(pk=alert.pk).update(is_active=False, updated_at=timezone.now())
    alert.is_active = False
    return alert


def unsubscribe_url(alert: Alert) -> str:
    return absolute_url(
        reverse("alert_links:unsubscribe", kwargs={"token": unsubscribe_token(alert)})
    )


def feed_url(alert: Alert) -> str:
    return absolute_url(reverse("alert_links:feed", kwargs={"token": alert.feed_token}))


# --- Matching --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CompactAlert:
    id: int
    user_id: int
    criteria: Criteria


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while building 100,000 small objects at
    once: none of them forms a cycle, yet each batch of allocations triggers a
    collection that walks the young objects, which cost eight times the building itself
    on this machine (``bench/alert_matching.py``). Reference counting still frees
    everything; the collector resumes afterwards."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


_COLUMNS = ("words", "cpv_prefixes", "departements", "procedures", "categories", "buyers")


def compact_alerts(frequency: str | None = None) -> list[CompactAlert]:
    """Every active alert's criteria (of one frequency), in one query: what matching
    reads, nothing more.

    The database hands the rows over as one JSON document, decoded at once: through the
    ORM, six JSON converters a row cost ten times the query itself on 100,000 alerts
    (``bench/alert_matching.py``), and decoding each row's lists one by one still five
    times."""
    table = connection.ops.quote_name(Alert._meta.db_table)
    if connection.vendor == "postgresql":
        row = "json_build_array(id, user_id, {})".format(", ".join(_COLUMNS))
        document = f"coalesce(json_agg({row}), '[]')::text"
    else:
        row = "json_array(id, user_id, {})".format(", ".join(f"json({c})" for c in _COLUMNS))
        document = f"json_group_array({row})"
    sql = f"SELECT {document} FROM {table} WHERE is_active = %s"  # noqa: S608 (own table)
    params: list[Any] = [True]
    if frequency is not None:
        sql += " AND frequency = %s"
        params.append(frequency)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        (text,) = cursor.fetchone() or ("[]",)
    with _cyclic_gc_paused():
        return _compact(text)


def _compact(text: str) -> list[CompactAlert]:
    found: list[CompactAlert] = []
    append = found.append
    empty: tuple[str, ...] = ()
    for pk, user_id, words, cpv, departements, procedures, categories, buyers in json.loads(
        text or "[]"
    ):
        required, excluded = empty, empty
        if words:
            required = tuple(w for w in words if w[:1] != "-")
            excluded = tuple(w[1:] for w in words if w[:1] == "-" and len(w) > 1)
        append(
            CompactAlert(
                pk,
                user_id,
                Criteria(required, excluded, cpv, departements, procedures, categories, buyers),
            )
        )
    return found


def match(index: NoticeIndex, alerts: Iterable[CompactAlert]) -> dict[int, set[int]]:
    """For each alert that matches any notice of ``index``: the ids of those notices."""
    found: dict[int, set[int]] = {}
    matching = index.matching
    with _cyclic_gc_paused():
        for alert in alerts:
            ids = matching(alert.criteria)
            if ids:
                found[alert.id] = set(ids)
    return found


# --- Delivery --------------------------------------------------------------------------


@dataclass
class _Mail:
    to: str
    alerts: list[Alert] = field(default_factory=list)
    notices: list[crossings.AlertNotice] = field(default_factory=list)


def _record_deliveries(alert_id: int, consultation_ids: Iterable[int]) -> list[int]:
    """Record the consultations sent for an alert; the ids not already recorded (the
    unique constraint settles two runs at once: the second one's insert waits for the
    first, then finds the row)."""
    new = []
    for consultation_id in consultation_ids:
        _row, created = AlertDelivery.objects.get_or_create(
            alert_id=alert_id, consultation_id=consultation_id
        )
        if created:
            new.append(consultation_id)
    return new


def _queue(mail: _Mail, *, template: str) -> None:
    consultations = [
        {
            "reference": n.reference,
            "title": n.title,
            "buyer": n.buyer_name,
            "deadline": timezone.localtime(n.response_deadline).strftime("%d/%m/%Y %H:%M"),
            "link": absolute_url(reverse("consultations:detail", kwargs={"pk": n.notice.id})),
        }
        for n in mail.notices
    ]
    first = mail.alerts[0]
    unsubscribe = unsubscribe_url(first)
    context = {
        "platform_name": settings.MUTUALIS_PLATFORM_NAME,
        "alerts": [a.name for a in mail.alerts],
        "consultations": consultations,
        "first_title": consultations[0]["title"] if consultations else "",
        "manage_link": absolute_url(reverse("alerts:list")),
        "unsubscribe_link": unsubscribe,
    }
    names = ", ".join(a.name for a in mail.alerts)
    # The platform's language (French): the recipient's own is unknown. Plurals are
    # chosen here: a template's count would not survive a missing variable.
    with translation.override(settings.LANGUAGE_CODE):
        if template == "alert_digest":
            context["headline"] = ngettext(
                "%(counter)s consultation published since the last digest matches your "
                "alert “%(name)s”.",
                "%(counter)s consultations published since the last digest match your "
                "alert “%(name)s”.",
                len(consultations),
            ) % {"counter": len(consultations), "name": names}
            context["headline_subject"] = ngettext(
                "%(name)s: %(counter)s new consultation",
                "%(name)s: %(counter)s new consultations",
                len(consultations),
            ) % {"counter": len(consultations), "name": names}
        else:
            context["headline"] = ngettext(
                "A new consultation matches your alert %(names)s.",
                "A new consultation matches your alerts %(names)s.",
                len(mail.alerts),
            ) % {"names": names}
        subject = render_text(f"procurement/email/{template}_subject.txt", context)
        body = render_text(f"procurement/email/{template}_message.txt", context)
    queue_email(
        to=mail.to,
        subject=" ".join(subject.split()),
        body_text=body,
        headers={
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Auto-Submitted": "auto-generated",
        },
    )


def send_immediate_alerts(*, consultation_id: int) -> int:
    """E-mail each person whose immediate alerts match a newly published consultation,
    once; returns the number of e-mails queued."""
    notices = crossings.alert_notices(consultation_ids=[consultation_id])
    if not notices:
        return 0
    index = NoticeIndex(n.notice for n in notices)
    matched = match(index, compact_alerts(AlertFrequency.IMMEDIATE))
    by_user: dict[int, list[int]] = defaultdict(list)
    alerts = Alert.objects.filter(pk__in=matched).select_related("user").order_by("pk")
    found = {alert.pk: alert for alert in alerts if alert.user.is_active and alert.user.email}
    for alert_id in sorted(found):
        by_user[found[alert_id].user_id].append(alert_id)
    sent = 0
    for alert_ids in by_user.values():
        with transaction.atomic():
            fresh = [a for a in alert_ids if _record_deliveries(a, [consultation_id])]
            if not fresh:
                continue
            mail = _Mail(to=found[fresh[0]].user.email, alerts=[found[a] for a in fresh])
            mail.notices = notices
            _queue(mail, template="alert_immediate")
            sent += 1
    return sent


def send_daily_digests(*, now: datetime | None = None) -> int:
    """Send each active daily alert the consultations published since its last digest
    that it matches (one e-mail per alert, none when nothing matched). Idempotent."""
    now = now or timezone.now()
    alerts = compact_alerts(AlertFrequency.DAILY)
    if not alerts:
        return 0
    notices = crossings.alert_notices(
        published_after=now - DIGEST_MAX_WINDOW, published_until=now, states=[State.PUBLISHED]
    )
    by_id = {n.notice.id: n for n in notices}
    matched = match(NoticeIndex(n.notice for n in notices), alerts)
    sent = 0
    for alert_id, consultation_ids in matched.items():
        with transaction.atomic():
            alert = (
                Alert.objects.select_for_update()
                .select_related("user")
                .filter(pk=alert_id, is_active=True)
                .first()
            )
            if alert is None or not alert.user.is_active or not alert.user.email:
                continue
            start = max(
                (alert.digest_until or alert.created_at) - DIGEST_OVERLAP,
                alert.created_at,
                now - DIGEST_MAX_WINDOW,
            )
            due = sorted(
                (i for i in consultation_ids if by_id[i].published_at > start),
                key=lambda i: (by_id[i].published_at, i),
            )
            fresh = set(_record_deliveries(alert.pk, due))
            alert.digest_until = now
            alert.save(update_fields=["digest_until"])
            if fresh:
                mail = _Mail(to=alert.user.email, alerts=[alert])
                mail.notices = [by_id[i] for i in due if i in fresh]
                _queue(mail, template="alert_digest")
                sent += 1
    # The others covered the window too: their next digest starts here.
    Alert.objects.filter(
        frequency=AlertFrequency.DAILY, is_active=True, digest_until__lt=now
    ).update(digest_until=now)
    return sent


# --- Suggestions from a company's profile ----------------------------------------------


@dataclass(frozen=True)
class Suggestion:
    """Criteria a company's procurement profile suggests to its representative."""

    company_name: str
    cpv_prefixes: list[str]
    departements: list[str]


def cpv_prefix(code: str) -> str:
    """The prefix a code stands for: its trailing zeros dropped, at least the division
    (45261000 gives 45261; 45000000 gives 45)."""
    return code.rstrip("0").ljust(2, "0")[:8]


def company_suggestions(user: Any) -> list[Suggestion]:
    """For each company the person represents, the CPV prefixes of its activities and
    the départements of its area (its profile, read in the company's own scope)."""
    from django_scopes import scope

    from mutualis.companies import crossings as company_crossings
    from mutualis.companies import selectors as company_selectors

    found = []
    for representation in company_crossings.representations_of_user(user):
        with scope(company=representation.company_id):
            profile = company_selectors.profile(representation.company)
            if profile is None:
                continue
            prefixes = list(dict.fromkeys(cpv_prefix(row.code) for row in profile.cpv_codes.all()))
            departements = [d.insee_code for d in profile.intervention_departements.all()]
            if profile.main_departement is not None:
                departements.insert(0, profile.main_departement.insee_code)
        departements = [d for d in dict.fromkeys(departements) if d]
        if prefixes or departements:
            found.append(Suggestion(representation.company.name, prefixes, departements))
    return found


# --- Feed -------------------------------------------------------------------------------


def feed_entries(alert: Alert, *, limit: int = FEED_LENGTH) -> list[crossings.AlertNotice]:
    """The latest published consultations the alert matches, newest first."""
    notices = crossings.alert_notices(
        states=[State.PUBLISHED, State.CLOSED], latest=FEED_CANDIDATES
    )
    ids = NoticeIndex(n.notice for n in notices).matching(_criteria_of(alert))
    return [n for n in notices if n.notice.id in ids][:limit]


def alert_for_feed(token: str) -> Alert | None:
    if not token or len(token) > 64:
        return None
    return Alert.objects.filter(feed_token=token).first()
