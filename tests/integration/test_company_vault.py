"""The business vault and the procurement profile: a company's representatives add,
replace, archive and download its documents; nobody else reads them; reminders go once
per threshold; every change is an event on the company's chain."""

from __future__ import annotations

import hashlib
import io
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from django_scopes import scope, scopes_disabled

from mutualis.companies import errors
from mutualis.companies.models import (
    CompanyProfile,
    JoinRequest,
    Representative,
    VaultDocument,
    VaultReminder,
)
from mutualis.companies.services import profile as profile_services
from mutualis.companies.services import vault as vault_services
from mutualis.core import audit
from mutualis.core.files import errors as file_errors
from mutualis.core.models import AuditEvent, OutgoingEmail, StoredFile
from tests.factories.companies import (
    SITE_URL,
    add_vault_document,
    certificate_pdf,
    company_siren,
    company_url,
    register_company,
    valid_siret,
    verified_person,
)
from tests.factories.core import OrganisationFactory
from tests.mailbox import delivered_text

pytestmark = pytest.mark.django_db

VAULT = company_url("companies:vault")
ADD = company_url("companies:vault_add")
PROFILE = company_url("companies:profile")


def actions_of(company) -> list[str]:
    with scopes_disabled():
        return list(
            AuditEvent.objects.filter(chain=audit.company_chain(company.pk))
            .order_by("sequence")
            .values_list("action", flat=True)
        )


def executable_bytes() -> bytes:
    """A real program of this machine (ELF), to be renamed .pdf."""
    program = shutil.which("true") or "/bin/true"
    return Path(program).read_bytes()


@pytest.fixture
def admin_x(db):
    alice = verified_person("alice.x@example.org")
    return register_company(alice, siren=company_siren(1), name="Menuiserie X")


@pytest.fixture
def member_x(admin_x):
    from mutualis.companies import services

    carol = verified_person("carol.x@example.org")
    services.sign_up_with_siret(
        user=carol, siret=valid_siret(admin_x.company.siren, 3), site_url=SITE_URL
    )
    with scope(company=admin_x.company_id):
        services.accept_join_request(
            actor=admin_x,
            join_request_id=JoinRequest.objects.get(user=carol).pk,
            site_url=SITE_URL,
        )
        return Representative.objects.get(user=carol)


@pytest.fixture
def admin_y(db):
    dave = verified_person("dave.y@example.org")
    return register_company(dave, siren=company_siren(2), name="Plomberie Y")


@pytest.fixture
def departements(db):
    return {
        code: OrganisationFactory(kind="departement", insee_code=code, name=name, siren="")
        for code, name in [("21", "Côte-d'Or"), ("25", "Doubs"), ("71", "Saône-et-Loire")]
    }


def upload(name: str = "urssaf.pdf", content: bytes | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content or certificate_pdf(), content_type="application/pdf")


def form_data(**overrides):
    today = timezone.localdate()
    data = {
        "document_type": "urssaf",
        "title": "Attestation du 1er semestre",
        "issued_on": (today - timedelta(days=5)).isoformat(),
        "valid_until": (today + timedelta(days=175)).isoformat(),
        "file": upload(),
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


# --- Pages of a representative ---------------------------------------------------------


def test_a_representative_adds_a_document_and_sees_it_valid(client, member_x):
    client.force_login(member_x.user)
    pdf = certificate_pdf()
    response = client.post(ADD, form_data(file=upload("attestation.pdf", pdf)))
    assert response.status_code == 302
    with scope(company=member_x.company_id):
        document = VaultDocument.objects.get()
    assert document.document_type == "urssaf"
    assert document.file.content_type == "application/pdf"
    assert document.file.sha256 == hashlib.sha256(pdf).hexdigest()
    page = client.get(VAULT).content.decode()
    assert "Attestation du 1er semestre" in page
    assert "vault-status-valid" in page
    assert actions_of(member_x.company)[-1] == "company.vault_document_added"


def test_the_vault_groups_documents_by_type_with_their_status(client, admin_x):
    today = timezone.localdate()
    add_vault_document(admin_x, document_type="tax", valid_until=today + timedelta(days=10))
    add_vault_document(
        admin_x,
        document_type="insurance",
        valid_until=today - timedelta(days=1),
        issued_on=today - timedelta(days=300),
    )
    add_vault_document(admin_x, document_type="kbis")
    client.force_login(admin_x.user)
    page = client.get(VAULT).content.decode()
    assert "vault-status-expiring_soon" in page
    assert "vault-status-expired" in page
    assert "vault-status-no_end_date" in page
    # Types in the order of the list, every type shown.
    assert page.index("Registration extract (Kbis)") < page.index("Tax compliance certificate")
    assert "DC1 form (application letter)" in page


def test_the_vault_page_reads_in_a_few_queries(client, admin_x, django_assert_max_num_queries):
    for kind in ("kbis", "urssaf", "tax", "insurance", "dc1"):
        add_vault_document(admin_x, document_type=kind)
    client.force_login(admin_x.user)
    client.get(VAULT)
    with django_assert_max_num_queries(12):
        assert client.get(VAULT).status_code == 200


def test_a_representative_downloads_the_file_with_its_digest(client, admin_x):
    document = add_vault_document(admin_x)
    client.force_login(admin_x.user)
    response = client.get(document.download_url(admin_x.company.siren))
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    assert body.startswith(b"%PDF-")
    assert hashlib.sha256(body).hexdigest() == document.file.sha256


def test_replacing_keeps_the_old_version_as_history(client, admin_x):
    old = add_vault_document(admin_x)
    client.force_login(admin_x.user)
    today = timezone.localdate()
    renewed = certificate_pdf("Attestation de vigilance", "Renouvelée")
    response = client.post(
        company_url("companies:vault_replace", pk=old.pk),
        {
            "title": "Second semestre",
            "issued_on": today.isoformat(),
            "valid_until": (today + timedelta(days=180)).isoformat(),
            "file": upload("renewed.pdf", renewed),
        },
    )
    assert response.status_code == 302
    with scope(company=admin_x.company_id):
        old.refresh_from_db()
        new = VaultDocument.objects.get(state="current")
    assert old.state == "replaced"
    assert old.replaced_by == new
    assert new.document_type == "urssaf"
    page = client.get(company_url("companies:vault_document", pk=new.pk)).content.decode()
    assert "Previous versions" in page
    assert old.file.original_name in page
    # The old file is still readable by the company.
    assert client.get(old.download_url(admin_x.company.siren)).status_code == 200
    assert actions_of(admin_x.company)[-1] == "company.vault_document_replaced"


def test_archiving_takes_a_document_out_of_use(client, admin_x):
    document = add_vault_document(admin_x)
    client.force_login(admin_x.user)
    response = client.post(company_url("companies:vault_archive", pk=document.pk))
    assert response.status_code == 302
    with scope(company=admin_x.company_id):
        document.refresh_from_db()
    assert document.state == "archived"
    assert document.archived_at is not None
    page = client.get(VAULT).content.decode()
    assert "Archived documents" in page
    # Archived once: a second archive or a replacement is refused.
    with pytest.raises(errors.DocumentNotCurrent):
        vault_services.archive_vault_document(actor=admin_x, document_id=document.pk)
    assert actions_of(admin_x.company)[-1] == "company.vault_document_archived"


def test_each_change_is_one_event_on_the_companys_chain(admin_x):
    before = len(actions_of(admin_x.company))
    document = add_vault_document(admin_x)
    new = vault_services.replace_vault_document(
        actor=admin_x,
        document_id=document.pk,
        issued_on=timezone.localdate(),
        valid_until=timezone.localdate() + timedelta(days=100),
        file=io.BytesIO(certificate_pdf()),
        file_name="new.pdf",
    )
    vault_services.archive_vault_document(actor=admin_x, document_id=new.pk)
    assert actions_of(admin_x.company)[before:] == [
        "company.vault_document_added",
        "company.vault_document_replaced",
        "company.vault_document_archived",
    ]
    with scopes_disabled():
        added = AuditEvent.objects.get(action="company.vault_document_added")
    assert added.payload["sha256"] == document.file.sha256
    assert added.organisation_id is None


# --- Bad input -------------------------------------------------------------------------


def test_a_disguised_executable_is_refused_with_a_clear_message(client, admin_x):
    client.force_login(admin_x.user)
    response = client.post(ADD, form_data(file=upload("attestation.pdf", executable_bytes())))
    assert response.status_code == 200
    form = response.context["form"]
    assert form.has_error("file", code="document_type_refused")
    assert "whatever its name says" in response.content.decode()
    # Nothing typed is lost; nothing is stored.
    assert form["title"].value() == "Attestation du 1er semestre"
    with scope(company=admin_x.company_id):
        assert not VaultDocument.objects.exists()
    assert not StoredFile.objects.filter(owner_kind="companies.vault_document").exists()


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"file": None}, "file", "document_file_required"),
        ({"valid_until": ""}, "valid_until", "end_date_required"),
        (
            {"valid_until": "2020-01-01", "issued_on": "2020-02-01"},
            "valid_until",
            "end_before_issue",
        ),
        ({"issued_on": "2999-01-01", "valid_until": ""}, "issued_on", "issued_in_future"),
        ({"title": "x" * 201}, "title", "max_length"),
        ({"document_type": "passport"}, "document_type", "invalid_choice"),
        ({"issued_on": "yesterday"}, "issued_on", "invalid"),
    ],
)
def test_bad_input_is_refused_on_its_field_and_keeps_what_was_typed(
    client, admin_x, overrides, field, code
):
    client.force_login(admin_x.user)
    data = form_data(**overrides)
    response = client.post(ADD, data)
    assert response.status_code == 200
    form = response.context["form"]
    assert form.has_error(field, code=code), form.errors
    for name in ("title", "issued_on"):
        if name != field:
            assert str(form[name].value()) == str(data[name])
    with scope(company=admin_x.company_id):
        assert not VaultDocument.objects.exists()


def test_a_file_over_the_vault_limit_is_refused(client, admin_x, settings):
    settings.MUTUALIS_VAULT_MAX_BYTES = 1000
    client.force_login(admin_x.user)
    response = client.post(ADD, form_data(file=upload("big.pdf", certificate_pdf() + b"0" * 2000)))
    assert response.context["form"].has_error("file", code="file_too_large")


def test_the_accepted_types_come_from_the_settings(admin_x, settings):
    settings.MUTUALIS_VAULT_ACCEPTED_TYPES = ["image/png"]
    with pytest.raises(errors.DocumentTypeRefused):
        add_vault_document(admin_x)


def test_a_nul_character_is_refused_before_anything_is_stored(client, admin_x):
    client.force_login(admin_x.user)
    response = client.post(ADD, form_data(title="Attestation\x00"))
    assert response.status_code == 400
    with scope(company=admin_x.company_id):
        assert not VaultDocument.objects.exists()


def test_the_service_refuses_control_characters_in_a_title(admin_x):
    with pytest.raises(errors.ControlCharacters) as refused:
        add_vault_document(admin_x, title="Attestation\x00")
    assert refused.value.field == "title"


def test_an_empty_file_is_refused(admin_x):
    with pytest.raises(file_errors.FileEmpty):
        add_vault_document(admin_x, content=b"", file_name="empty.pdf")


# --- Who reads a vault -----------------------------------------------------------------


def test_a_former_representative_can_no_longer_add(admin_x, member_x):
    from mutualis.companies import services

    services.remove_colleague(actor=admin_x, representative_id=member_x.pk)
    with pytest.raises(PermissionDenied):
        add_vault_document(member_x)


def test_another_companys_representative_gets_404_everywhere(client, admin_x, admin_y):
    document = add_vault_document(admin_x)
    siren = admin_x.company.siren
    client.force_login(admin_y.user)
    for url in (
        VAULT,
        ADD,
        PROFILE,
        company_url("companies:vault_document", pk=document.pk),
        company_url("companies:vault_replace", pk=document.pk),
        document.download_url(siren),
        # The file under Y's own path: Y's representation, not X's file.
        document.download_url(admin_y.company.siren),
        reverse("core:file_download", args=[document.file_id, document.file.original_name]),
    ):
        assert client.get(url).status_code == 404, url
    archive = company_url("companies:vault_archive", pk=document.pk)
    assert client.post(archive).status_code == 404
    # Y's own vault page cannot reach X's document by its number either.
    own = company_url("companies:vault_document", siren=admin_y.company.siren, pk=document.pk)
    assert client.get(own).status_code == 404


def test_an_organisations_agent_gets_404_on_the_pages_and_the_file(client, admin_x, agent_a):
    document = add_vault_document(admin_x)
    client.force_login(agent_a.user)
    for url in (
        VAULT,
        company_url("companies:vault_document", pk=document.pk),
        document.download_url(admin_x.company.siren),
        reverse("core:file_download", args=[document.file_id, document.file.original_name]),
        reverse(
            "organisation_files:download",
            kwargs={
                "org": agent_a.organisation.slug,
                "file_id": document.file_id,
                "name": document.file.original_name,
            },
        ),
    ):
        assert client.get(url).status_code == 404, url


def test_an_anonymous_visitor_is_sent_to_login(client, admin_x):
    document = add_vault_document(admin_x)
    assert client.get(VAULT).status_code == 302
    assert client.get(document.download_url(admin_x.company.siren)).status_code == 302


# --- Reminders -------------------------------------------------------------------------


def test_reminders_go_once_per_threshold_to_every_representative(admin_x, member_x):
    today = timezone.localdate()
    document = add_vault_document(admin_x, valid_until=today + timedelta(days=30))
    add_vault_document(admin_x, document_type="tax", valid_until=today + timedelta(days=100))

    assert vault_services.send_expiry_reminders(today=today) == 1
    assert vault_services.send_expiry_reminders(today=today) == 0  # the job ran twice
    assert vault_services.send_expiry_reminders(today=today + timedelta(days=1)) == 0
    mails = OutgoingEmail.objects.filter(subject__contains="expire")
    assert sorted(m.to for m in mails) == ["alice.x@example.org", "carol.x@example.org"]

    # 7 days before the end: the second threshold, once.
    assert vault_services.send_expiry_reminders(today=today + timedelta(days=23)) == 1
    assert vault_services.send_expiry_reminders(today=today + timedelta(days=24)) == 0
    with scope(company=admin_x.company_id):
        sent = sorted(
            VaultReminder.objects.filter(document=document).values_list("threshold_days", flat=True)
        )
    assert sent == [7, 30]
    assert OutgoingEmail.objects.filter(subject__contains="expire").count() == 4
    # After its end, nothing more.
    assert vault_services.send_expiry_reminders(today=today + timedelta(days=31)) == 0


def test_a_document_added_late_gets_only_the_tightest_reminder(admin_x):
    today = timezone.localdate()
    add_vault_document(admin_x, valid_until=today + timedelta(days=5))
    assert vault_services.send_expiry_reminders(today=today) == 1
    with scope(company=admin_x.company_id):
        assert list(VaultReminder.objects.values_list("threshold_days", flat=True)) == [7]
    assert vault_services.send_expiry_reminders(today=today) == 0


def test_the_reminder_is_in_french_then_english_and_audited_as_the_job(admin_x):
    today = timezone.localdate()
    document = add_vault_document(admin_x, valid_until=today + timedelta(days=7))
    vault_services.send_expiry_reminders(today=today)
    mail = OutgoingEmail.objects.get(to="alice.x@example.org", subject__contains="expire")
    text = delivered_text(mail)
    assert (
        text.index("coffre-fort")
        < text.index("---- English ----")
        < text.index("in your business vault")
    )
    assert f"/c/{admin_x.company.siren}/vault/{document.pk}/" in text
    with translation.override("fr"):
        french_date = date_format(document.valid_until, "j F Y")
    with translation.override("en"):
        english_date = date_format(document.valid_until, "j F Y")
    assert text.index(french_date) < text.index("---- English ----") < text.index(english_date)
    assert mail.subject.index("expire bientôt") < mail.subject.index("expires soon")
    with scopes_disabled():
        event = AuditEvent.objects.get(action="company.vault_reminder_sent")
    assert event.actor == "system:vault-reminders"
    assert event.chain == audit.company_chain(admin_x.company_id)
    assert event.payload["threshold_days"] == 7


def test_replaced_and_archived_documents_are_not_reminded(admin_x):
    today = timezone.localdate()
    document = add_vault_document(admin_x, valid_until=today + timedelta(days=7))
    vault_services.archive_vault_document(actor=admin_x, document_id=document.pk)
    assert vault_services.send_expiry_reminders(today=today) == 0


def test_the_reminder_job_is_declared_by_companies():
    from mutualis.core.schedule import schedule

    jobs = {job.name: job for job in schedule()}
    assert jobs["vault_expiry_reminders"].task.module_path.startswith("mutualis.companies.")


# --- Procurement profile ---------------------------------------------------------------


def test_an_administrator_fills_the_profile(client, admin_x, departements):
    client.force_login(admin_x.user)
    response = client.post(
        PROFILE,
        {
            "size": "small",
            "main_departement": "21",
            "intervention_departements": ["21", "71"],
            "activities": "Menuiserie bois et aluminium.\nPose de fenêtres.",
        },
    )
    assert response.status_code == 302
    with scope(company=admin_x.company_id):
        profile = CompanyProfile.objects.get(company=admin_x.company)
        assert profile.is_sme is True
        assert profile.main_departement.insee_code == "21"
        assert sorted(profile.intervention_departements.values_list("insee_code", flat=True)) == [
            "21",
            "71",
        ]
    page = client.get(PROFILE).content.decode()
    assert "Pose de fenêtres." in page
    assert actions_of(admin_x.company)[-1] == "company.profile_updated"


def test_a_departement_outside_the_territory_is_refused(client, admin_x, departements):
    client.force_login(admin_x.user)
    response = client.post(
        PROFILE, {"size": "micro", "intervention_departements": ["21", "75"], "activities": "Bois"}
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert form.has_error("intervention_departements", code="invalid_choice")
    assert form["activities"].value() == "Bois"
    with pytest.raises(errors.UnknownDepartement):
        profile_services.update_company_profile(
            actor=admin_x,
            size="micro",
            main_departement="75",
            intervention_departements=[],
            activities="",
        )


def test_an_over_long_activities_text_is_refused_and_kept(client, admin_x, departements):
    client.force_login(admin_x.user)
    response = client.post(PROFILE, {"size": "large", "activities": "a" * 2001})
    form = response.context["form"]
    assert form.has_error("activities", code="max_length")
    assert form["size"].value() == "large"


def test_a_member_reads_the_profile_but_may_not_change_it(client, admin_x, member_x, departements):
    profile_services.update_company_profile(
        actor=admin_x,
        size="medium",
        main_departement="25",
        intervention_departements=["25"],
        activities="Charpente",
    )
    client.force_login(member_x.user)
    page = client.get(PROFILE).content.decode()
    assert "Medium-sized enterprise" in page
    assert '<form method="post"' not in page
    assert client.post(PROFILE, {"size": "large"}).status_code == 404
    with pytest.raises(PermissionDenied):
        profile_services.update_company_profile(
            actor=member_x,
            size="large",
            main_departement="",
            intervention_departements=[],
            activities="",
        )


def test_the_service_refuses_an_over_long_title(admin_x):
    with pytest.raises(errors.TextTooLong) as refused:
        add_vault_document(admin_x, title="x" * 201)
    assert refused.value.field == "title"


def test_a_former_representative_gets_no_reminder(admin_x, member_x):
    from mutualis.companies import services

    services.remove_colleague(actor=admin_x, representative_id=member_x.pk)
    add_vault_document(admin_x, valid_until=timezone.localdate() + timedelta(days=7))
    assert vault_services.send_expiry_reminders(today=timezone.localdate()) == 1
    assert list(
        OutgoingEmail.objects.filter(subject__contains="expire").values_list("to", flat=True)
    ) == ["alice.x@example.org"]
