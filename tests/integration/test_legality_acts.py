"""An agent prepares an act for the legality control, validates it and downloads its
transmission package; bad inputs are refused with what to fix, and nobody else sees it."""

from __future__ import annotations

import io
import tarfile
from datetime import date, timedelta

import pytest
from django.utils import timezone
from django_scopes import scope, scopes_disabled
from lxml import etree

from mutualis.core.errors import ServiceNotSubscribed
from mutualis.core.models import AuditEvent
from mutualis.core.pdf import text_pdf
from mutualis.legality import actes, errors, services
from mutualis.legality.models import Act, ActStatus
from tests.factories.core import ORG_B, org_url
from tests.factories.legality import enrol, legality_agent, pdf_upload, prepare, subscribe

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(org_a, agent_a):
    org_a.siren = "212100108"
    org_a.save(update_fields=["siren"])
    subscribe(org_a)
    enrol(agent_a)
    return org_a


@pytest.fixture
def clerk(member):
    return legality_agent(
        member, "clerk.a@example.org", roles=("legality_agent", "legality_sender")
    )


def actions(org) -> list[str]:
    with scopes_disabled():
        return list(
            AuditEvent.objects.filter(chain=f"org:{org.pk}", action__startswith="legality.")
            .order_by("pk")
            .values_list("action", flat=True)
        )


def act_form(**changes):
    data = {
        "nature": "1",
        "number": "DEL_2026_007",
        "decided_on": "2026-02-03",
        "classification": "7.5",
        "subject": "Subventions aux associations",
        "document": io.BytesIO(text_pdf(["Délibération 7"])),
        "annex_1": io.BytesIO(text_pdf(["Annexe 1"])),
        "annex_1_type": "99_AU",
    }
    data["document"].name = "deliberation.pdf"
    data["annex_1"].name = "annexe.pdf"
    data.update(changes)
    return data


def test_an_agent_prepares_validates_and_downloads_the_package(client, member, clerk):
    client.force_login(clerk.user)

    response = client.post(org_url("legality:act_new"), act_form())
    assert response.status_code == 302
    with scope(organisation=member.pk):
        act = Act.objects.get(number="DEL_2026_007")
    assert act.status == ActStatus.PREPARED
    assert response["Location"] == org_url("legality:act_detail", pk=act.pk)

    response = client.post(org_url("legality:act_validate", pk=act.pk))
    assert response.status_code == 302
    act.refresh_from_db()
    assert act.status == ActStatus.WAITING
    today = timezone.localdate()
    assert act.package_name == f"EACT-MUTUALIS--212100108--{today:%Y%m%d}-1.tar.gz"

    page = client.get(org_url("legality:act_detail", pk=act.pk)).content.decode()
    assert act.package_name in page
    download = client.get(act.package.url_for_organisation(member.slug))
    assert download.status_code == 200
    body = io.BytesIO(b"".join(download.streaming_content))
    with tarfile.open(fileobj=body, mode="r:gz") as archive:
        names = archive.getnames()
        messages = [archive.extractfile(name).read() for name in names[:2]]
    prefix = "021-212100108-20260203-DEL_2026_007-DE-1-1"
    assert names == [
        f"021-212100108-{today:%Y%m%d}-1-EI-1-1_0.xml",
        f"{prefix}_0.xml",
        f"99_DE-{prefix}_1.pdf",
        f"99_AU-{prefix}_2.pdf",
    ]
    assert [actes.schema_errors(message) for message in messages] == [[], []]
    assert actions(member) == [
        "legality.enrolment_created",
        "legality.act_prepared",
        "legality.act_validated",
    ]


def test_the_acts_list_filters_by_status(client, member, clerk):
    prepare(clerk, number="KEPT_1")
    cancelled = prepare(clerk, number="GONE_1")
    services.cancel_act(actor=clerk, act_id=cancelled.pk)
    client.force_login(clerk.user)

    page = client.get(org_url("legality:acts"), {"status": "prepared"}).content.decode()

    assert "KEPT_1" in page
    assert "GONE_1" not in page


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"number": "del-2026"}, "legality_number_invalid"),
        ({"number": "A" * 16}, "max_length"),
        (
            {"decided_on": (timezone.localdate() + timedelta(days=2)).isoformat()},
            "legality_decision_in_future",
        ),
        ({"subject": "x" * 500}, "max_length"),
        ({"document": None}, "legality_document_required"),
        ({"annex_1_type": ""}, "legality_piece_type_invalid"),
    ],
)
def test_a_bad_input_is_refused_with_what_to_fix_and_nothing_is_kept(
    client, member, clerk, changes, code
):
    client.force_login(clerk.user)
    data = {key: value for key, value in act_form(**changes).items() if value is not None}

    response = client.post(org_url("legality:act_new"), data)

    assert response.status_code == 200
    form = response.context["form"]
    assert code in [e.code for errors_ in form.errors.as_data().values() for e in errors_]
    with scope(organisation=member.pk):
        assert not Act.objects.exists()
    assert actions(member) == ["legality.enrolment_created"]


def test_a_file_whose_bytes_are_not_a_pdf_is_refused(client, member, clerk):
    client.force_login(clerk.user)
    fake = io.BytesIO(b"<html><script>alert(1)</script></html>")
    fake.name = "acte.pdf"

    response = client.post(org_url("legality:act_new"), act_form(document=fake))

    assert "document" in response.context["form"].errors
    with scope(organisation=member.pk):
        assert not Act.objects.exists()


def test_a_duplicate_number_is_refused(member, clerk):
    prepare(clerk)
    with pytest.raises(errors.NumberTaken):
        prepare(clerk)


def test_an_unreadable_pdf_is_refused_at_validation_with_its_name(member, clerk):
    broken = services.Upload(io.BytesIO(b"%PDF-1.4\nnot really a pdf\n"), "casse.pdf")
    act = prepare(clerk, document=broken)

    with pytest.raises(services.ActRefused) as refused:
        services.validate_act(actor=clerk, act_id=act.pk)

    assert [p.code for p in refused.value.problems] == ["legality_pdf_unreadable"]
    assert "casse.pdf" in str(refused.value.problems[0].message)
    act.refresh_from_db()
    assert act.status == ActStatus.PREPARED
    assert act.package is None


def test_a_validation_over_the_size_limit_is_refused(member, clerk, settings):
    act = prepare(clerk)
    settings.MUTUALIS_LEGALITY_MAX_BYTES = 100

    with pytest.raises(services.ActRefused) as refused:
        services.validate_act(actor=clerk, act_id=act.pk)

    assert [p.code for p in refused.value.problems] == ["legality_too_large"]


def test_editing_a_waiting_act_takes_it_back_to_prepared_without_its_package(member, clerk):
    act = prepare(clerk)
    services.validate_act(actor=clerk, act_id=act.pk)

    services.edit_act(
        actor=clerk,
        act_id=act.pk,
        nature=1,
        number="DEL_2026_001",
        decided_on=date(2026, 1, 15),
        classification_code="1.2",
        subject="Délégation de service public",
        paper_follows=True,
    )

    act.refresh_from_db()
    assert (act.status, act.package_id, act.classification) == (ActStatus.PREPARED, None, "1.2")
    assert actions(member)[-1] == "legality.act_edited"


def test_a_cancelled_act_cannot_be_validated(member, clerk):
    act = prepare(clerk)
    services.cancel_act(actor=clerk, act_id=act.pk)

    with pytest.raises(errors.TransitionNotAllowed):
        services.validate_act(actor=clerk, act_id=act.pk)
    assert actions(member)[-1] == "legality.act_cancelled"


def test_a_member_without_the_role_and_another_member_get_404(client, member, clerk, agent_b):
    act = prepare(clerk)
    services.validate_act(actor=clerk, act_id=act.pk)
    act.refresh_from_db()
    plain = legality_agent(member, "plain.a@example.org", roles=("secretary",))

    client.force_login(plain.user)
    assert client.get(org_url("legality:act_detail", pk=act.pk)).status_code == 404
    assert client.get(org_url("legality:act_new")).status_code == 404
    assert client.get(act.package.url_for_organisation(member.slug)).status_code == 404

    client.force_login(agent_b.user)
    assert client.get(org_url("legality:act_detail", pk=act.pk)).status_code == 404
    assert client.get(org_url("legality:act_detail", org=ORG_B, pk=act.pk)).status_code == 404
    assert client.get(act.package.url_for_organisation(ORG_B)).status_code == 404


def test_a_suspended_subscription_refuses_new_acts(client, member, clerk):
    subscribe(member, active=False)

    with pytest.raises(ServiceNotSubscribed):
        prepare(clerk)
    client.force_login(clerk.user)
    response = client.get(org_url("legality:act_new"))
    assert response.status_code == 403
    assert "core/service_unavailable.html" in [t.name for t in response.templates]
    posted = client.post(org_url("legality:act_new"), act_form())
    assert posted.status_code == 403
    with scope(organisation=member.pk):
        assert not Act.objects.exists()


def test_the_enrolment_is_edited_by_administrators_only_and_audited(client, member, agent_a, clerk):
    client.force_login(clerk.user)
    assert client.get(org_url("legality:enrolment")).status_code == 404

    client.force_login(agent_a.user)
    data = {
        "convention_reference": "PREF-ACTES-2025-09",
        "convention_date": "2025-09-01",
        "departement": "",
        "arrondissement": "2",
        "authority_nature": "25",
        "natures": ["1", "2"],
    }
    # The directory does not know the member's département: it must be typed.
    response = client.post(org_url("legality:enrolment"), data)
    assert "departement" in response.context["form"].errors
    data["departement"] = "021"
    data["arrondissement"] = "x"
    response = client.post(org_url("legality:enrolment"), data)
    assert "arrondissement" in response.context["form"].errors

    data["arrondissement"] = "2"
    response = client.post(org_url("legality:enrolment"), data)
    assert response.status_code == 302
    assert actions(member)[-1] == "legality.enrolment_changed"


def test_a_nature_outside_the_enrolment_is_refused(member, agent_a, clerk):
    enrol(agent_a, natures=[2])
    with pytest.raises(errors.NatureNotEnrolled):
        prepare(clerk, nature=1)


def test_the_act_message_carries_the_classification_and_the_signature(member, clerk):
    signature = services.Upload(io.BytesIO(b"\x30\x82\x01\x0a" + b"\x00" * 20), "acte.pdf.p7s")
    act = prepare(clerk, classification_code="7.10", document_signature=signature)
    with scope(organisation=member.pk):
        problems, message, _enrolment = services.check_act(act)
    # The signature is a placeholder: verifying it (test_legality_signatures.py) is the
    # one problem; the message is built all the same.
    assert [p.code for p in problems] == ["legality_signature_invalid"]
    root = etree.fromstring(actes.act_message(message))
    ns = {"a": actes.ACTES_NS}
    assert root.find("a:CodeMatiere2", ns).get(f"{{{actes.ACTES_NS}}}CodeMatiere") == "10"
    assert root.find("a:Document/a:Signature", ns) is not None


def test_a_budget_document_may_be_xml_but_another_act_may_not(member, clerk):
    xml = services.Upload(io.BytesIO(b"<?xml version='1.0'?><DocumentBudgetaire/>"), "budget.xml")
    act = prepare(clerk, nature=5, number="BP_2026", document=xml)
    assert act.document.content_type in {"text/xml", "application/xml"}
    other = services.Upload(io.BytesIO(b"<?xml version='1.0'?><DocumentBudgetaire/>"), "d.xml")
    with pytest.raises(errors.DocumentType):
        prepare(clerk, nature=1, number="DEL_XML", document=other)


def test_a_pdf_upload_is_kept_under_the_members_owner_kind(member, clerk):
    act = prepare(clerk, document=pdf_upload("Arrêté", "arrete.pdf"))
    assert (act.document.owner_kind, act.document.owner_ref) == ("legality.act", str(member.pk))


def test_the_database_refuses_a_status_outside_the_table(member, clerk):
    from django.db import IntegrityError, transaction

    act = prepare(clerk)
    with scope(organisation=member.pk), pytest.raises(IntegrityError), transaction.atomic():
        Act.objects.filter(pk=act.pk).update(status="lost")


def test_the_services_home_leads_to_the_acts(client, member, clerk):
    client.force_login(clerk.user)

    response = client.get(org_url("organisation:service_home", code="legality"))

    assert response.status_code == 302
    assert response["Location"] == org_url("legality:acts")
