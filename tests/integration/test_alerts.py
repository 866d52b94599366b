"""Alerts: a person saves searches of the portal and is told of the new consultations
that match them, at once or in a daily digest, never twice; one-click unsubscribe; a
feed per alert; a person reaches only their own alerts."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from mutualis.core.models import OutgoingEmail
from mutualis.procurement import alerts, errors
from mutualis.procurement.alerts import AlertInput
from mutualis.procurement.models import Alert, AlertDelivery
from tests.factories.companies import company_siren, register_company, verified_person
from tests.factories.core import OrganisationFactory
from tests.factories.procurement import make_consultation, subscribe_to_procurement
from tests.mailbox import delivered, delivered_text

pytestmark = pytest.mark.django_db

LIST = reverse("alerts:list")
CREATE = reverse("alerts:create")


@pytest.fixture
def buyer(agent_a):
    """A buyer of Commune A, a commune of the Côte-d'Or (21)."""
    cote_dor = OrganisationFactory(kind="departement", insee_code="21", name="Côte-d'Or", siren="")
    with scopes_disabled():
        agent_a.organisation.departement = cote_dor
        agent_a.organisation.save(update_fields=["departement"])
    subscribe_to_procurement(agent_a.organisation)
    return agent_a


@pytest.fixture
def paul(db):
    return verified_person("paul@example.org")


@pytest.fixture
def zoe(db):
    return verified_person("zoe@example.org")


def alert_of(user, name="Toitures", **values) -> Alert:
    values.setdefault("cpv_prefixes", ["4526"])
    return alerts.create_alert(user=user, data=AlertInput(name=name, **values))


def publish(buyer, capture, **overrides):
    """Publish a consultation and run what its publication triggers (on commit)."""
    overrides.setdefault("reference", f"R-{Alert.objects.count()}-{timezone.now().timestamp()}")
    with capture(execute=True):
        return make_consultation(buyer, publish=True, **overrides)


def mails_to(email: str) -> list[OutgoingEmail]:
    return list(OutgoingEmail.objects.filter(to=email).order_by("pk"))


# --- Criteria ----------------------------------------------------------------------------


def test_an_immediate_alert_sends_a_matching_consultation_at_once(
    buyer, paul, django_capture_on_commit_callbacks
):
    alert_of(paul, frequency="immediate", departements=["21"], q="toiture eglise")
    consultation = publish(
        buyer, django_capture_on_commit_callbacks, title="Réfection de la toiture de l'Église"
    )

    [mail] = mails_to("paul@example.org")
    text = delivered_text(mail)
    assert "Réfection de la toiture de l'Église" in text
    assert f"/consultations/{consultation.pk}/" in text
    assert "https://" in text or "http://" in text
    assert AlertDelivery.objects.filter(consultation_id=consultation.pk).count() == 1


@pytest.mark.parametrize(
    ("criteria", "matches"),
    [
        ({"cpv_prefixes": ["45"]}, True),
        ({"cpv_prefixes": ["452610"]}, True),
        ({"cpv_prefixes": ["50"]}, False),
        ({"cpv_prefixes": [], "departements": ["21"]}, True),
        ({"cpv_prefixes": [], "departements": ["71"]}, False),
        ({"procedures": ["adapted"]}, True),
        ({"procedures": ["open"]}, False),
        ({"categories": ["works", "services"]}, True),
        ({"categories": ["supplies"]}, False),
        ({"buyers": ["commune-a"]}, True),
        ({"buyers": ["commune-b"]}, False),
        ({"q": "TOITURE"}, True),
        ({"q": "toiture -eglise"}, False),
        ({"q": "piscine"}, False),
        ({"cpv_prefixes": ["45", "50"], "departements": ["21"], "q": "charpente"}, True),
    ],
)
def test_each_criterion_decides(buyer, paul, django_capture_on_commit_callbacks, criteria, matches):
    alert_of(paul, frequency="immediate", **criteria)
    publish(buyer, django_capture_on_commit_callbacks, title="Toiture de l'église")
    assert len(mails_to("paul@example.org")) == (1 if matches else 0)


def test_a_person_gets_one_email_even_when_several_alerts_match(
    buyer, paul, zoe, django_capture_on_commit_callbacks
):
    alert_of(paul, "Toitures", frequency="immediate")
    alert_of(paul, "Travaux", frequency="immediate", cpv_prefixes=["45"])
    alert_of(zoe, "Côte-d'Or", frequency="immediate", cpv_prefixes=[], departements=["21"])
    alert_of(zoe, "Paused", frequency="immediate")
    Alert.objects.filter(name="Paused").update(is_active=False)

    publish(buyer, django_capture_on_commit_callbacks)

    assert len(mails_to("paul@example.org")) == 1
    assert len(mails_to("zoe@example.org")) == 1
    assert "Toitures, Travaux" in delivered_text(mails_to("paul@example.org")[0])


def test_an_immediate_alert_never_sends_a_consultation_twice(
    buyer, paul, django_capture_on_commit_callbacks
):
    alert_of(paul, frequency="immediate")
    consultation = publish(buyer, django_capture_on_commit_callbacks)
    # A retry of the task, or the signal handled twice.
    assert alerts.send_immediate_alerts(consultation_id=consultation.pk) == 0
    assert len(mails_to("paul@example.org")) == 1


def test_a_draft_sends_nothing(buyer, paul, django_capture_on_commit_callbacks):
    alert_of(paul, frequency="immediate")
    with django_capture_on_commit_callbacks(execute=True):
        draft = make_consultation(buyer)
    assert alerts.send_immediate_alerts(consultation_id=draft.pk) == 0
    assert mails_to("paul@example.org") == []


# --- Daily digest ------------------------------------------------------------------------


def test_a_daily_alert_sends_one_digest_of_the_new_consultations_once(
    buyer, paul, django_capture_on_commit_callbacks
):
    alert = alert_of(paul, frequency="daily")
    first = publish(buyer, django_capture_on_commit_callbacks, title="Toiture de la mairie")
    second = publish(buyer, django_capture_on_commit_callbacks, title="Toiture de l'école")
    publish(buyer, django_capture_on_commit_callbacks, title="Entretien", main_cpv="50000000")
    assert mails_to("paul@example.org") == []  # nothing at once

    assert alerts.send_daily_digests() == 1
    [mail] = mails_to("paul@example.org")
    text = delivered_text(mail)
    assert "Toiture de la mairie" in text
    assert "Toiture de l'école" in text
    assert "Entretien" not in text
    assert "2 new consultations" in mail.subject

    # Run twice (a retry, a second scheduler): nothing more.
    assert alerts.send_daily_digests() == 0
    assert alerts.send_daily_digests(now=timezone.now() + timedelta(minutes=5)) == 0
    assert len(mails_to("paul@example.org")) == 1
    assert set(
        AlertDelivery.objects.filter(alert=alert).values_list("consultation", flat=True)
    ) == {
        first.pk,
        second.pk,
    }

    # The next digest holds only what is new.
    publish(buyer, django_capture_on_commit_callbacks, title="Toiture du gymnase")
    assert alerts.send_daily_digests(now=timezone.now() + timedelta(seconds=1)) == 1
    latest = delivered_text(mails_to("paul@example.org")[-1])
    assert "Toiture du gymnase" in latest
    assert "Toiture de la mairie" not in latest


def test_a_digest_leaves_out_what_was_published_before_the_alert(
    buyer, paul, django_capture_on_commit_callbacks
):
    publish(buyer, django_capture_on_commit_callbacks, title="Ancienne toiture")
    alert_of(paul, frequency="daily")
    assert alerts.send_daily_digests() == 0
    assert mails_to("paul@example.org") == []


def test_a_paused_alert_sends_no_digest(buyer, paul, django_capture_on_commit_callbacks):
    alert = alert_of(paul, frequency="daily")
    alerts.set_alert_active(user=paul, alert_id=alert.pk, active=False)
    publish(buyer, django_capture_on_commit_callbacks)
    assert alerts.send_daily_digests() == 0


# --- Unsubscribe (RFC 8058) ---------------------------------------------------------------


def unsubscribe_link(mail) -> str:
    header = delivered(mail).extra_headers["List-Unsubscribe"]
    match = re.fullmatch(r"<(https?://[^>]+)>", header)
    assert match, header
    return match.group(1)


def test_every_alert_email_carries_one_click_unsubscribe(
    buyer, paul, django_capture_on_commit_callbacks
):
    alert_of(paul, frequency="immediate")
    publish(buyer, django_capture_on_commit_callbacks)
    [mail] = mails_to("paul@example.org")
    headers = delivered(mail).extra_headers
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe_link(mail) in delivered_text(mail)


def test_a_get_of_the_link_unsubscribes_nobody_and_a_post_without_login_does(
    buyer, paul, django_capture_on_commit_callbacks
):
    alert = alert_of(paul, frequency="immediate")
    publish(buyer, django_capture_on_commit_callbacks)
    path = urlsplit(unsubscribe_link(mails_to("paul@example.org")[0])).path
    anonymous = Client(enforce_csrf_checks=True)

    page = anonymous.get(path)
    assert page.status_code == 200
    assert '<form method="post"' in page.content.decode()
    alert.refresh_from_db()
    assert alert.is_active

    # The mail client's one-click POST: no session, no CSRF token.
    done = anonymous.post(path, {"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200
    alert.refresh_from_db()
    assert not alert.is_active
    # Repeating it is harmless.
    assert anonymous.post(path, {"List-Unsubscribe": "One-Click"}).status_code == 200


def test_a_wrong_or_altered_token_unsubscribes_nothing(paul):
    alert = alert_of(paul)
    other = alert_of(paul, "Other")
    token = alerts.unsubscribe_token(alert)
    anonymous = Client(enforce_csrf_checks=True)
    # The other alert's payload under this alert's signature.
    swapped = alerts.unsubscribe_token(other).split(":", 1)[0] + ":" + token.split(":", 1)[1]
    assert swapped != token
    for bad in ["not-a-token", token[:-2] + "xx", swapped]:
        url = reverse("alert_links:unsubscribe", kwargs={"token": bad})
        assert anonymous.post(url).status_code == 404
    assert Alert.objects.filter(is_active=True).count() == 2


# --- The person's pages ------------------------------------------------------------------


def test_a_person_creates_an_alert_prefilled_from_a_portal_search(client, paul):
    client.force_login(paul)
    page = client.get(CREATE + "?q=toiture&cpv=45&departement=21&category=works&page=3")
    form = page.context["form"]
    assert form.initial["q"] == "toiture"
    assert form.initial["cpv"] == "45"
    assert form.initial["category"] == ["works"]

    response = client.post(
        CREATE,
        {
            "name": "Toitures en Côte-d'Or",
            "q": "toiture",
            "cpv": "45261000-4, 4542",
            "departement": "21, 2a",
            "category": ["works"],
            "frequency": "immediate",
        },
    )
    assert response.status_code == 302
    alert = Alert.objects.get(user=paul)
    assert alert.cpv_prefixes == ["45261000", "4542"]
    assert alert.departements == ["21", "2A"]
    assert alert.words == ["toiture"]
    assert "Toitures en Côte-d&#x27;Or" in client.get(LIST).content.decode()


def test_the_portal_offers_an_alert_from_its_search(client):
    page = client.get("/consultations/?q=toiture&category=works").content.decode()
    assert reverse("alerts:create") + "?q=toiture&amp;category=works" in page


@pytest.mark.parametrize(
    ("data", "field", "code"),
    [
        ({"name": "Vide"}, "__all__", "alert_without_criteria"),
        ({"name": "x", "cpv": "4"}, "cpv", "cpv_format"),
        ({"name": "x", "cpv": "99"}, "cpv", "cpv_unknown"),
        ({"name": "x", "departement": "20"}, "departement", "departement_invalid"),
        ({"name": "x", "procedure": ["auction"]}, "procedure", "invalid_choice"),
        ({"name": "x" * 101, "cpv": "45"}, "name", "max_length"),
        ({"name": "x", "q": "y" * 201}, "q", "max_length"),
    ],
)
def test_bad_criteria_are_refused_with_a_message(client, paul, data, field, code):
    client.force_login(paul)
    response = client.post(CREATE, {"frequency": "daily", **data})
    assert response.status_code == 200
    assert response.context["form"].has_error(field, code=code)
    assert not Alert.objects.exists()


def test_a_nul_byte_is_refused_without_error(client, paul):
    client.force_login(paul)
    assert client.post(CREATE, {"name": "x\x00", "cpv": "45"}).status_code == 400
    with pytest.raises(errors.AlertCriterionInvalid):
        alerts.create_alert(user=paul, data=AlertInput(name="x", q="a\x00b"))


def test_a_person_has_a_bounded_number_of_alerts(paul, monkeypatch):
    monkeypatch.setattr(alerts, "MAX_ALERTS_PER_PERSON", 2)
    alert_of(paul, "1")
    alert_of(paul, "2")
    with pytest.raises(errors.TooManyAlerts):
        alert_of(paul, "3")


def test_a_person_edits_pauses_resumes_and_deletes_an_alert(client, paul):
    alert = alert_of(paul)
    client.force_login(paul)
    edit = reverse("alerts:edit", kwargs={"pk": alert.pk})
    assert client.get(edit).context["form"].initial["cpv"] == "4526"
    response = client.post(edit, {"name": "Charpente", "cpv": "4542", "frequency": "daily"})
    assert response.status_code == 302
    alert.refresh_from_db()
    assert (alert.name, alert.cpv_prefixes) == ("Charpente", ["4542"])

    client.post(reverse("alerts:pause", kwargs={"pk": alert.pk}), {"active": "0"})
    alert.refresh_from_db()
    assert not alert.is_active
    client.post(reverse("alerts:pause", kwargs={"pk": alert.pk}), {"active": "1"})
    alert.refresh_from_db()
    assert alert.is_active

    client.post(reverse("alerts:delete", kwargs={"pk": alert.pk}))
    assert not Alert.objects.exists()


def test_another_persons_alert_is_404(client, paul, zoe):
    alert = alert_of(paul)
    client.force_login(zoe)
    for name in ("alerts:edit", "alerts:pause", "alerts:delete", "alerts:feed_regenerate"):
        url = reverse(name, kwargs={"pk": alert.pk})
        assert client.get(url).status_code in (404, 405)
        assert client.post(url, {"name": "Pris", "cpv": "45", "active": "0"}).status_code == 404
    alert.refresh_from_db()
    assert (alert.name, alert.is_active) == ("Toitures", True)
    assert "Toitures" not in client.get(LIST).content.decode()


def test_the_pages_need_a_login_and_their_posts_a_csrf_token(paul):
    alert = alert_of(paul)
    anonymous = Client()
    assert "/accounts/login/" in anonymous.get(LIST)["Location"]
    guarded = Client(enforce_csrf_checks=True)
    guarded.force_login(paul)
    assert guarded.post(reverse("alerts:delete", kwargs={"pk": alert.pk})).status_code == 403
    assert Alert.objects.filter(pk=alert.pk).exists()


def test_a_representative_is_offered_the_criteria_of_the_company_profile(client, paul):
    from mutualis.companies.services import profile as profile_services

    OrganisationFactory(kind="departement", insee_code="21", name="Côte-d'Or", siren="")
    admin = register_company(paul, siren=company_siren(1), name="Couvreurs X")
    profile_services.update_company_profile(
        actor=admin,
        size="small",
        main_departement="21",
        intervention_departements=["21"],
        activities="",
        cpv_codes=["45261000", "45000000"],
    )
    client.force_login(paul)
    page = client.get(LIST)
    [suggestion] = page.context["suggestions"]
    assert suggestion.cpv_prefixes == ["45", "45261"]
    assert suggestion.departements == ["21"]
    assert "cpv=45261" in page.content.decode()


# --- Feed ---------------------------------------------------------------------------------


def test_each_alert_has_a_secret_feed_of_its_matching_consultations(
    client, buyer, paul, django_capture_on_commit_callbacks
):
    alert = alert_of(paul, frequency="daily")
    publish(buyer, django_capture_on_commit_callbacks, title="Toiture de la halle")
    publish(buyer, django_capture_on_commit_callbacks, title="Entretien", main_cpv="50000000")
    url = reverse("alert_links:feed", kwargs={"token": alert.feed_token})

    feed = client.get(url)
    assert feed.status_code == 200
    assert feed["Content-Type"].startswith("application/atom+xml")
    body = feed.content.decode()
    assert "<feed" in body
    assert "Toiture de la halle" in body
    assert "Entretien" not in body
    assert client.get(reverse("alert_links:feed", kwargs={"token": "guess"})).status_code == 404

    client.force_login(paul)
    client.post(reverse("alerts:feed_regenerate", kwargs={"pk": alert.pk}))
    assert Client().get(url).status_code == 404
    alert.refresh_from_db()
    assert Client().get(urlsplit(alerts.feed_url(alert)).path).status_code == 200


def test_the_list_of_alerts_costs_the_same_queries_whatever_their_number(
    client, paul, django_assert_max_num_queries
):
    client.force_login(paul)
    alert_of(paul, "1")
    client.get(LIST)  # the session and the person's rows, read once
    with django_assert_max_num_queries(12) as one:
        assert client.get(LIST).status_code == 200
    for n in range(2, 8):
        alert_of(paul, str(n))
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert client.get(LIST).status_code == 200


def test_the_daily_digest_is_a_declared_periodic_job():
    from mutualis.core import registry
    from mutualis.procurement import tasks

    [job] = [j for j in registry.periodic_jobs() if j.name == "send_alert_digests"]
    assert job.task is tasks.send_alert_digests
