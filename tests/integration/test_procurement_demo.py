"""The demo holds consultations of two members in every state, once."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django_scopes import scopes_disabled

from mutualis.core import audit
from mutualis.core.models import AuditEvent
from mutualis.procurement.models import Consultation

pytestmark = pytest.mark.django_db


def test_the_demo_seeds_consultations_in_every_state_and_only_once(client):
    call_command("import_territory", "--region", "27", stdout=StringIO())
    call_command("setup", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())

    with scopes_disabled():
        consultations = list(Consultation.objects.select_related("organisation"))
        closing = AuditEvent.objects.filter(action="consultation.closed").get()
    assert len(consultations) == 6
    assert {c.state for c in consultations} == {"published", "scheduled", "closed", "cancelled"}
    assert len({c.organisation_id for c in consultations}) == 2
    assert closing.actor == "system:procurement.advance_consultations"
    assert closing.chain == audit.organisation_chain(
        next(c.organisation_id for c in consultations if c.state == "closed")
    )
    public = client.get("/consultations/").context["page"].paginator.count
    assert public == 5  # not the scheduled one
