"""An organisation's contact data (main establishment's SIRET, postal address, e-mail,
phone): completed by the operator through the core service, shown by the directory."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape
from django_scopes import scopes_disabled
from stdnum import luhn

from mutualis.core import audit, errors
from mutualis.core.models import AuditEvent, Organisation
from mutualis.core.services import organisations
from tests.factories.core import OrganisationFactory, valid_siren

pytestmark = pytest.mark.django_db

LA_POSTE_SIREN = "356000000"
# A La Poste establishment: valid by its digit sum, not by Luhn (python-stdnum knows).
LA_POSTE_ESTABLISHMENT = "35600000049837"

CONTACT = {
    "street": "Place de la Libération",
    "street_extra": "CS 73310",
    "postcode": "21033",
    "city": "Dijon Cedex",
    "contact_email": "accueil@dijon.example",
    "phone": "03.80.74.51.51",
}


def siret_of(siren: str, nic: str = "0001") -> str:
    body = siren + nic
    return body + luhn.calc_check_digit(body)


def update(actor, organisation, **contact):
    return organisations.update_organisation(
        actor=actor,
        organisation_id=organisation.pk,
        name=organisation.name,
        siren=organisation.siren,
        adhesion_status=organisation.adhesion_status,
        adhesion_since=organisation.adhesion_since,
        fee_category=organisation.fee_category,
        primary_colour=organisation.primary_colour,
        secondary_colour=organisation.secondary_colour,
        contact=contact,
    )


def contact_events(organisation) -> list[AuditEvent]:
    with scopes_disabled():
        return list(
            AuditEvent.objects.filter(
                chain=audit.organisation_chain(organisation.pk),
                action="organisation.contact_changed",
            ).order_by("sequence")
        )


def reload(organisation) -> Organisation:
    return Organisation.objects.get(pk=organisation.pk)


def page_text(message) -> str:
    with translation.override(settings.LANGUAGE_CODE):
        return str(message)


# --- The service -----------------------------------------------------------------------


def test_the_operator_completes_the_contact_data_in_one_audited_change(operator_staff, org_a):
    siret = siret_of(org_a.siren)

    update(operator_staff, org_a, siret=siret[:3] + " " + siret[3:], **CONTACT)

    org = reload(org_a)
    assert org.siret == siret
    assert (org.street, org.street_extra, org.postcode, org.city) == (
        "Place de la Libération",
        "CS 73310",
        "21033",
        "Dijon Cedex",
    )
    assert org.contact_email == "accueil@dijon.example"
    assert org.phone == "0380745151"
    assert org.phone_display == "03 80 74 51 51"
    [event] = contact_events(org_a)
    assert event.payload["after"] == {
        "siret": siret,
        "street": "Place de la Libération",
        "street_extra": "CS 73310",
        "postcode": "21033",
        "city": "Dijon Cedex",
    }
    assert event.payload["before"]["siret"] == ""
    # The address and phone may be an agent's own: named, never recorded in the chain.
    assert sorted(event.payload["changed"]) == sorted(["siret", *CONTACT])
    assert "accueil@dijon.example" not in str(event.payload)
    assert "0380745151" not in str(event.payload)


def test_an_unchanged_contact_writes_no_event(operator_staff, org_a):
    update(operator_staff, org_a, **CONTACT)
    update(operator_staff, reload(org_a), **CONTACT)

    assert len(contact_events(org_a)) == 1


def test_contact_fields_left_out_keep_their_values(operator_staff, org_a):
    update(operator_staff, org_a, **CONTACT)

    update(operator_staff, reload(org_a), city="Dijon")

    org = reload(org_a)
    assert (org.city, org.street, org.phone) == ("Dijon", "Place de la Libération", "0380745151")


def test_only_operator_staff_change_the_contact_data(agent_a, org_a):
    with pytest.raises(PermissionDenied):
        update(agent_a, org_a, **CONTACT)
    assert reload(org_a).city == ""


@pytest.mark.parametrize(
    ("siret", "code"),
    [
        ("7328293200007", "siret_wrong_length"),
        ("7328293200007A", "siret_not_digits"),
        ("73282932000075", "siret_bad_check_digit"),
        ("7328\x0029320000", "siret_not_digits"),
    ],
)
def test_an_invalid_siret_is_refused_with_what_is_wrong(operator_staff, org_a, siret, code):
    with pytest.raises(errors.InvalidSiret) as raised:
        update(operator_staff, org_a, siret=siret)

    assert raised.value.code == code
    assert raised.value.field == "siret"
    assert reload(org_a).siret == ""


def test_a_siret_of_another_siren_is_refused(operator_staff, org_a, org_b):
    with pytest.raises(errors.SiretOfAnotherSiren) as raised:
        update(operator_staff, org_a, siret=siret_of(org_b.siren))

    assert raised.value.field == "siret"
    assert contact_events(org_a) == []


def test_a_la_poste_establishment_is_accepted_for_la_poste(operator_staff):
    la_poste = OrganisationFactory(kind="other_public", siren=LA_POSTE_SIREN)

    update(operator_staff, la_poste, siret=LA_POSTE_ESTABLISHMENT)

    assert reload(la_poste).siret == LA_POSTE_ESTABLISHMENT


def test_changing_the_siren_away_from_the_siret_is_refused(operator_staff, make_org):
    org = make_org(kind="other_public")
    update(operator_staff, org, siret=siret_of(org.siren))
    org = reload(org)

    with pytest.raises(errors.SiretOfAnotherSiren):
        organisations.update_organisation(
            actor=operator_staff,
            organisation_id=org.pk,
            name=org.name,
            siren=valid_siren(987654),
            adhesion_status=org.adhesion_status,
            adhesion_since=None,
            fee_category=None,
            primary_colour=org.primary_colour,
            secondary_colour=org.secondary_colour,
        )
    assert reload(org).siren == org.siren


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("street", "x" * 201, "text_too_long"),
        ("city", "x" * 101, "text_too_long"),
        ("street", "1 rue\x00du Port", "nul_character"),
        ("postcode", "2100", "invalid_postcode"),
        ("postcode", "21 00A", "invalid_postcode"),
        ("phone", "12345", "invalid_phone"),
        ("phone", "03 80 74 51 5x", "invalid_phone"),
        ("contact_email", "not an address", "invalid_contact_email"),
        ("contact_email", "a@" + "b" * 260 + ".fr", "text_too_long"),
    ],
)
def test_bad_contact_input_is_refused_on_its_field(operator_staff, org_a, field, value, code):
    with pytest.raises(errors.PlatformError) as raised:
        update(operator_staff, org_a, **{field: value})

    assert (raised.value.code, raised.value.field) == (code, field)
    assert contact_events(org_a) == []


def test_an_international_phone_number_is_kept_with_its_plus(operator_staff, org_a):
    update(operator_staff, org_a, phone="+41 22 123 45 67")

    org = reload(org_a)
    assert org.phone == "+41221234567"
    assert org.phone_display == "+41221234567"


def test_the_database_refuses_a_siret_outside_the_siren(org_a, org_b):
    with transaction.atomic(), pytest.raises(IntegrityError):
        Organisation.objects.filter(pk=org_a.pk).update(siret=siret_of(org_b.siren))
    # Without a SIREN any valid SIRET may stand (the check needs both).
    Organisation.objects.filter(pk=org_a.pk).update(siren="", kind="other_public")
    Organisation.objects.filter(pk=org_a.pk).update(siret=siret_of(org_b.siren))


# --- The back-office edit page ---------------------------------------------------------


def edit_url(organisation) -> str:
    return reverse("backoffice:organisation_edit", kwargs={"pk": organisation.pk})


def edit_data(organisation, **changes) -> dict:
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


def field_errors(response, field: str) -> list[str]:
    return [e.code for e in response.context["form"].errors.as_data().get(field, [])]


@pytest.fixture
def staff_client(client, operator_staff):
    client.force_login(operator_staff.user)
    return client


def test_the_edit_page_saves_the_contact_data(staff_client, org_a):
    siret = siret_of(org_a.siren)
    page = staff_client.get(edit_url(org_a))
    assert 'name="siret"' in page.content.decode()

    response = staff_client.post(edit_url(org_a), edit_data(org_a, siret=siret, **CONTACT))

    assert response.status_code == 302
    org = reload(org_a)
    assert (org.siret, org.city, org.phone) == (siret, "Dijon Cedex", "0380745151")
    assert len(contact_events(org_a)) == 1
    detail = staff_client.get(response["Location"]).content.decode()
    assert siret in detail
    assert "03 80 74 51 51" in detail
    # The form shows what is stored.
    assert staff_client.get(edit_url(org_a)).context["form"].initial["siret"] == siret


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"siret": "73282932000075"}, "siret", "siret_bad_check_digit"),
        ({"siret": "1" * 21}, "siret", "max_length"),
        ({"street": "x" * 201}, "street", "max_length"),
        ({"city": "x" * 101}, "city", "max_length"),
        ({"postcode": "2100"}, "postcode", "invalid_postcode"),
        ({"phone": "0380"}, "phone", "invalid_phone"),
        ({"contact_email": "accueil@"}, "contact_email", "invalid"),
    ],
)
def test_bad_contact_input_is_shown_on_its_field(staff_client, org_a, changes, field, code):
    response = staff_client.post(edit_url(org_a), edit_data(org_a, **changes))

    assert response.status_code == 200
    assert code in field_errors(response, field)
    assert contact_events(org_a) == []


@pytest.mark.parametrize("changes", [{"siret": "732\x0082932000074"}, {"street": "rue\x00du Port"}])
def test_a_nul_byte_in_the_contact_data_is_refused_at_the_edge(staff_client, org_a, changes):
    response = staff_client.post(edit_url(org_a), edit_data(org_a, **changes))

    assert response.status_code == 400
    assert contact_events(org_a) == []


def test_the_edit_page_refuses_a_siret_of_another_siren(staff_client, org_a, org_b):
    response = staff_client.post(edit_url(org_a), edit_data(org_a, siret=siret_of(org_b.siren)))

    assert response.status_code == 200
    assert field_errors(response, "siret") == ["siret_of_another_siren"]
    assert escape(page_text(errors.SiretOfAnotherSiren.message)) in response.content.decode()
    assert reload(org_a).siret == ""


def test_an_agent_cannot_change_an_organisations_contact_data(client, agent_a, org_a):
    client.force_login(agent_a.user)

    response = client.post(edit_url(org_a), edit_data(org_a, **CONTACT))

    assert response.status_code == 404
    assert reload(org_a).city == ""


# --- The public directory page ---------------------------------------------------------


def directory_page(client, organisation) -> str:
    response = client.get(reverse("directory:detail", kwargs={"slug": organisation.slug}))
    assert response.status_code == 200
    return response.content.decode()


def test_the_directory_shows_the_contact_data_that_is_set(client, operator_staff, org_a):
    siret = siret_of(org_a.siren)
    update(operator_staff, org_a, siret=siret, **CONTACT)

    html = directory_page(client, org_a)

    assert 'id="contact-title"' in html
    assert "Place de la Libération" in html
    assert "21033 Dijon Cedex" in html
    assert 'href="mailto:accueil@dijon.example"' in html
    assert 'href="tel:0380745151"' in html
    assert "03 80 74 51 51" in html
    assert siret in html


def test_the_directory_shows_only_the_fields_that_are_set(client, operator_staff, org_a):
    assert 'id="contact-title"' not in directory_page(client, org_a)

    update(operator_staff, org_a, phone="0380745151")

    html = directory_page(client, org_a)
    assert 'id="contact-title"' in html
    assert "<address>" not in html
    assert "mailto:" not in html
