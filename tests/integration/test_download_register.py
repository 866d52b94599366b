"""Downloaders identify on a published consultation's public page (through a company
account, or with a name, an address and a valid SIRET whose address is confirmed by a
link before anything else is sent to it); their downloads are recorded on the download
register, which the buyer and the company both hold and nobody else sees."""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory
from django.urls import reverse
from django_scopes import scopes_disabled

from mutualis.companies.models import Company
from mutualis.core.models import OutgoingEmail
from mutualis.procurement import downloaders, signals
from mutualis.procurement.models import Downloader, RecordedDownload
from tests.factories.companies import (
    company_siren,
    company_url,
    register_company,
    valid_siret,
    verified_person,
)
from tests.factories.core import org_url
from tests.factories.downloaders import UNKNOWN_SIRET, confirm, confirmation_link, identify
from tests.factories.identity import make_member
from tests.factories.procurement import make_consultation, subscribe_to_procurement
from tests.mailbox import delivered_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def buyer(agent_a):
    subscribe_to_procurement(agent_a.organisation)
    return agent_a


@pytest.fixture
def consultation(buyer):
    return make_consultation(buyer, publish=True)


@pytest.fixture
def company_x():
    admin = register_company(
        verified_person("alice.x@example.org"), siren=company_siren(1), name="Menuiserie X"
    )
    return admin


def lines_of(consultation) -> list[Downloader]:
    with scopes_disabled():
        return list(Downloader.for_organisation.filter(consultation_id=consultation.pk))


def download(client, consultation, document_ids):
    request = RequestFactory().get("/files/")
    request.session = client.session
    request.user = AnonymousUser()
    signals.documents_downloaded.send(
        sender="procurement",
        consultation_id=consultation.pk,
        organisation_id=consultation.organisation_id,
        request=request,
        document_ids=document_ids,
    )


# --- Identifying -------------------------------------------------------------------------


def test_an_invalid_siret_is_refused_with_what_to_fix_and_nothing_is_sent(client, consultation):
    response = identify(client, consultation, siret="83274165600012")
    assert response.status_code == 400
    form = response.context["identify_form"]
    assert form.has_error("siret", "siret_bad_check_digit")
    assert "Jeanne Martin" in response.content.decode()  # what was typed is kept
    assert lines_of(consultation) == []
    assert not OutgoingEmail.objects.exists()


def test_bad_input_is_refused_without_error_page(client, consultation):
    for data in (
        {"mode": "siret", "name": "Jeanne\x00", "email": "a@example.net", "siret": UNKNOWN_SIRET},
        {"mode": "siret", "name": "J" * 5000, "email": "a@example.net", "siret": UNKNOWN_SIRET},
        {"mode": "siret", "name": "Jeanne", "email": "not-an-address", "siret": UNKNOWN_SIRET},
    ):
        url = reverse("consultations:identify", kwargs={"pk": consultation.pk})
        assert client.post(url, data).status_code == 400
    assert lines_of(consultation) == []


def test_a_draft_cannot_be_identified_on(client, buyer):
    draft = make_consultation(buyer, reference="DRAFT-1")
    assert identify(client, draft).status_code == 404


def test_identifying_with_a_siret_sends_the_confirmation_only(client, consultation):
    response = identify(client, consultation)
    assert response.status_code == 302
    [line] = lines_of(consultation)
    assert (line.name, line.email, line.siret, line.company_id) == (
        "Jeanne Martin",
        "jeanne@example.net",
        UNKNOWN_SIRET,
        None,
    )
    assert line.confirmed_at is None
    [mail] = OutgoingEmail.objects.filter(to="jeanne@example.net")
    text = delivered_text(mail)
    assert "/consultations/confirm/?token=" in text
    # The visitor's own words never reach the address: only the buyer's title does.
    assert "Jeanne Martin" not in text
    assert "Jeanne Martin" not in mail.subject
    # The link is sealed in the outbox, never stored in clear.
    assert "token=" not in mail.body_text


def test_the_confirmation_link_shows_a_button_and_confirms_on_post(client, consultation):
    identify(client, consultation)
    link = confirmation_link("jeanne@example.net")
    path = link[link.index("/consultations/") :]
    assert client.get(path).status_code == 200
    assert lines_of(consultation)[0].confirmed_at is None  # a mail scanner confirms nothing
    response = confirm(client, "jeanne@example.net")
    assert response.status_code == 302
    assert lines_of(consultation)[0].confirmed_at is not None
    found = downloaders.identification(_request_with(client), consultation.pk)
    assert found is not None
    assert found.confirmed


def _request_with(client):
    request = RequestFactory().get("/")
    request.session = client.session
    return request


def test_a_forged_or_altered_confirmation_link_is_refused(client, consultation):
    identify(client, consultation)
    token = confirmation_link("jeanne@example.net").split("token=", 1)[1]
    response = client.post(reverse("consultations:confirm"), {"token": token[:-2] + "xx"})
    assert response.status_code == 400
    assert client.post(reverse("consultations:confirm"), {"token": "\x00"}).status_code == 400
    assert lines_of(consultation)[0].confirmed_at is None


def test_identifying_with_anothers_address_does_not_take_over_their_confirmed_line(
    client, consultation
):
    identify(client, consultation)
    confirm(client, "jeanne@example.net")
    intruder = type(client)()
    identify(intruder, consultation, siret=valid_siret(company_siren(41)))
    [line] = lines_of(consultation)
    assert line.siret == UNKNOWN_SIRET  # the confirmed line keeps what was confirmed
    found = downloaders.identification(_request_with(intruder), consultation.pk)
    assert found is not None
    assert not found.confirmed


def test_confirmations_are_limited_per_address(client, consultation, settings):
    settings.MUTUALIS_DOWNLOADER_CONFIRMATION_RATE_PER_ADDRESS = "3/h"
    for n in range(3):
        other = type(client)()
        assert identify(other, consultation, REMOTE_ADDR=f"192.0.2.{n}").status_code == 302
    response = identify(client, consultation, REMOTE_ADDR="192.0.2.99")
    assert response.status_code == 400
    assert response.context["identify_form"].has_error("__all__", "mail_limit_reached")
    assert OutgoingEmail.objects.filter(to="jeanne@example.net").count() == 3


def test_confirmations_are_limited_per_source(client, consultation, settings):
    settings.MUTUALIS_DOWNLOADER_CONFIRMATION_RATE_PER_SOURCE = "2/h"
    for n in range(2):
        assert identify(client, consultation, email=f"v{n}@example.net").status_code == 302
    response = identify(client, consultation, email="victim@example.net")
    assert response.status_code == 400
    assert not OutgoingEmail.objects.filter(to="victim@example.net").exists()
    assert len(lines_of(consultation)) == 2


def test_a_siret_of_a_company_on_the_platform_names_that_company(client, consultation, company_x):
    identify(client, consultation, siret=valid_siret(company_siren(1), 7))
    [line] = lines_of(consultation)
    assert line.company_id == company_x.company_id
    assert line.via_account is False


def test_a_representative_identifies_through_their_account_without_any_mail(
    client, consultation, company_x
):
    client.force_login(company_x.user)
    mails_before = OutgoingEmail.objects.count()
    response = client.post(
        reverse("consultations:identify", kwargs={"pk": consultation.pk}),
        {"mode": "account", "company": company_x.company.siren},
    )
    assert response.status_code == 302
    [line] = lines_of(consultation)
    assert line.via_account
    assert line.company_id == company_x.company_id
    assert line.confirmed_at is not None
    assert line.siret == valid_siret(company_siren(1))
    assert OutgoingEmail.objects.count() == mails_before


def test_nobody_identifies_for_a_company_they_do_not_represent(client, consultation, company_x):
    client.force_login(verified_person("mallory@example.org"))
    response = client.post(
        reverse("consultations:identify", kwargs={"pk": consultation.pk}),
        {"mode": "account", "company": company_x.company.siren},
    )
    assert response.status_code == 400
    assert lines_of(consultation) == []


# --- Downloads ---------------------------------------------------------------------------


def test_downloads_of_an_identified_browser_are_recorded(client, consultation):
    identify(client, consultation)
    download(client, consultation, [11, 12])
    download(client, consultation, 11)
    [line] = lines_of(consultation)
    assert line.download_count == 2
    assert line.last_download_at is not None
    with scopes_disabled():
        recorded = list(RecordedDownload.for_organisation.filter(downloader=line).order_by("pk"))
    assert [r.document_ids for r in recorded] == [[11, 12], [11]]


def test_anonymous_downloads_are_recorded_nowhere(client, consultation):
    download(client, consultation, [11])
    with scopes_disabled():
        assert not RecordedDownload.for_organisation.exists()


# --- The register: the buyer, the company, nobody else ---------------------------------


@pytest.fixture
def identified(client, consultation, company_x):
    identify(client, consultation, siret=valid_siret(company_siren(1), 7))
    confirm(client, "jeanne@example.net")
    download(client, consultation, [1, 2, 3])
    return lines_of(consultation)[0]


def test_the_buyer_sees_the_register_on_its_consultation_page(client, buyer, identified):
    client.force_login(buyer.user)
    response = client.get(org_url("procurement:detail", pk=identified.consultation_id))
    body = response.content.decode()
    assert response.status_code == 200
    for shown in ("Jeanne Martin", "Menuiserie X", identified.siret, "jeanne@example.net"):
        assert shown in body
    assert "Unverified" in body  # the company's verification status


def test_the_buyer_exports_the_register_without_formulas(client, buyer, consultation):
    identify(client, consultation, email="a@example.net")
    other = type(client)()
    other.post(
        reverse("consultations:identify", kwargs={"pk": consultation.pk}),
        {"mode": "siret", "name": '=HYPERLINK("http://evil")', "email": "b@example.net",
         "siret": UNKNOWN_SIRET},
    )  # fmt: skip
    client.force_login(buyer.user)
    response = client.get(org_url("procurement:register_csv", pk=consultation.pk))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][0] == "Name"
    names = sorted(row[0] for row in rows[1:])
    assert names == ['\'=HYPERLINK("http://evil")', "Jeanne Martin"]
    assert all(row[5] == "no" for row in rows[1:])  # unconfirmed addresses


def test_another_member_reaches_neither_register_nor_export(client, agent_b, identified):
    subscribe_to_procurement(agent_b.organisation)
    client.force_login(agent_b.user)
    pk = identified.consultation_id
    assert client.get(org_url("procurement:register_csv", pk=pk)).status_code == 404
    # Its own path gives nothing either: the consultation is not its.
    assert client.get(org_url("procurement:register_csv", "commune-b", pk=pk)).status_code == 404
    assert client.get(org_url("procurement:detail", "commune-b", pk=pk)).status_code == 404


def test_a_member_without_the_buyer_role_gets_404(client, buyer, identified):
    clerk = make_member(buyer.organisation, "clerk.a@example.org", roles=[])
    client.force_login(clerk.user)
    url = org_url("procurement:register_csv", pk=identified.consultation_id)
    assert client.get(url).status_code == 404


def test_the_company_sees_its_own_register_lines(client, company_x, identified):
    client.force_login(company_x.user)
    response = client.get(company_url("company_procurement:downloads"))
    body = response.content.decode()
    assert response.status_code == 200
    assert "jeanne@example.net" in body
    assert "declared with your SIRET" in body


def test_another_company_sees_none_of_them(client, identified):
    dave = verified_person("dave.y@example.org")
    register_company(dave, siren=company_siren(2), name="Plomberie Y")
    client.force_login(dave)
    assert client.get(company_url("company_procurement:downloads")).status_code == 404
    own = client.get(company_url("company_procurement:downloads", company_siren(2)))
    assert own.status_code == 200
    assert "jeanne@example.net" not in own.content.decode()


def test_each_side_reads_through_its_own_manager_only(identified):
    from django_scopes import scope

    with scope(company=identified.company_id):
        assert list(Downloader.for_company.filter(company_id=identified.company_id)) == [identified]
    with scope(organisation=identified.organisation_id):
        assert Downloader.for_organisation.filter(pk=identified.pk).exists()
    with scopes_disabled():
        assert Company.objects.get(pk=identified.company_id).siren == company_siren(1)


def test_nobody_identifies_once_the_deadline_for_responses_has_passed(client, consultation):
    """Open is computed from the deadline, before the job records the closing."""
    from datetime import timedelta

    from django.utils import timezone

    from mutualis.procurement.models import Consultation

    with scopes_disabled():
        Consultation.objects.filter(pk=consultation.pk).update(
            questions_deadline=timezone.now() - timedelta(days=2),
            response_deadline=timezone.now() - timedelta(minutes=1),
        )
    response = identify(client, consultation)
    assert response.status_code == 400
    assert response.context["identify_form"].has_error("__all__", "identification_closed")
    assert lines_of(consultation) == []
    assert not OutgoingEmail.objects.exists()


def test_the_buyers_page_reads_the_register_in_as_many_queries_whatever_its_length(
    client, buyer, consultation, django_assert_max_num_queries
):
    identify(client, consultation, email="a@example.net")
    download(client, consultation, [1])
    client.force_login(buyer.user)
    url = org_url("procurement:detail", pk=consultation.pk)
    with django_assert_max_num_queries(100) as one_line:
        first = client.get(url)
    assert first.status_code == 200
    # Counted now: each request empties the connection's query log.
    budget = len(one_line)
    for n in range(3):
        other = type(client)()
        identify(other, consultation, email=f"n{n}@example.net", REMOTE_ADDR=f"192.0.2.{n}")
        download(other, consultation, [1, 2])
    with django_assert_max_num_queries(budget):
        assert client.get(url).status_code == 200


@pytest.mark.redis
def test_confirmations_are_counted_in_the_shared_cache(client, consultation, settings):
    """Every web process counts into the same counter (Redis in production)."""
    from django.core.cache import cache

    from tests.conftest import REDIS_URL

    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
    settings.MUTUALIS_DOWNLOADER_CONFIRMATION_RATE_PER_ADDRESS = "2/h"
    cache.clear()
    try:
        for n in range(2):
            assert (
                identify(type(client)(), consultation, REMOTE_ADDR=f"192.0.2.{n}").status_code
                == 302
            )
        assert identify(client, consultation, REMOTE_ADDR="192.0.2.9").status_code == 400
        assert OutgoingEmail.objects.filter(to="jeanne@example.net").count() == 2
    finally:
        cache.clear()


def test_the_confirmation_link_expires_after_three_days(client, consultation):
    import time
    from unittest import mock

    identify(client, consultation)
    token = confirmation_link("jeanne@example.net").split("token=", 1)[1]
    later = time.time() + downloaders.CONFIRMATION_MAX_AGE + 60
    with mock.patch("django.core.signing.time.time", return_value=later):
        response = client.post(reverse("consultations:confirm"), {"token": token})
    assert response.status_code == 400
    assert lines_of(consultation)[0].confirmed_at is None


def test_a_forgotten_identification_records_no_more_downloads(client, consultation):
    identify(client, consultation)
    download(client, consultation, None)
    client.post(reverse("consultations:leave", kwargs={"pk": consultation.pk}))
    download(client, consultation, [1])
    [line] = lines_of(consultation)
    assert line.download_count == 1
    with scopes_disabled():
        assert RecordedDownload.for_organisation.get().document_ids == []  # all the files


def test_identifying_through_an_account_needs_to_be_signed_in(client, consultation, company_x):
    response = client.post(
        reverse("consultations:identify", kwargs={"pk": consultation.pk}),
        {"mode": "account", "company": company_x.company.siren},
    )
    assert response.status_code == 404
    assert lines_of(consultation) == []
