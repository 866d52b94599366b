"""The world the tenancy walk builds: real objects of organisation A and company X behind
every route of the platform (``World``; a route's URL arguments are built by
``ARGUMENTS``), the routes listed (``all_routes``) and built (``url_of``), and the ``world``
fixture."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from allauth.idp.oidc.models import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django_scopes import scope, scopes_disabled
from PIL import Image

from mutualis.companies import services as company_services
from mutualis.companies.models import JoinRequest, Representative
from mutualis.core import audit, files
from mutualis.core.models import AuditEvent, OutgoingEmail, Service, Subscription
from mutualis.core.models.organisations import LOGO_OWNER_KIND
from mutualis.identity import invitations
from mutualis.legality import services as legality_services
from tests.factories import legality
from tests.factories.companies import (
    SITE_URL,
    add_vault_document,
    company_siren,
    register_company,
    valid_siret,
    verified_person,
)
from tests.factories.identity import make_member
from tests.factories.procurement import make_consultation
from tests.mailbox import delivered_text
from tests.plugged.models import Note, SharedNote

SECRET = "secret-marker-of-org-a"


def walk(patterns, namespace="", groups=()):
    """(route name, names of its URL arguments) of every route, included ones too."""
    for p in patterns:
        own = tuple(p.pattern.regex.groupindex)
        if isinstance(p, URLResolver):
            ns = namespace + (f"{p.namespace}:" if p.namespace else "")
            yield from walk(p.url_patterns, ns, groups + own)
        elif isinstance(p, URLPattern):
            yield (namespace + p.name) if p.name else str(p.pattern), groups + own


def all_routes() -> list[tuple[str, tuple[str, ...]]]:
    return list(walk(get_resolver().url_patterns))


@dataclass
class World:
    """Real objects of organisation A and company X, the targets of the walk."""

    org_a: Any
    agent_a: Any
    colleague_a: Any
    invitation_a: Any
    invitation_token_a: str
    company_x: Any
    admin_x: Any
    member_x: Any
    join_request_x: Any
    invitation_x: Any
    invitation_token_x: str
    email: Any
    sso_client: Any
    shared_note: Any
    logo: Any
    consultation: Any
    lot: Any
    criterion: Any
    vault_document: Any
    act: Any


# How each route's arguments come from the world. Arguments named alike in every route
# (the party in the path) are built once; the others per route.
COMMON: dict[str, Callable[[World], Any]] = {
    "org": lambda w: w.org_a.slug,
    "company": lambda w: w.company_x.siren,
}
ARGUMENTS: dict[str, Callable[[World], dict[str, Any]]] = {
    "organisation:service_home": lambda w: {"code": "procurement"},
    "core:sample": lambda w: {"size": 1},
    "members:detail": lambda w: {"pk": w.colleague_a.pk},
    "members:remove": lambda w: {"pk": w.colleague_a.pk},
    "members:invitation_revoke": lambda w: {"pk": w.invitation_a.pk},
    "invitations:accept": lambda w: {"token": w.invitation_token_a},
    "companies:request_accept": lambda w: {"pk": w.join_request_x.pk},
    "companies:request_refuse": lambda w: {"pk": w.join_request_x.pk},
    "companies:colleague_role": lambda w: {"pk": w.member_x.pk},
    "companies:colleague_remove": lambda w: {"pk": w.member_x.pk},
    "companies:invitation_revoke": lambda w: {"pk": w.invitation_x.pk},
    "companies:vault_document": lambda w: {"pk": w.vault_document.pk},
    "companies:vault_replace": lambda w: {"pk": w.vault_document.pk},
    "companies:vault_archive": lambda w: {"pk": w.vault_document.pk},
    "business:invitation": lambda w: {"token": w.invitation_token_x},
    "directory:detail": lambda w: {"slug": w.org_a.slug},
    "directory:colours": lambda w: {"slug": w.org_a.slug},
    "observatory:member": lambda w: {"slug": w.org_a.slug},
    "observatory:member_csv": lambda w: {"slug": w.org_a.slug, "table": "years"},
    "observatory:territory_csv": lambda w: {"table": "years"},
    "consultations:member_json": lambda w: {"slug": w.org_a.slug},
    "consultations:member_embed": lambda w: {"slug": w.org_a.slug},
    "api:get_consultation": lambda w: {"consultation_id": w.consultation.pk},
    "api:list_consultation_documents": lambda w: {"consultation_id": w.consultation.pk},
    "api:list_consultation_notices": lambda w: {"consultation_id": w.consultation.pk},
    "api:update_consultation": lambda w: {"consultation_id": w.consultation.pk},
    "api:add_consultation_documents": lambda w: {"consultation_id": w.consultation.pk},
    "api:schedule_consultation": lambda w: {"consultation_id": w.consultation.pk},
    "api:publish_consultation": lambda w: {"consultation_id": w.consultation.pk},
    "api:rectify_consultation": lambda w: {"consultation_id": w.consultation.pk},
    "api:get_decp": lambda w: {"siret": "21210010800015", "reference": "2027-001"},
    "api:get_ocds_record": lambda w: {"ocid": f"ocds-mutual-{w.consultation.pk}"},
    "backoffice:organisation_detail": lambda w: {"pk": w.org_a.pk},
    "backoffice:organisation_edit": lambda w: {"pk": w.org_a.pk},
    "backoffice:membership_add": lambda w: {"pk": w.org_a.pk},
    "backoffice:membership_invite": lambda w: {"pk": w.org_a.pk},
    "backoffice:subscription_subscribe": lambda w: {"pk": w.org_a.pk, "code": "signature"},
    "backoffice:subscription_suspend": lambda w: {"pk": w.org_a.pk, "code": "procurement"},
    "backoffice:subscription_resume": lambda w: {"pk": w.org_a.pk, "code": "procurement"},
    "backoffice:user_detail": lambda w: {"pk": w.agent_a.user.pk},
    "backoffice:membership_detail": lambda w: {"pk": w.colleague_a.pk},
    "backoffice:membership_deactivate": lambda w: {"pk": w.colleague_a.pk},
    "backoffice:membership_reactivate": lambda w: {"pk": w.colleague_a.pk},
    "backoffice:email_detail": lambda w: {"pk": w.email.pk},
    "backoffice:email_retry": lambda w: {"pk": w.email.pk},
    "backoffice:company_detail": lambda w: {"pk": w.company_x.pk},
    "backoffice:company_verify": lambda w: {"pk": w.company_x.pk},
    "backoffice:company_suspend": lambda w: {"pk": w.company_x.pk},
    "backoffice:company_dispute": lambda w: {"pk": w.company_x.pk},
    "backoffice:sso_client_detail": lambda w: {"client_id": w.sso_client.id},
    "backoffice:sso_client_rotate_secret": lambda w: {"client_id": w.sso_client.id},
    "backoffice:sso_client_delete": lambda w: {"client_id": w.sso_client.id},
    # allauth's pages about the person's own account: keys and objects of the signed-in
    # person only, whatever the link says (the walk shows they leak nothing of A).
    "account_confirm_email": lambda w: {"key": "not-a-key"},
    "account_reset_password_from_key": lambda w: {"uidb36": "1", "key": "set-password"},
    "mfa_remove_webauthn": lambda w: {"pk": w.agent_a.user.pk},
    "mfa_edit_webauthn": lambda w: {"pk": w.agent_a.user.pk},
    "core:file_download": lambda w: {"file_id": w.logo.pk, "name": w.logo.original_name},
    "organisation_files:download": lambda w: {
        "file_id": w.logo.pk,
        "name": w.logo.original_name,
    },
    # Company X's vault file: under X's path, and under the public and org A's paths too.
    "company_files:download": lambda w: {
        "file_id": w.vault_document.file_id,
        "name": w.vault_document.file.original_name,
    },
    # A draft consultation of A, with a lot and a criterion (procurement).
    "procurement:detail": lambda w: {"pk": w.consultation.pk},
    "procurement:edit": lambda w: {"pk": w.consultation.pk},
    "procurement:espd": lambda w: {"pk": w.consultation.pk},
    "procurement:lot_add": lambda w: {"pk": w.consultation.pk},
    "procurement:lot_remove": lambda w: {
        "pk": w.consultation.pk,
        "lot_pk": w.lot.pk,
    },
    "procurement:criterion_add": lambda w: {"pk": w.consultation.pk},
    "procurement:criterion_remove": lambda w: {
        "pk": w.consultation.pk,
        "criterion_pk": w.criterion.pk,
    },
    "procurement:schedule": lambda w: {"pk": w.consultation.pk},
    "procurement:unschedule": lambda w: {"pk": w.consultation.pk},
    "procurement:publish": lambda w: {"pk": w.consultation.pk},
    "procurement:cancel": lambda w: {"pk": w.consultation.pk},
    # The buyers' shared workspace (a participation row of B would 404 all the same).
    "procurement:group": lambda w: {"pk": w.consultation.pk},
    "procurement:group_remove": lambda w: {"pk": w.consultation.pk, "participation_pk": 1},
    "procurement:clause_insert": lambda w: {"pk": w.consultation.pk},
    "procurement:copy": lambda w: {"pk": w.consultation.pk},
    "procurement:selection": lambda w: {"pk": w.consultation.pk},
    "procurement:selection_remove": lambda w: {"pk": w.consultation.pk, "code": "gen-year-to"},
    # The back office's library: the operator guard answers before any row is read.
    "backoffice:library_entry_edit": lambda w: {"pk": 1},
    "backoffice:library_proposal_accept": lambda w: {"pk": 1},
    "backoffice:library_proposal_reject": lambda w: {"pk": 1},
    "consultations:detail": lambda w: {"pk": w.consultation.pk},
    # A file of A's draft consultation (procurement: the DCE, not public while a draft).
    "procurement:document_add": lambda w: {"pk": w.consultation.pk},
    "procurement:document_remove": lambda w: {
        "pk": w.consultation.pk,
        "document_pk": _document_of(w).pk,
    },
    "procurement:document_download": lambda w: {
        "pk": w.consultation.pk,
        "document_pk": _document_of(w).pk,
        "filename": _document_of(w).file.original_name,
    },
    "procurement:rectify": lambda w: {"pk": w.consultation.pk},
    # The opening key of A's draft consultation (deposits, the key ceremony).
    "deposits_keys:opening_key": lambda w: {"pk": w.consultation.pk},
    "consultations:documents_zip": lambda w: {"pk": w.consultation.pk},
    "consultations:document": lambda w: {
        "pk": w.consultation.pk,
        "document_pk": _document_of(w).pk,
        "filename": _document_of(w).file.original_name,
    },
    # Identified downloaders, the register and the answers (a draft: nothing to show).
    "consultations:identify": lambda w: {"pk": w.consultation.pk},
    "consultations:leave": lambda w: {"pk": w.consultation.pk},
    "consultations:ask": lambda w: {"pk": w.consultation.pk},
    "procurement:register_csv": lambda w: {"pk": w.consultation.pk},
    "procurement:answer": lambda w: {"pk": w.consultation.pk},
    "legality:act_detail": lambda w: {"pk": w.act.pk},
    "legality:act_edit": lambda w: {"pk": w.act.pk},
    "legality:act_validate": lambda w: {"pk": w.act.pk},
    "legality:act_cancel": lambda w: {"pk": w.act.pk},
    "legality:act_publication": lambda w: {"pk": w.act.pk},
    "legality:act_cancel_transmission": lambda w: {"pk": w.act.pk},
    # The prefecture's letters, the member's messages and PES flows: A has none, so an
    # identifier no row holds (every side must answer 404 or send to the login).
    "legality:letter": lambda w: {"pk": 1},
    "legality:letter_answer": lambda w: {"pk": 1},
    "legality:letter_due_date": lambda w: {"pk": 1},
    "legality:message_resend": lambda w: {"pk": 1},
    "legality:pes:flow_detail": lambda w: {"pk": 1},
    "legality:pes:flow_sign": lambda w: {"pk": 1},
    "legality:pes:flow_cancel": lambda w: {"pk": 1},
    "legality:pes:flow_retry": lambda w: {"pk": 1},
    "legality:pes:return_detail": lambda w: {"pk": 1},
    "legality:pes:return_file": lambda w: {"pk": 1},
    "legality:pes:return_retry": lambda w: {"pk": 1},
    # The legality API: A's act; webhooks A has none of.
    "api:get_act": lambda w: {"act_id": w.act.pk},
    "api:send_act": lambda w: {"act_id": w.act.pk},
    "api:get_act_document": lambda w: {"act_id": w.act.pk},
    "api:get_act_stamped": lambda w: {"act_id": w.act.pk},
    "api:get_act_slip": lambda w: {"act_id": w.act.pk},
    "api:delete_webhook": lambda w: {"webhook_id": 1},
    "api:list_webhook_deliveries": lambda w: {"webhook_id": 1},
    "api:get_pes_return": lambda w: {"return_id": 1},
    "api:get_pes_return_file": lambda w: {"return_id": 1},
    "api:get_pes_flow": lambda w: {"flow_id": 1},
    "api:sign_pes_flow": lambda w: {"flow_id": 1},
    "api:get_pes_flow_file": lambda w: {"flow_id": 1},
    "api:get_pes_flow_acknowledgement": lambda w: {"flow_id": 1},
    # The public verification page of an act: A's act is not acknowledged, so no token
    # opens it (a wrong one is tried).
    "legality_public:verify": lambda w: {"token": "not-a-token"},
    # Sealed deposits' proof (deposits.proof_urls): A's draft consultation has no published
    # root (404 to all); company X's deposit references are checked under its path only.
    "deposits_proof:root_token": lambda w: {"pk": w.consultation.pk, "section": "on_time"},
    "deposits_proof:root_json": lambda w: {"pk": w.consultation.pk, "section": "on_time"},
    "company_deposits_proof:proof": lambda w: {"reference": "D-NOT-A-DEPOSIT"},
    "company_deposits_proof:proof_json": lambda w: {"reference": "D-NOT-A-DEPOSIT"},
    "company_deposits_proof:receipt_json": lambda w: {"reference": "D-NOT-A-DEPOSIT"},
    "legality_public:file": lambda w: {
        "token": "not-a-token",
        "file_id": w.act.document_id,
        "name": "acte.pdf",
    },
    # A person's alerts: the walker's own (none of that number), and token links.
    "alerts:edit": lambda w: {"pk": 1},
    "alerts:pause": lambda w: {"pk": 1},
    "alerts:delete": lambda w: {"pk": 1},
    "alerts:feed_regenerate": lambda w: {"pk": 1},
    "alert_links:unsubscribe": lambda w: {"token": "not-a-token"},
    "alert_links:feed": lambda w: {"token": "not-a-token"},
    # The opening of sealed deposits of A's consultation (none opened: a number is tried).
    "deposits_opening:session": lambda w: {"pk": w.consultation.pk},
    "deposits_opening:start": lambda w: {"pk": w.consultation.pk},
    "deposits_opening:own_key": lambda w: {"pk": w.consultation.pk},
    "deposits_opening:share": lambda w: {"pk": w.consultation.pk},
    "deposits_opening:status": lambda w: {"pk": w.consultation.pk},
    "deposits_opening:file": lambda w: {
        "pk": w.consultation.pk,
        "opened_pk": 1,
        "filename": "offre.pdf",
    },
    "deposits_opening:document": lambda w: {"pk": w.consultation.pk, "kind": "minutes"},
    # The test-only context (tests/plugged): a row org A and company X both hold.
    "plugged:shared": lambda w: {"pk": w.shared_note.pk},
    "plugged_company:shared": lambda w: {"pk": w.shared_note.pk},
    # Company X's deposit page on A's consultation (deposits; a draft: 404 to anyone).
    "company_deposits:consultation": lambda w: {"pk": w.consultation.pk},
    # Company X's ESPD response to A's consultation, for its lot 1 (a draft: 404 to anyone).
    "company_deposits:espd": lambda w: {"pk": w.consultation.pk, "lot": 1},
    "company_deposits:espd_export": lambda w: {"pk": w.consultation.pk, "lot": 1},
    "company_deposits:espd_import": lambda w: {"pk": w.consultation.pk, "lot": 1},
    # A deposit of company X on A's consultation, and its file (deposits: the API, the
    # buyer's register).
    "api:deposits_consultation_info": lambda w: {"consultation_id": w.consultation.pk},
    "api:deposits_deposit": lambda w: {"reference": _deposit_of(w).reference},
    "api:deposits_files": lambda w: {"reference": _deposit_of(w).reference},
    "api:deposits_file": lambda w: {"reference": _deposit_of(w).reference, "file_id": 1},
    "api:deposits_file_head": lambda w: {"reference": _deposit_of(w).reference, "file_id": 1},
    "api:deposits_chunk": lambda w: {"reference": _deposit_of(w).reference, "file_id": 1},
    "api:deposits_complete": lambda w: {"reference": _deposit_of(w).reference},
    "api:deposits_receipt_pdf": lambda w: {"reference": _deposit_of(w).reference},
    "api:deposits_proof": lambda w: {"reference": _deposit_of(w).reference},
    "api:deposits_withdraw": lambda w: {"reference": _deposit_of(w).reference},
    "deposit_register:register": lambda w: {"pk": w.consultation.pk},
    "deposit_register:register_csv": lambda w: {"pk": w.consultation.pk},
    # Its backup copies (none recorded: a number is tried).
    "deposit_register:backup_receive": lambda w: {"pk": w.consultation.pk},
    "deposit_register:backup_open": lambda w: {"pk": w.consultation.pk, "copy_id": 1},
    "deposit_register:backup_destroy": lambda w: {"pk": w.consultation.pk, "copy_id": 1},
    "deposit_register:admissions": lambda w: {"pk": w.consultation.pk},
    "deposit_register:admission_decide": lambda w: {"pk": w.consultation.pk, "company_id": 1},
    "deposit_register:admissions_notify": lambda w: {"pk": w.consultation.pk},
    # The analysis of offers of A's consultation (evaluation; none started: a number is tried).
    "evaluation:consultation": lambda w: {"pk": w.consultation.pk},
    "evaluation:open": lambda w: {"pk": w.consultation.pk},
    "evaluation:round_open": lambda w: {"pk": w.consultation.pk},
    "evaluation:report_pdf": lambda w: {"pk": w.consultation.pk},
    "evaluation:report_xlsx": lambda w: {"pk": w.consultation.pk},
    "evaluation:analysis": lambda w: {"pk": w.consultation.pk, "analysis_id": 1},
    "evaluation:configure": lambda w: {"pk": w.consultation.pk, "analysis_id": 1},
    "evaluation:subcriterion_add": lambda w: {"pk": w.consultation.pk, "analysis_id": 1},
    "evaluation:subcriterion_remove": lambda w: {
        "pk": w.consultation.pk,
        "analysis_id": 1,
        "criterion_id": 1,
    },
    "evaluation:price": lambda w: {"pk": w.consultation.pk, "analysis_id": 1, "offer_id": 1},
    "evaluation:score": lambda w: {"pk": w.consultation.pk, "analysis_id": 1, "offer_id": 1},
    "evaluation:start_scoring": lambda w: {"pk": w.consultation.pk, "analysis_id": 1},
    "evaluation:close": lambda w: {"pk": w.consultation.pk, "analysis_id": 1},
    "evaluation:ranking": lambda w: {"pk": w.consultation.pk, "analysis_id": 1},
    # Award and contract (none recorded: numbers are tried).
    "contracts:awards": lambda w: {"pk": w.consultation.pk},
    "contracts:decide": lambda w: {"pk": w.consultation.pk},
    "contracts:notify_cancellation": lambda w: {"pk": w.consultation.pk},
    "contracts:notify": lambda w: {"pk": w.consultation.pk, "award_id": 1},
    "contracts:abandon": lambda w: {"pk": w.consultation.pk, "award_id": 1},
    "contracts:sign": lambda w: {"pk": w.consultation.pk, "award_id": 1},
    "contracts:letter": lambda w: {"pk": w.consultation.pk, "award_id": 1, "letter_id": 1},
    "contracts:contract": lambda w: {"contract_id": 1},
    "decp:entry": lambda w: {"contract_id": 1},
    "decp_public:buyer": lambda w: {"slug": w.org_a.slug},
    "contracts:contract_notify": lambda w: {"contract_id": 1},
    "contracts:amend": lambda w: {"contract_id": 1},
    "contracts:order": lambda w: {"contract_id": 1},
    "contracts:archive": lambda w: {"pk": w.consultation.pk},
    "api:get_award": lambda w: {"award_id": 1},
    "api:sign_contract": lambda w: {"award_id": 1},
    "api:get_contract": lambda w: {"contract_id": 1},
    "api:add_amendment": lambda w: {"contract_id": 1},
    "api:add_order": lambda w: {"contract_id": 1},
    "contracts:export": lambda w: {},
    "contracts:package": lambda w: {"package_id": 1},
    "contracts:contract_step": lambda w: {"contract_id": 1, "step": "start"},
    "company_contracts:letter": lambda w: {"letter_id": 1},
    "company_contracts:contract": lambda w: {"pk": 1},
    "company_contracts:confirm_receipt": lambda w: {"pk": 1},
    # Secure messaging (no thread: numbers are tried).
    "messaging:consultation": lambda w: {"pk": w.consultation.pk},
    "messaging:write": lambda w: {"pk": w.consultation.pk},
    "messaging:thread": lambda w: {"pk": 1},
    "messaging:reply": lambda w: {"pk": 1},
    "messaging:attachment": lambda w: {"pk": 1, "attachment_id": 1},
    "company_messages:thread": lambda w: {"pk": 1},
    "company_messages:reply": lambda w: {"pk": 1},
    "company_messages:attachment": lambda w: {"pk": 1, "attachment_id": 1},
    # The operator's integrity page of one buyer: A's.
    "integrity_operator:buyer": lambda w: {"pk": w.org_a.pk},
    "commissions:detail": lambda w: {"pk": 1},
    "commissions:edit": lambda w: {"pk": 1},
    "commissions:member_add": lambda w: {"pk": 1},
    "commissions:member_update": lambda w: {"pk": 1, "member_id": 1},
    "commissions:member_remove": lambda w: {"pk": 1, "member_id": 1},
    "commissions:external_add": lambda w: {"pk": 1},
    "commissions:external_update": lambda w: {"pk": 1, "external_id": 1},
    "commissions:external_remove": lambda w: {"pk": 1, "external_id": 1},
    "commissions:meeting_new": lambda w: {"pk": 1},
    "commissions:meeting": lambda w: {"pk": 1},
    "commissions:meeting_edit": lambda w: {"pk": 1},
    "commissions:meeting_convene": lambda w: {"pk": 1},
    "commissions:meeting_cancel": lambda w: {"pk": 1},
    "commissions:meeting_attendance": lambda w: {"pk": 1},
    "commissions:meeting_minutes": lambda w: {"pk": 1},
    "commissions:meeting_minutes_pdf": lambda w: {"pk": 1},
    "commissions:meeting_reconvene": lambda w: {"pk": 1},
    "commissions:assign": lambda w: {"consultation_id": w.consultation.pk},
}


def url_of(name: str, arguments: tuple[str, ...], world: World) -> str:
    kwargs = ARGUMENTS[name](world) if name in ARGUMENTS else {}
    for argument in arguments:
        if argument not in kwargs and argument in COMMON:
            kwargs[argument] = COMMON[argument](world)
    missing = set(arguments) - set(kwargs)
    assert not missing, f"Tell the walk how to build {missing} of {name} (ARGUMENTS)"
    return reverse(name, kwargs=kwargs)


@pytest.fixture
def world(org_a, agent_a) -> World:
    with scopes_disabled():
        Subscription.objects.create(
            organisation=org_a,
            service=Service.objects.get(code="procurement"),
            since=timezone.localdate(),
        )
    audit.record(actor=agent_a, action="test.secret", payload={"note": SECRET})
    colleague = make_member(org_a, "colleague.a@example.org", roles=["secretary"])
    invitation = invitations.send_invitation(
        actor=agent_a, email="invited.a@example.org", roles=["secretary"], site_url=SITE_URL
    )
    token_a = _token_in(OutgoingEmail.objects.filter(to="invited.a@example.org").last())

    alice = verified_person("alice.x@example.org")
    admin_x = register_company(alice, siren=company_siren(1), name="Menuiserie X")
    company_x = admin_x.company
    bob = verified_person("bob.x@example.org")
    company_services.sign_up_with_siret(
        user=bob, siret=valid_siret(company_x.siren, 2), site_url=SITE_URL
    )
    carol = verified_person("carol.x@example.org")
    company_services.sign_up_with_siret(
        user=carol, siret=valid_siret(company_x.siren, 3), site_url=SITE_URL
    )
    with scopes_disabled():
        company_services.accept_join_request(
            actor=admin_x,
            join_request_id=JoinRequest.objects.get(user=carol).pk,
            site_url=SITE_URL,
        )
        member_x = Representative.objects.get(user=carol)
        join_request = JoinRequest.objects.get(user=bob)
    invitation_x = company_services.invite_colleague(
        actor=admin_x, email="invited.x@example.org", role="member", site_url=SITE_URL
    )
    token_x = _token_in(OutgoingEmail.objects.filter(to="invited.x@example.org").last())
    consultation = make_consultation(
        agent_a, lots=1, criteria=(("Prix", 100),), title=f"Draft {SECRET}"
    )
    client = Client.objects.create(name="Tool of the operator", type=Client.Type.CONFIDENTIAL)
    with scopes_disabled():
        Note.objects.create(organisation=org_a, text=SECRET)
        lot = consultation.lots.get()
        criterion = consultation.criteria.get()
        shared = SharedNote.for_organisation.create(
            organisation=org_a, company=company_x, text=SECRET
        )
    world = World(
        org_a=org_a,
        agent_a=agent_a,
        colleague_a=colleague,
        invitation_a=invitation,
        invitation_token_a=token_a,
        company_x=company_x,
        admin_x=admin_x,
        member_x=member_x,
        join_request_x=join_request,
        invitation_x=invitation_x,
        invitation_token_x=token_x,
        email=OutgoingEmail.objects.filter(to="invited.a@example.org").last(),
        sso_client=client,
        shared_note=shared,
        logo=_logo_of(org_a),
        consultation=consultation,
        lot=lot,
        criterion=criterion,
        vault_document=add_vault_document(admin_x, title=SECRET),
        act=_act_of(org_a, agent_a),
    )
    _document_of(world)
    return world


def _document_of(world: World) -> Any:
    """A file of A's draft consultation, added once through the service."""
    document = getattr(world, "_document", None)
    if document is None:
        from mutualis.procurement import documents

        with scope(organisation=world.org_a.pk):
            (document,) = documents.add_documents(
                actor=world.agent_a,
                consultation_id=world.consultation.pk,
                uploads=[documents.Upload(file=io.BytesIO(b"%PDF-1.7\n%%EOF\n"), name="RC.pdf")],
            )
        world._document = document  # type: ignore[attr-defined]
    return document


def _deposit_of(world: World) -> Any:
    """A deposit of company X on A's consultation, being received, with one file whose
    name is the secret (rows only: the walk needs no ciphertext)."""
    deposit = getattr(world, "_deposit", None)
    if deposit is None:
        from mutualis.deposits.models import Deposit, DepositFile

        with scope(company=world.company_x.pk):
            deposit = Deposit.for_company.create(
                reference="DWALK-X",
                organisation=world.org_a,
                consultation=world.consultation,
                company=world.company_x,
                user=world.admin_x.user,
                idempotency_key="walk",
            )
            DepositFile.for_company.create(
                deposit=deposit,
                organisation=world.org_a,
                company=world.company_x,
                idempotency_key="walk",
                name=f"{SECRET}.pdf",
                plaintext_size=1,
                plaintext_sha256="0" * 64,
                ciphertext_size=300,
                storage_name="walk/DWALK-X/1.age",
            )
        world._deposit = deposit  # type: ignore[attr-defined]
    return deposit


def _act_of(org: Any, admin: Any) -> Any:
    """An act of org A for the legality control, validated (its package built), whose
    subject is the secret."""
    org.siren = org.siren or "212100108"
    org.save(update_fields=["siren"])
    legality.subscribe(org)
    legality.enrol(admin)
    clerk = legality.legality_agent(org, "clerk.a@example.org")
    act = legality.prepare(clerk, number="SECRET_A", subject=SECRET)
    return legality_services.validate_act(actor=clerk, act_id=act.pk)


def _logo_of(org: Any) -> Any:
    """A real stored file: the organisation's logo (public by kind)."""
    image = io.BytesIO()
    Image.new("RGB", (8, 8), "#1d4e89").save(image, format="PNG")
    image.seek(0)
    return files.store_file(
        file=image,
        name=f"{org.slug}.png",
        owner_kind=LOGO_OWNER_KIND,
        owner_ref=str(org.pk),
        allowed_types=files.IMAGE_TYPES,
    )


def _token_in(email: Any) -> str:
    match = re.search(r"/invitations/([^/\s]+)/", delivered_text(email))
    assert match, delivered_text(email)
    return match.group(1)


def chain_lengths(world: World) -> dict[str, int]:
    chains = [audit.organisation_chain(world.org_a.pk), audit.company_chain(world.company_x.pk)]
    with scopes_disabled():
        return {chain: AuditEvent.objects.filter(chain=chain).count() for chain in chains}
