"""Organisations in the back office: list, page, creation, edition, subscriptions."""

from __future__ import annotations

import hashlib
import io
from datetime import date

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from django_scopes import scopes_disabled
from PIL import Image

from mutualis.core import audit, errors
from mutualis.core.models import (
    AuditEvent,
    FeeCategory,
    Organisation,
    Service,
    StoredFile,
    Subscription,
)
from mutualis.core.services import organisations, subscriptions
from tests.factories.core import OrganisationFactory, valid_siren
from tests.factories.identity import make_member

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, operator_staff):
    client.force_login(operator_staff.user)
    return client


def events_of(organisation, action: str = "") -> list[AuditEvent]:
    with scopes_disabled():
        qs = AuditEvent.objects.filter(chain=audit.organisation_chain(organisation.pk))
        if action:
            qs = qs.filter(action=action)
        return list(qs.order_by("sequence"))


def image_upload(fmt: str = "PNG", size=(40, 20), name: str = "logo.png") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, "navy").save(buffer, fmt)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def edit_data(organisation: Organisation, **changes) -> dict:
    data = {
        "adhesion_status": organisation.adhesion_status,
        "adhesion_since": organisation.adhesion_since.isoformat()
        if organisation.adhesion_since
        else "",
        "fee_category": organisation.fee_category_id or "",
        "name": organisation.name,
        "siren": organisation.siren,
        "primary_colour": organisation.primary_colour,
        "secondary_colour": organisation.secondary_colour,
    }
    data.update(changes)
    return data


def page_text(message) -> str:
    """A message as the pages show it, in the platform's default language."""
    with translation.override(settings.LANGUAGE_CODE):
        return str(message)


def shown_messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def error_codes(response, field: str) -> list[str]:
    return [e.code for e in response.context["form"].errors.as_data().get(field, [])]


# --- List ------------------------------------------------------------------------------


@pytest.fixture
def territory():
    """A département, a commune in it, an EPCI spanning it, a commune elsewhere."""
    cote_dor = OrganisationFactory(name="Côte-d'Or", kind="departement", insee_code="21")
    yonne = OrganisationFactory(name="Yonne", kind="departement", insee_code="89")
    dijon = OrganisationFactory(
        name="Dijon", insee_code="21231", departement=cote_dor, adhesion_status="member"
    )
    auxerre = OrganisationFactory(name="Auxerre", insee_code="89024", departement=yonne)
    epci = OrganisationFactory(name="CC du Val", kind="epci_cc", insee_code="")
    epci.departements_spanned.add(cote_dor, yonne)
    return {"cote_dor": cote_dor, "yonne": yonne, "dijon": dijon, "auxerre": auxerre, "epci": epci}


def listed(response) -> list[str]:
    return [o.name for o in response.context["page"]]


def test_list_filters_by_text_kind_adhesion_and_departement(staff_client, territory):
    url = reverse("backoffice:organisation_list")
    assert listed(staff_client.get(url, {"q": "dijon"})) == ["Dijon"]
    assert listed(staff_client.get(url, {"q": territory["auxerre"].siren})) == ["Auxerre"]
    assert listed(staff_client.get(url, {"kind": "epci_cc"})) == ["CC du Val"]
    assert listed(staff_client.get(url, {"adhesion": "member"})) == ["Dijon"]
    assert listed(staff_client.get(url, {"departement": "21"})) == [
        "CC du Val",
        "Côte-d'Or",
        "Dijon",
    ]
    assert listed(staff_client.get(url, {"departement": "89", "kind": "commune"})) == ["Auxerre"]


def test_an_unknown_filter_value_is_shown_as_an_error_not_a_crash(staff_client, territory):
    response = staff_client.get(reverse("backoffice:organisation_list"), {"kind": "castle"})
    assert response.status_code == 200
    assert "kind" in response.context["form"].errors


def test_pagination_keeps_the_filters(staff_client):
    OrganisationFactory.create_batch(55, kind="school", siren="")
    response = staff_client.get(reverse("backoffice:organisation_list"), {"kind": "school"})
    assert response.context["page"].paginator.count == 55
    assert "?kind=school&amp;page=2" in response.content.decode()


def test_list_page_queries_do_not_grow_with_the_rows(
    staff_client, territory, django_assert_max_num_queries
):
    category = FeeCategory.objects.first()
    OrganisationFactory.create_batch(
        60, departement=territory["cote_dor"], fee_category=category, adhesion_status="member"
    )
    url = reverse("backoffice:organisation_list")
    staff_client.get(url)  # session and caches warm
    with django_assert_max_num_queries(9):
        response = staff_client.get(url, {"departement": "21", "q": "a"})
    assert response.status_code == 200
    with django_assert_max_num_queries(9):
        staff_client.get(url, {"page": 2})


# --- Organisation page -----------------------------------------------------------------


def test_page_shows_data_relations_members_and_services(staff_client, territory, agent_a, org_a):
    dijon = territory["dijon"]
    dijon.epci = territory["epci"]
    dijon.save()
    make_member(dijon, "maire@dijon.example.org", roles=["org_admin", "buyer"])
    with scopes_disabled():
        Subscription.objects.create(
            organisation=dijon,
            service=Service.objects.get(code="procurement"),
            since=timezone.localdate(),
        )
    html = staff_client.get(reverse("backoffice:organisation_detail", args=[dijon.pk])).content
    html = html.decode()
    assert dijon.siren in html
    assert "Côte-d&#x27;Or" in html
    assert "CC du Val" in html
    assert "maire@dijon.example.org" in html
    assert reverse("backoffice:subscription_suspend", args=[dijon.pk, "procurement"]) in html
    assert reverse("backoffice:subscription_subscribe", args=[dijon.pk, "signature"]) in html
    # Another member's people are not listed here.
    assert "agent.a@example.org" not in html

    epci_page = staff_client.get(
        reverse("backoffice:organisation_detail", args=[territory["epci"].pk])
    )
    assert list(epci_page.context["member_communes"]) == [dijon]


def test_page_queries_do_not_grow_with_the_members(
    staff_client, org_a, django_assert_max_num_queries
):
    for n in range(12):
        make_member(org_a, f"agent{n}@example.org", roles=["buyer", "secretary"])
    url = reverse("backoffice:organisation_detail", args=[org_a.pk])
    staff_client.get(url)
    with django_assert_max_num_queries(11):
        assert staff_client.get(url).status_code == 200


def test_unknown_organisation_gives_404(staff_client):
    for name in ("organisation_detail", "organisation_edit", "membership_add"):
        assert staff_client.get(reverse(f"backoffice:{name}", args=[999999])).status_code == 404


# --- Creation --------------------------------------------------------------------------


def test_create_makes_a_slug_from_the_name_and_records_the_event(
    staff_client, operator_staff, territory
):
    response = staff_client.post(
        reverse("backoffice:organisation_create"),
        {
            "name": "Syndicat des eaux de l'Auxois",
            "kind": "syndicat",
            "siren": "",
            "departement": territory["cote_dor"].pk,
        },
    )
    created = Organisation.objects.get(name="Syndicat des eaux de l'Auxois")
    assert response.status_code == 302
    assert response["Location"] == reverse("backoffice:organisation_detail", args=[created.pk])
    assert created.slug == "syndicat-des-eaux-de-lauxois"
    assert created.departement == territory["cote_dor"]
    assert created.adhesion_status == "prospect"
    [event] = events_of(created)
    assert event.action == "organisation.created"
    assert event.organisation_id == created.pk
    assert event.actor == f"user:{operator_staff.user.audit_pseudonym}"
    assert event.payload["kind"] == "syndicat"

    # The same name again gets another public address.
    staff_client.post(
        reverse("backoffice:organisation_create"),
        {"name": "Syndicat des eaux de l'Auxois", "kind": "syndicat", "siren": ""},
    )
    slugs = set(
        Organisation.objects.filter(name__startswith="Syndicat").values_list("slug", flat=True)
    )
    assert slugs == {"syndicat-des-eaux-de-lauxois", "syndicat-des-eaux-de-lauxois-2"}


def test_slug_numbering_ignores_longer_addresses_with_the_same_start(operator_staff):
    OrganisationFactory(slug="saint-apollinaire")
    OrganisationFactory(slug="ccas-2")
    first = organisations.create_organisation(
        actor=operator_staff, name="Saint", kind="other_public"
    )
    second = organisations.create_organisation(actor=operator_staff, name="CCAS", kind="ccas")
    third = organisations.create_organisation(actor=operator_staff, name="CCAS", kind="ccas")
    assert (first.slug, second.slug, third.slug) == ("saint", "ccas", "ccas-3")


def test_create_accepts_a_siren_typed_with_spaces(staff_client):
    siren = valid_siren(7000)
    staff_client.post(
        reverse("backoffice:organisation_create"),
        {
            "name": "CCAS de Beaune",
            "kind": "ccas",
            "siren": f"{siren[:3]} {siren[3:6]} {siren[6:]}",
        },
    )
    assert Organisation.objects.get(name="CCAS de Beaune").siren == siren


@pytest.mark.parametrize(
    ("siren", "code"),
    [("123456789", "invalid_siren"), ("12345", "invalid_siren"), ("taken", "siren_taken")],
)
def test_create_refuses_a_bad_or_taken_siren(staff_client, org_a, siren, code):
    siren = org_a.siren if siren == "taken" else siren
    count = Organisation.objects.count()
    response = staff_client.post(
        reverse("backoffice:organisation_create"),
        {"name": "SDIS", "kind": "sdis", "siren": siren},
    )
    assert response.status_code == 200
    assert error_codes(response, "siren") == [code]
    assert 'aria-invalid="true"' in response.content.decode()
    assert Organisation.objects.count() == count


def test_create_refuses_imported_kinds(staff_client, operator_staff):
    response = staff_client.post(
        reverse("backoffice:organisation_create"), {"name": "Dijon", "kind": "commune"}
    )
    assert error_codes(response, "kind") == ["invalid_choice"]
    with pytest.raises(errors.KindNotCreatable):
        organisations.create_organisation(actor=operator_staff, name="Dijon", kind="commune")


def test_a_second_operator_is_refused(staff_client, operator_staff):
    response = staff_client.post(
        reverse("backoffice:organisation_create"), {"name": "Autre GIP", "kind": "operator"}
    )
    assert error_codes(response, "kind") == ["operator_exists"]
    assert Organisation.objects.filter(kind="operator").count() == 1


def test_services_refuse_a_member_agent(agent_a, org_a):
    with pytest.raises(PermissionDenied):
        organisations.create_organisation(actor=agent_a, name="X", kind="ccas")
    with pytest.raises(PermissionDenied):
        subscriptions.subscribe(actor=agent_a, organisation_id=org_a.pk, service_code="procurement")
    assert events_of(org_a) == []


# --- Edition ---------------------------------------------------------------------------


def test_adhesion_change_writes_one_event_on_the_members_chain(staff_client, make_org):
    org = make_org(adhesion_status="prospect")
    category = FeeCategory.objects.get(code="commune-under-500")
    response = staff_client.post(
        reverse("backoffice:organisation_edit", args=[org.pk]),
        edit_data(
            org, adhesion_status="member", adhesion_since="2025-03-01", fee_category=category.pk
        ),
    )
    assert response.status_code == 302
    org.refresh_from_db()
    assert (org.adhesion_status, org.adhesion_since, org.fee_category) == (
        "member",
        date(2025, 3, 1),
        category,
    )
    [event] = events_of(org)
    assert event.action == "organisation.adhesion_changed"
    assert event.payload == {
        "before": {"adhesion_status": "prospect", "adhesion_since": None, "fee_category": None},
        "after": {
            "adhesion_status": "member",
            "adhesion_since": "2025-03-01",
            "fee_category": "commune-under-500",
        },
    }


def test_a_new_member_without_date_is_a_member_since_today(staff_client, make_org):
    org = make_org(adhesion_status="prospect")
    staff_client.post(
        reverse("backoffice:organisation_edit", args=[org.pk]),
        edit_data(org, adhesion_status="member"),
    )
    org.refresh_from_db()
    assert org.adhesion_since == timezone.localdate()


def test_saving_unchanged_data_writes_no_event(staff_client, org_a):
    staff_client.post(reverse("backoffice:organisation_edit", args=[org_a.pk]), edit_data(org_a))
    assert events_of(org_a) == []


def test_details_and_branding_changes_are_separate_events(staff_client, org_a):
    staff_client.post(
        reverse("backoffice:organisation_edit", args=[org_a.pk]),
        edit_data(org_a, name="Commune A-sur-Ouche", primary_colour="#AA0000"),
    )
    org_a.refresh_from_db()
    assert org_a.primary_colour == "#aa0000"
    actions = [e.action for e in events_of(org_a)]
    assert actions == ["organisation.details_changed", "organisation.branding_changed"]
    details, branding = events_of(org_a)
    assert details.payload == {
        "before": {"name": "Commune A"},
        "after": {"name": "Commune A-sur-Ouche"},
    }
    assert branding.payload["after"] == {"primary_colour": "#aa0000"}


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"siren": "123456789"}, "siren", "invalid_siren"),
        ({"siren": ""}, "siren", "siren_required"),
        ({"primary_colour": "red"}, "primary_colour", "invalid"),
        ({"secondary_colour": "#12345"}, "secondary_colour", "invalid"),
        ({"name": "   "}, "name", "required"),
        ({"adhesion_status": "vip"}, "adhesion_status", "invalid_choice"),
    ],
)
def test_bad_input_gives_a_form_error_and_changes_nothing(
    staff_client, org_a, changes, field, code
):
    before = Organisation.objects.values().get(pk=org_a.pk)
    response = staff_client.post(
        reverse("backoffice:organisation_edit", args=[org_a.pk]),
        edit_data(org_a, **{"adhesion_status": "former", **changes}),
    )
    assert response.status_code == 200
    assert error_codes(response, field) == [code]
    html = response.content.decode()
    assert f'id="id_{field}_error"' in html
    assert f'href="#id_{field}"' in html  # the error summary links to the field
    assert Organisation.objects.values().get(pk=org_a.pk) == before
    assert events_of(org_a) == []


def test_a_siren_of_another_organisation_is_refused(staff_client, org_a, org_b):
    response = staff_client.post(
        reverse("backoffice:organisation_edit", args=[org_a.pk]),
        edit_data(org_a, siren=org_b.siren, name="Renamed"),
    )
    assert error_codes(response, "siren") == ["siren_taken"]
    assert response.context["form"].errors["siren"] == [page_text(errors.SirenTaken.message)]
    org_a.refresh_from_db()
    assert org_a.name == "Commune A"
    assert events_of(org_a) == []


def test_a_png_logo_is_stored_under_our_own_name(staff_client, org_a):
    upload = image_upload(name="../../evil.html")
    data = upload.read()
    upload.seek(0)
    response = staff_client.post(
        reverse("backoffice:organisation_edit", args=[org_a.pk]),
        {**edit_data(org_a), "logo": upload},
    )
    assert response.status_code == 302
    org_a.refresh_from_db()
    logo = org_a.logo
    assert (logo.original_name, logo.content_type) == (f"{org_a.slug}.png", "image/png")
    assert (logo.owner_kind, logo.owner_ref) == ("core.logo", str(org_a.pk))
    assert (logo.size, logo.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    [event] = events_of(org_a)
    assert event.action == "organisation.branding_changed"
    assert event.payload["after"] == {"logo": str(logo.pk)}

    # The logo is public: anyone downloads it through the file store's one view.
    anonymous = Client()
    download = anonymous.get(logo.get_absolute_url())
    assert download.status_code == 200
    assert download["Content-Type"] == "image/png"
    assert b"".join(download.streaming_content) == data
    detail = anonymous.get(reverse("directory:detail", args=[org_a.slug]))
    assert logo.get_absolute_url() in detail.content.decode()

    staff_client.post(
        reverse("backoffice:organisation_edit", args=[org_a.pk]),
        {**edit_data(org_a), "remove_logo": "on"},
    )
    org_a.refresh_from_db()
    assert org_a.logo is None


def test_a_jpeg_logo_is_accepted(staff_client, org_a):
    staff_client.post(
        reverse("backoffice:organisation_edit", args=[org_a.pk]),
        {**edit_data(org_a), "logo": image_upload("JPEG", name="logo.jpeg")},
    )
    org_a.refresh_from_db()
    assert (org_a.logo.original_name, org_a.logo.content_type) == (
        f"{org_a.slug}.jpg",
        "image/jpeg",
    )


@pytest.mark.parametrize(
    ("upload", "code"),
    [
        (SimpleUploadedFile("big.png", b"\x89PNG" + b"0" * (1024 * 1024)), "logo_too_large"),
        (SimpleUploadedFile("notes.png", b"not an image at all"), "logo_format_refused"),
        (
            SimpleUploadedFile("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg"/>'),
            "logo_format_refused",
        ),
        ("gif", "logo_format_refused"),
        ("wide", "logo_dimensions_too_large"),
    ],
)
def test_a_bad_logo_gives_a_clear_error_and_changes_nothing(staff_client, org_a, upload, code):
    if upload == "gif":
        upload = image_upload("GIF", name="logo.gif")
    elif upload == "wide":
        upload = image_upload(size=(4001, 1))
    response = staff_client.post(
        reverse("backoffice:organisation_edit", args=[org_a.pk]),
        {**edit_data(org_a, name="Renamed"), "logo": upload},
    )
    assert response.status_code == 200
    assert error_codes(response, "logo") == [code]
    org_a.refresh_from_db()
    assert (org_a.name, org_a.logo) == ("Commune A", None)
    assert events_of(org_a) == []
    assert not StoredFile.objects.exists()


def test_leaving_the_grouping_suspends_the_subscriptions(staff_client, org_a):
    with scopes_disabled():
        for code in ("procurement", "signature"):
            Subscription.objects.create(
                organisation=org_a,
                service=Service.objects.get(code=code),
                since=timezone.localdate(),
            )
    staff_client.post(
        reverse("backoffice:organisation_edit", args=[org_a.pk]),
        edit_data(org_a, adhesion_status="former"),
    )
    with scopes_disabled():
        assert not Subscription.objects.filter(organisation=org_a, is_active=True).exists()
    actions = [e.action for e in events_of(org_a)]
    assert actions == [
        "organisation.adhesion_changed",
        "subscription.suspended",
        "subscription.suspended",
    ]
    assert events_of(org_a)[1].payload["reason"] == "adhesion_ended"


# --- Subscriptions ---------------------------------------------------------------------


def subscription(org, code="procurement") -> Subscription | None:
    with scopes_disabled():
        return Subscription.objects.filter(organisation=org, service_id=code).first()


def test_subscribe_suspend_and_resume(staff_client, org_a):
    def post(action):
        return staff_client.post(
            reverse(f"backoffice:subscription_{action}", args=[org_a.pk, "procurement"])
        )

    response = post("subscribe")
    assert response.status_code == 302
    assert response["Location"].endswith("#services")
    assert subscription(org_a).is_active
    assert subscription(org_a).since == timezone.localdate()
    post("suspend")
    assert not subscription(org_a).is_active
    post("resume")
    assert subscription(org_a).is_active
    events = events_of(org_a)
    assert [e.action for e in events] == [
        "subscription.created",
        "subscription.suspended",
        "subscription.resumed",
    ]
    assert {e.object_type for e in events} == {"core.subscription"}
    assert events[0].payload["service"] == "procurement"


def test_subscription_rules_give_messages_and_change_nothing(staff_client, make_org, org_a):
    prospect = make_org(adhesion_status="prospect")
    response = staff_client.post(
        reverse("backoffice:subscription_subscribe", args=[prospect.pk, "procurement"]),
        follow=True,
    )
    assert shown_messages(response) == [page_text(errors.NotAMember.message)]
    assert subscription(prospect) is None

    Service.objects.filter(code="website").update(is_available=False)
    with pytest.raises(errors.ServiceUnavailable):
        subscriptions.subscribe(
            actor=response.wsgi_request.membership,
            organisation_id=org_a.pk,
            service_code="website",
        )
    staff_client.post(reverse("backoffice:subscription_suspend", args=[org_a.pk, "procurement"]))
    staff_client.post(reverse("backoffice:subscription_subscribe", args=[org_a.pk, "signature"]))
    staff_client.post(reverse("backoffice:subscription_subscribe", args=[org_a.pk, "signature"]))
    staff_client.post(reverse("backoffice:subscription_resume", args=[org_a.pk, "signature"]))
    assert [e.action for e in events_of(org_a)] == ["subscription.created"]
    assert events_of(prospect) == []


def test_subscription_of_an_unknown_service_gives_404(staff_client, org_a):
    response = staff_client.post(
        reverse("backoffice:subscription_subscribe", args=[org_a.pk, "teleportation"])
    )
    assert response.status_code == 404


def test_subscription_urls_refuse_get(staff_client, org_a):
    response = staff_client.get(
        reverse("backoffice:subscription_subscribe", args=[org_a.pk, "procurement"])
    )
    assert response.status_code == 405
    assert subscription(org_a) is None
