"""The demo holds consultations of two members in every state, once."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django_scopes import scopes_disabled

from mutualis.core import audit
from mutualis.core.models import AuditEvent, Organisation
from mutualis.procurement.models import (
    Consultation,
    GroupParticipation,
    LibraryEntry,
    LibraryProposal,
)

pytestmark = pytest.mark.django_db


def test_the_demo_seeds_consultations_in_every_state_and_only_once(client):
    call_command("import_territory", "--region", "27", stdout=StringIO())
    call_command("setup", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())

    with scopes_disabled():
        consultations = list(
            Consultation.objects.filter(is_test=False).select_related("organisation")
        )
        closing = AuditEvent.objects.filter(action="consultation.closed").get()
        (test,) = Consultation.objects.filter(is_test=True).select_related("organisation")
    # Six of Dijon and its métropole, and the métropole's group purchase (demo_workspace).
    assert len(consultations) == 7
    # And the operator's test consultation (deposits.availability), made once.
    assert test.organisation.kind == "operator"
    assert {c.state for c in consultations} == {"published", "scheduled", "closed", "cancelled"}
    assert len({c.organisation_id for c in consultations}) == 2
    assert closing.actor == "system:procurement.advance_consultations"
    assert closing.chain == audit.organisation_chain(
        next(c.organisation_id for c in consultations if c.state == "closed")
    )
    public = client.get("/consultations/").context["page"].paginator.count
    assert public == 6  # not the scheduled one


def test_the_demo_seeds_a_group_purchase_and_the_library_once(client):
    call_command("import_territory", "--region", "27", stdout=StringIO())
    call_command("setup", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())

    with scopes_disabled():
        [group] = Consultation.objects.filter(reference="DEMO-MET-2027-GRP")
        members = sorted(
            GroupParticipation.objects.filter(consultation=group).values_list(
                "organisation__source_key", flat=True
            )
        )
        proposals = LibraryProposal.objects.count()
    assert group.state == "published"
    assert group.organisation.source_key == "epci:242100410"
    assert members == ["commune:21054", "commune:21231"]
    assert LibraryEntry.objects.filter(is_active=True).count() >= 5
    assert proposals == 1
    # Beaune, a participant, shows it on its buyer profile.
    beaune = Organisation.objects.get(source_key="commune:21054")
    profile = client.get(reverse("directory:detail", args=[beaune.slug])).content.decode()
    assert "fourniture d&#x27;électricité" in profile
