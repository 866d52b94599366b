"""A consultation's opening-key holders are drawn from the commission that examines it:
the key page offers only its members with an enrolled key, and the service refuses any
other holder, even one posted by hand. Without a commission, every enrolled commission
member of the organisation is offered, as before."""

from __future__ import annotations

import pytest
from django_scopes import scope

from mutualis.commissions import services
from mutualis.deposits import key_errors, keys
from mutualis.deposits.models import OpeningKey
from tests.factories.commissions import make_commission
from tests.factories.core import org_url
from tests.factories.deposits_keys import commission_member, enrol, opening_input
from tests.factories.procurement import make_consultation, subscribe_to_procurement

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(org_a, agent_a):
    subscribe_to_procurement(org_a)
    return agent_a


@pytest.fixture
def setting(admin):
    """A commission of two enrolled members examines the consultation; a third enrolled
    commission member of the organisation sits on another commission."""
    composed = make_commission(admin, full=2, substitutes=0, advisory=0)
    inside = [enrol(m.membership) for m in composed.full]
    outsider = enrol(commission_member(admin.organisation, "hors.commission@example.org"))
    consultation = make_consultation(admin, reference="2027-KEYS")
    with scope(organisation=admin.organisation_id):
        services.assign_consultation(
            actor=admin, consultation_id=consultation.pk, commission_id=composed.commission.pk
        )
    return composed, inside, outsider, consultation


def test_the_holders_offered_are_the_commissions_enrolled_members(admin, setting):
    _composed, inside, outsider, consultation = setting
    with scope(organisation=admin.organisation_id):
        offered = keys.active_holders(
            organisation_id=admin.organisation_id, consultation_id=consultation.pk
        )
        everyone = keys.active_holders(organisation_id=admin.organisation_id)
    assert {h.pk for h in offered} == {h.key.pk for h in inside}
    assert outsider.key.pk in {h.pk for h in everyone}


def test_the_key_page_lists_only_the_commissions_holders(client, admin, setting):
    _composed, inside, outsider, consultation = setting
    client.force_login(admin.user)
    page = client.get(org_url("deposits_keys:opening_key", pk=consultation.pk))
    assert page.status_code == 200
    choices = {value for value, _label in page.context["form"].fields["holders"].choices}
    assert choices == {str(h.key.pk) for h in inside}
    assert outsider.recipient.encode() not in page.content


def test_the_service_refuses_a_holder_outside_the_commission(admin, setting):
    _composed, inside, outsider, consultation = setting
    data, _ceremony = opening_input([inside[0], outsider], 2)
    with scope(organisation=admin.organisation_id), pytest.raises(key_errors.HoldersInvalid):
        keys.register_opening_key(actor=admin, consultation_id=consultation.pk, data=data)
    with scope(organisation=admin.organisation_id):
        assert not OpeningKey.objects.exists()
    data, _ceremony = opening_input(inside, 2)
    with scope(organisation=admin.organisation_id):
        key = keys.register_opening_key(actor=admin, consultation_id=consultation.pk, data=data)
    assert key.share_count == 2


def test_a_forged_post_naming_a_holder_outside_the_commission_is_refused(client, admin, setting):
    _composed, inside, outsider, consultation = setting
    data, _ceremony = opening_input([inside[0], outsider], 1)
    client.force_login(admin.user)
    post = {
        "holders": [str(pk) for pk in data.sealed_shares],
        "threshold": "1",
        "recipient": data.recipient,
        "escrow_index": str(data.escrow_index),
        "escrow_printed": "on",
        **{f"share_{pk}": text for pk, text in data.sealed_shares.items()},
    }
    response = client.post(org_url("deposits_keys:opening_key", pk=consultation.pk), post)
    assert response.status_code == 400
    with scope(organisation=admin.organisation_id):
        assert not OpeningKey.objects.exists()


def test_a_member_who_leaves_the_commission_is_no_longer_offered(admin, setting):
    composed, inside, _outsider, consultation = setting
    with scope(organisation=admin.organisation_id):
        services.remove_member(
            actor=admin, commission_id=composed.commission.pk, member_id=composed.full[1].pk
        )
        offered = keys.active_holders(
            organisation_id=admin.organisation_id, consultation_id=consultation.pk
        )
    assert [h.pk for h in offered] == [inside[0].key.pk]


def test_without_a_commission_every_enrolled_member_is_offered(admin, setting):
    _composed, inside, outsider, consultation = setting
    with scope(organisation=admin.organisation_id):
        services.assign_consultation(
            actor=admin, consultation_id=consultation.pk, commission_id=None
        )
        offered = keys.active_holders(
            organisation_id=admin.organisation_id, consultation_id=consultation.pk
        )
    assert {h.pk for h in offered} == {h.key.pk for h in [*inside, outsider]}
