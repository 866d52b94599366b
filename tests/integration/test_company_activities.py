"""A company's activities as CPV codes on its procurement profile: chosen with the CPV
picker, checked against the vocabulary, read by every representative."""

from __future__ import annotations

import pytest
from django_scopes import scope

from mutualis.companies import errors
from mutualis.companies.models import CompanyProfile
from mutualis.companies.services import profile as profile_services
from tests.factories.companies import company_siren, company_url, register_company, verified_person

pytestmark = pytest.mark.django_db

PROFILE = company_url("companies:profile")


@pytest.fixture
def admin_x(db):
    return register_company(
        verified_person("alice.x@example.org"), siren=company_siren(1), name="Menuiserie X"
    )


def codes_of(admin) -> list[str]:
    with scope(company=admin.company_id):
        profile = CompanyProfile.objects.get(company=admin.company)
        return sorted(profile.cpv_codes.values_list("code", flat=True))


def test_an_administrator_records_activities_as_cpv_codes(client, admin_x):
    client.force_login(admin_x.user)
    page = client.get(PROFILE).content.decode()
    assert 'data-cpv-picker="multiple"' in page
    assert "cpv-picker.js" in page
    response = client.post(
        PROFILE, {"size": "small", "cpv_codes": "45261000-4, 45421000; 45261000"}
    )
    assert response.status_code == 302
    assert codes_of(admin_x) == ["45261000", "45421000"]
    page = client.get(PROFILE).content.decode()
    assert "45261000-4" in page


def test_an_unknown_cpv_code_is_refused_and_the_rest_kept(client, admin_x):
    client.force_login(admin_x.user)
    response = client.post(PROFILE, {"size": "micro", "cpv_codes": "45261000-4, 99999999"})
    assert response.status_code == 200
    form = response.context["form"]
    assert form.has_error("cpv_codes", code="cpv_unknown")
    assert form["size"].value() == "micro"
    assert "99999999" in response.content.decode()
    # A wrong check digit is refused too.
    response = client.post(PROFILE, {"cpv_codes": "45261000-9"})
    assert response.context["form"].has_error("cpv_codes", code="cpv_unknown")
    response = client.post(PROFILE, {"cpv_codes": "toiture"})
    assert response.context["form"].has_error("cpv_codes", code="cpv_format")
    # A NUL byte is refused at the edge, before any form.
    assert client.post(PROFILE, {"cpv_codes": "4526\x00"}).status_code == 400


def test_the_service_refuses_unknown_codes_and_keeps_them_when_not_given(admin_x):
    profile_services.update_company_profile(
        actor=admin_x,
        size="",
        main_departement="",
        intervention_departements=[],
        activities="",
        cpv_codes=["45261000"],
    )
    with pytest.raises(errors.UnknownCpvCode):
        profile_services.update_company_profile(
            actor=admin_x,
            size="",
            main_departement="",
            intervention_departements=[],
            activities="",
            cpv_codes=["45261000", "12345678"],
        )
    with pytest.raises(errors.TooManyCpvCodes):
        profile_services.update_company_profile(
            actor=admin_x,
            size="",
            main_departement="",
            intervention_departements=[],
            activities="",
            cpv_codes=[f"45{n:06d}" for n in range(51)],
        )
    profile_services.update_company_profile(
        actor=admin_x, size="large", main_departement="", intervention_departements=[],
        activities="Couverture",
    )  # fmt: skip
    assert codes_of(admin_x) == ["45261000"]


def test_another_companys_representative_cannot_reach_the_profile(client, admin_x):
    dave = verified_person("dave.y@example.org")
    register_company(dave, siren=company_siren(2), name="Plomberie Y")
    client.force_login(dave)
    assert client.get(PROFILE).status_code == 404
    assert client.post(PROFILE, {"cpv_codes": "45261000-4"}).status_code == 404
