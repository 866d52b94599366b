"""The key ceremony: commission members enrol their keys, a buyer registers a
consultation's opening key (its shares sealed to the holders), and the opening rebuilds
it from k shares. Bad keys and files are refused and change nothing; other members and
other roles get 404."""

from __future__ import annotations

import base64
from datetime import timedelta

import pyrage
import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from mutualis.core.models import AuditEvent
from mutualis.deposits import key_errors, key_formats, keys, shamir
from mutualis.deposits.models import (
    Deposit,
    HolderKey,
    OpeningKey,
    OpeningKeyDefaults,
    OpeningSession,
    SealedShare,
)
from mutualis.identity.models import Role
from mutualis.procurement import services as procurement
from mutualis.procurement.models import CancellationKind, Consultation
from tests.factories.age import passphrase_encrypt
from tests.factories.companies import company_siren, register_company, verified_person
from tests.factories.core import ORG_B, org_url
from tests.factories.deposits_keys import (
    commission_member,
    enrol,
    make_opening_key,
    opening_input,
    passphrase_sealed_stand_in,
    seal_share,
)
from tests.factories.procurement import make_consultation, subscribe_to_procurement

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(org_a, agent_a):
    subscribe_to_procurement(org_a)
    return org_a


@pytest.fixture
def members(member):
    """Three commission members of org A, not yet enrolled."""
    return [commission_member(member, f"commission{i}.a@example.org") for i in range(1, 4)]


@pytest.fixture
def holders(members):
    return [enrol(m) for m in members]


@pytest.fixture
def consultation(agent_a, member):
    return make_consultation(agent_a, reference="2027-KEY")


def actions(org) -> list[str]:
    with scopes_disabled():
        return list(
            AuditEvent.objects.filter(chain=f"org:{org.pk}", action__startswith="deposits.")
            .order_by("pk")
            .values_list("action", flat=True)
        )


def count(model) -> int:
    with scopes_disabled():
        manager = getattr(model, "for_organisation", None) or model.objects
        return int(manager.count())


def error_codes(response) -> set[str]:
    codes = set()
    for form_name in ("form", "enrol_form", "defaults_form"):
        form = response.context.get(form_name) if response.context else None
        if form is not None:
            codes |= {e.code for errors in form.errors.as_data().values() for e in errors}
    return codes


def unlock(holder, sealed: str) -> bytes:
    """What the holder's browser does at the opening: open their sealed share."""
    return keys.parse_share(pyrage.decrypt(sealed.encode(), [holder.identity]).decode())


# --- Enrolment -------------------------------------------------------------------------


def test_a_commission_member_enrols_a_key_audited_on_the_organisation_chain(
    client, member, members
):
    person = members[0]
    identity = pyrage.x25519.Identity.generate()
    client.force_login(person.user)

    page = client.get(org_url("deposits_keys:holders"))
    assert page.status_code == 200
    assert b'id="enrol-form"' in page.content
    response = client.post(
        org_url("deposits_keys:enrol"),
        {"recipient": str(identity.to_public()), "sealed_identity": passphrase_sealed_stand_in()},
    )

    assert response.status_code == 302
    with scope(organisation=member.pk):
        key = HolderKey.objects.get(user=person.user)
    assert key.recipient == str(identity.to_public())
    assert key.retired_at is None
    assert actions(member) == ["deposits.holder_key.enrolled"]
    listed = client.get(org_url("deposits_keys:holders"))
    assert key.recipient.encode() in listed.content
    # The holders' list shows public keys, never the sealed private key.
    assert key_formats.ARMOR_BEGIN.encode() not in listed.content


def test_a_sealed_identity_made_by_age_with_a_passphrase_is_read_as_such():
    """rage (pyrage) seals with a passphrase as the browser's age-encryption does, but
    calibrates its work factor to the machine (17 to 20 here): the parser reads it, the
    bounds are the service's (the browser's library always uses 18; the browser test
    enrols real keys)."""
    identity = pyrage.x25519.Identity.generate()
    sealed = key_formats.armor(
        pyrage.passphrase.encrypt(str(identity).encode(), "correct horse battery staple")
    )
    parsed = key_formats.passphrase_file(sealed, max_chars=4096, min_work=1, max_work=99)
    assert parsed.types() == ["scrypt"]
    assert parsed.payload_size == 16 + len(str(identity)) + 16
    assert 10 <= int(parsed.stanzas[0].args[1]) <= 25
    opened = pyrage.passphrase.decrypt(
        key_formats.dearmor(sealed, max_chars=4096), "correct horse battery staple"
    )
    assert opened.decode() == str(identity)


def test_an_agent_who_is_not_a_commission_member_cannot_enrol(client, member, agent_a):
    client.force_login(agent_a.user)  # buyer and administrator, not of the commission
    page = client.get(org_url("deposits_keys:holders"))
    assert page.status_code == 200
    assert b'id="enrol-form"' not in page.content
    identity = pyrage.x25519.Identity.generate()
    response = client.post(
        org_url("deposits_keys:enrol"),
        {"recipient": str(identity.to_public()), "sealed_identity": passphrase_sealed_stand_in()},
    )
    assert response.status_code == 404
    with scope(organisation=member.pk), pytest.raises(PermissionDenied):
        keys.enrol_holder(
            actor=agent_a,
            recipient=str(identity.to_public()),
            sealed_identity=passphrase_sealed_stand_in(),
        )
    assert count(HolderKey) == 0


def test_another_member_and_an_outsider_get_404(client, member, holders, agent_b, outsider):
    for user in (agent_b.user, outsider):
        client.force_login(user)
        assert client.get(org_url("deposits_keys:holders")).status_code == 404
        assert client.post(org_url("deposits_keys:enrol"), {}).status_code == 404
    # In its own organisation, agent B sees none of A's holders.
    client.force_login(agent_b.user)
    subscribe_to_procurement(agent_b.organisation)
    page = client.get(org_url("deposits_keys:holders", org=ORG_B))
    assert page.status_code == 200
    assert holders[0].recipient.encode() not in page.content


def _bech32_of(data: bytes, hrp: str = "age") -> str:
    text = key_formats.encode_recipient(data) if len(data) == 32 else None
    if text is not None and hrp == "age":
        return text
    # Any length, any prefix: the same encoder, then the prefix swapped and re-summed.
    values, accumulator, bits = [], 0, 0
    for byte in data:
        accumulator = (accumulator << 8) | byte
        bits += 8
        while bits >= 5:
            bits -= 5
            values.append((accumulator >> bits) & 31)
    if bits:
        values.append((accumulator << (5 - bits)) & 31)
    polymod = key_formats._polymod([*key_formats._expand(hrp), *values, 0, 0, 0, 0, 0, 0]) ^ 1
    values += [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(key_formats._BECH32_CHARSET[v] for v in values)


GOOD = str(pyrage.x25519.Identity.generate().to_public())
BAD_RECIPIENTS = {
    "empty": "",
    "not bech32": "age1notakey",
    "capitals": GOOD.upper(),
    "checksum": GOOD[:-1] + ("q" if GOOD[-1] != "q" else "p"),
    "31 bytes": _bech32_of(b"\x01" * 31),
    "other prefix": _bech32_of(b"\x01" * 32, hrp="agf"),
    "secret key": "AGE-SECRET-KEY-1" + "Q" * 58,
    "nul": GOOD[:10] + "\x00" + GOOD[11:],
    "over-long": GOOD + "q" * 500,
}


@pytest.mark.parametrize("recipient", BAD_RECIPIENTS.values(), ids=BAD_RECIPIENTS.keys())
def test_a_bad_recipient_is_refused(client, member, members, recipient):
    client.force_login(members[0].user)
    response = client.post(
        org_url("deposits_keys:enrol"),
        {"recipient": recipient, "sealed_identity": passphrase_sealed_stand_in()},
    )
    assert response.status_code == 400
    assert count(HolderKey) == 0
    assert actions(member) == []


def _header_file(stanzas: bytes, payload: int = 106) -> str:
    mac = base64.b64encode(b"\x07" * 32).decode().rstrip("=")
    return key_formats.armor(
        b"age-encryption.org/v1\n" + stanzas + f"--- {mac}\n".encode() + b"\x01" * payload
    )


def _b64(n: int) -> str:
    return base64.b64encode(b"\x02" * n).decode().rstrip("=")


X25519_STANZA = f"-> X25519 {_b64(32)}\n{_b64(32)}\n".encode()
SCRYPT_STANZA = f"-> scrypt {_b64(16)} 18\n{_b64(32)}\n".encode()
BAD_SEALED_IDENTITIES = {
    "empty": "",
    "not armored": "hello",
    "armored, not age": key_formats.armor(b"just bytes, no header at all"),
    "to a public key": _header_file(X25519_STANZA),
    "two stanzas": _header_file(SCRYPT_STANZA + SCRYPT_STANZA),
    "weak work factor": _header_file(f"-> scrypt {_b64(16)} 10\n{_b64(32)}\n".encode()),
    "absurd work factor": _header_file(f"-> scrypt {_b64(16)} 40\n{_b64(32)}\n".encode()),
    "short salt": _header_file(f"-> scrypt {_b64(8)} 18\n{_b64(32)}\n".encode()),
    "no payload": _header_file(SCRYPT_STANZA, payload=0),
    "too large": _header_file(SCRYPT_STANZA, payload=6000),
    "bad armor line": passphrase_sealed_stand_in().replace("\n", "\n ", 2),
    "nul": passphrase_sealed_stand_in().replace("A", "\x00", 1),
    "no mac": key_formats.armor(b"age-encryption.org/v1\n" + SCRYPT_STANZA + b"\x01" * 80),
}


@pytest.mark.parametrize("sealed", BAD_SEALED_IDENTITIES.values(), ids=BAD_SEALED_IDENTITIES.keys())
def test_a_bad_sealed_identity_is_refused(client, member, members, sealed):
    client.force_login(members[0].user)
    response = client.post(
        org_url("deposits_keys:enrol"), {"recipient": GOOD, "sealed_identity": sealed}
    )
    assert response.status_code == 400
    assert count(HolderKey) == 0
    assert actions(member) == []


def test_invalid_utf8_and_nul_bytes_in_a_post_get_a_400(client, member, members):
    client.force_login(members[0].user)
    response = client.post(
        org_url("deposits_keys:enrol"),
        b"recipient=age1%ff%fe%00&sealed_identity=%c3%28",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400
    assert count(HolderKey) == 0


def test_a_public_key_already_enrolled_is_refused(member, members, holders):
    with scope(organisation=member.pk), pytest.raises(key_errors.RecipientTaken):
        keys.enrol_holder(
            actor=members[1],
            recipient=holders[0].recipient,
            sealed_identity=passphrase_sealed_stand_in(),
        )


def test_re_enrolment_retires_the_old_key_unless_it_holds_a_share_not_yet_opened(
    member, members, holders, agent_a, consultation
):
    first = holders[0]
    # No share yet: a new key replaces the old one, which is retired, not deleted.
    second = enrol(members[0])
    with scope(organisation=member.pk):
        first.key.refresh_from_db()
        assert first.key.retired_at is not None
        assert keys.current_key(organisation_id=member.pk, user_id=members[0].user_id) == second.key

    # Holding a share of a consultation not yet opened: refused, nothing changes.
    make_opening_key(agent_a, consultation, [second, holders[1], holders[2]], 2)
    with scope(organisation=member.pk), pytest.raises(key_errors.HolderKeyStillNeeded) as refused:
        keys.enrol_holder(
            actor=members[0],
            recipient=str(pyrage.x25519.Identity.generate().to_public()),
            sealed_identity=passphrase_sealed_stand_in(),
        )
    assert "2027-KEY" in str(refused.value.message)
    with scope(organisation=member.pk):
        second.key.refresh_from_db()
        assert second.key.retired_at is None

    # Once the consultation is opened, the holder may enrol again.
    with scope(organisation=member.pk):
        OpeningSession.objects.create(
            organisation=member,
            consultation=consultation,
            started_by=agent_a.user,
            completed_at=timezone.now(),
        )
    third = enrol(members[0])
    assert third.key.pk != second.key.pk
    assert actions(member).count("deposits.holder_key.retired") == 2


# --- Opening keys ----------------------------------------------------------------------


def opening_post(data: keys.OpeningKeyInput, *, printed: bool = True) -> dict[str, object]:
    post: dict[str, object] = {
        "holders": [str(pk) for pk in data.sealed_shares],
        "threshold": str(data.threshold),
        "recipient": data.recipient,
        "escrow_index": str(data.escrow_index),
    }
    if printed:
        post["escrow_printed"] = "on"
    for pk, sealed in data.sealed_shares.items():
        post[f"share_{pk}"] = sealed
    return post


def test_a_buyer_registers_an_opening_key_two_of_three_and_k_shares_rebuild_it(
    client, member, agent_a, holders, consultation
):
    client.force_login(agent_a.user)
    detail = client.get(org_url("procurement:detail", pk=consultation.pk))
    assert b"No opening key yet" in detail.content
    page = client.get(org_url("deposits_keys:opening_key", pk=consultation.pk))
    assert page.status_code == 200
    # The defaults: 2 of the 3 enrolled holders, all three proposed.
    assert page.context["form"].initial["threshold"] == 2
    assert len(page.context["form"].initial["holders"]) == 3

    data, ceremony = opening_input(holders, 2)
    response = client.post(
        org_url("deposits_keys:opening_key", pk=consultation.pk), opening_post(data)
    )

    assert response.status_code == 302
    with scope(organisation=member.pk):
        key = OpeningKey.objects.get(consultation=consultation)
        sealed = {s.holder_id: s.sealed_share for s in key.shares.all()}
    assert (key.threshold, key.share_count, key.escrow_index) == (2, 3, ceremony.escrow[-1])
    assert key.recipient == data.recipient
    assert key.escrow_printed_at is not None
    assert actions(member)[-1] == "deposits.opening_key.registered"
    detail = client.get(org_url("procurement:detail", pk=consultation.pk))
    assert b"2 of its 3 holders" in detail.content
    page = client.get(org_url("deposits_keys:opening_key", pk=consultation.pk))
    assert key.recipient.encode() in page.content
    assert b"Replace the opening key" in page.content
    # Nothing secret on the page: no sealed file, no share.
    assert key_formats.ARMOR_BEGIN.encode() not in page.content

    # The opening: each holder unlocks their share; any two rebuild the key, and so do
    # one holder with the paper share.
    unlocked = {h.key.pk: unlock(h, sealed[h.key.pk]) for h in holders}
    assert unlocked == ceremony.shares
    for pair in ([holders[0], holders[1]], [holders[1], holders[2]], [holders[2], holders[0]]):
        rebuilt = keys.rebuild_identity([unlocked[h.key.pk] for h in pair], key)
        assert rebuilt == ceremony.identity
    assert keys.rebuild_identity([ceremony.escrow, unlocked[holders[2].key.pk]], key) == (
        ceremony.identity
    )
    typed = " ".join(keys.share_text(ceremony.escrow)[i : i + 4] for i in range(0, 150, 4))
    assert keys.parse_share(typed.upper()) == ceremony.escrow


def test_rebuilding_refuses_too_few_wrong_and_duplicate_shares(agent_a, holders, consultation):
    ceremony = make_opening_key(agent_a, consultation, holders, 2)
    key = ceremony.opening_key
    shares = list(ceremony.shares.values())
    with pytest.raises(key_errors.NotEnoughShares):
        keys.rebuild_identity(shares[:1], key)
    with pytest.raises(shamir.ShareError):
        keys.rebuild_identity([shares[0], shares[0]], key)
    other = shamir.split(str(pyrage.x25519.Identity.generate()).encode(), 3, 2)
    with pytest.raises(key_errors.RebuiltKeyMismatch):
        keys.rebuild_identity(other[:2], key)
    # Shares of two different keys interpolate to garbage, not to an identity.
    with pytest.raises(key_errors.RebuiltKeyInvalid):
        keys.rebuild_identity([shares[0], other[1]], key)
    with pytest.raises(shamir.ShareError):
        keys.rebuild_identity([shares[0], shares[1][:-2] + shares[1][-1:]], key)


def test_with_one_holder_needed_each_holder_opens_alone(agent_a, holders, consultation):
    ceremony = make_opening_key(agent_a, consultation, holders[:2], 1)
    assert (ceremony.opening_key.threshold, ceremony.opening_key.share_count) == (1, 2)
    for share in [*ceremony.shares.values(), ceremony.escrow]:
        assert keys.rebuild_identity([share], ceremony.opening_key) == ceremony.identity


@pytest.mark.parametrize("threshold", ["4", "0", "-1", "x", "99999999999999999999"])
def test_a_threshold_outside_one_to_n_is_refused(
    client, member, agent_a, holders, consultation, threshold
):
    data, _ = opening_input(holders, 2)
    post = opening_post(data)
    post["threshold"] = threshold
    client.force_login(agent_a.user)
    response = client.post(org_url("deposits_keys:opening_key", pk=consultation.pk), post)
    assert response.status_code == 400
    assert count(OpeningKey) == 0


def test_k_greater_than_n_is_refused_by_the_service(member, agent_a, holders, consultation):
    data, _ = opening_input(holders[:2], 2)
    data = keys.OpeningKeyInput(data.recipient, 3, data.sealed_shares, data.escrow_index)
    with scope(organisation=member.pk), pytest.raises(key_errors.ThresholdInvalid):
        keys.register_opening_key(actor=agent_a, consultation_id=consultation.pk, data=data)
    assert count(OpeningKey) == 0


def test_the_paper_share_must_be_confirmed_printed(client, member, agent_a, holders, consultation):
    data, _ = opening_input(holders, 2)
    client.force_login(agent_a.user)
    response = client.post(
        org_url("deposits_keys:opening_key", pk=consultation.pk), opening_post(data, printed=False)
    )
    assert response.status_code == 400
    assert count(OpeningKey) == 0


def test_a_buyer_of_another_organisation_gets_404(client, member, agent_b, holders, consultation):
    subscribe_to_procurement(agent_b.organisation)
    client.force_login(agent_b.user)
    data, _ = opening_input(holders, 2)
    for org in ("commune-a", ORG_B):
        url = org_url("deposits_keys:opening_key", org=org, pk=consultation.pk)
        assert client.get(url).status_code == 404
        assert client.post(url, opening_post(data)).status_code == 404
    assert count(OpeningKey) == 0


def test_a_commission_member_who_is_not_a_buyer_gets_404(client, members, holders, consultation):
    client.force_login(members[0].user)
    url = org_url("deposits_keys:opening_key", pk=consultation.pk)
    assert client.get(url).status_code == 404


def test_holders_of_another_organisation_or_retired_are_refused(
    member, agent_a, agent_b, holders, consultation
):
    subscribe_to_procurement(agent_b.organisation)
    foreign = enrol(commission_member(agent_b.organisation, "commission.b@example.org"))
    data, _ = opening_input([holders[0], foreign], 2)
    with scope(organisation=member.pk), pytest.raises(key_errors.HoldersInvalid):
        keys.register_opening_key(actor=agent_a, consultation_id=consultation.pk, data=data)

    replaced = holders[1].key
    enrol(holders[1].membership)  # retires the key it had
    data, _ = opening_input([holders[0], holders[1]], 2)
    assert replaced.pk in data.sealed_shares
    with scope(organisation=member.pk), pytest.raises(key_errors.HoldersInvalid):
        keys.register_opening_key(actor=agent_a, consultation_id=consultation.pk, data=data)
    assert count(OpeningKey) == 0


def test_a_holder_who_left_the_commission_is_no_longer_offered_nor_accepted(
    member, agent_a, holders, consultation
):
    departed = holders[2].membership
    with scopes_disabled():
        departed.roles.set(Role.objects.filter(code="buyer"))
    with scope(organisation=member.pk):
        listed = keys.active_holders(organisation_id=member.pk)
    assert {h.pk for h in listed} == {h.key.pk for h in holders[:2]}
    data, _ = opening_input(holders, 2)
    with scope(organisation=member.pk), pytest.raises(key_errors.HoldersInvalid):
        keys.register_opening_key(actor=agent_a, consultation_id=consultation.pk, data=data)
    assert count(OpeningKey) == 0


def _with_share(data: keys.OpeningKeyInput, pk: int, sealed: str) -> keys.OpeningKeyInput:
    return keys.OpeningKeyInput(
        data.recipient, data.threshold, {**data.sealed_shares, pk: sealed}, data.escrow_index
    )


def test_sealed_shares_that_are_not_one_x25519_age_file_each_are_refused(
    member, agent_a, holders, consultation
):
    data, ceremony = opening_input(holders, 2)
    pk = holders[0].key.pk
    share = ceremony.shares[pk]
    two = pyrage.encrypt(
        keys.share_text(share).encode(),
        [pyrage.x25519.Recipient.from_str(h.recipient) for h in holders[:2]],
    )
    bad = {
        "two recipients": key_formats.armor(two),
        "passphrase": key_formats.armor(passphrase_encrypt(b"00", "pw pw pw pw pw pw")),
        "not armored": "-> X25519",
        "binary in armor": key_formats.armor(b"\x00" * 200),
        "longer share": seal_share(share + b"\x00", holders[0].recipient),
        "too large": seal_share(b"\x01" * 3000, holders[0].recipient),
    }
    for name, sealed in bad.items():
        with scope(organisation=member.pk), pytest.raises(key_errors.SharesInvalid):
            keys.register_opening_key(
                actor=agent_a, consultation_id=consultation.pk, data=_with_share(data, pk, sealed)
            )
        assert count(OpeningKey) == 0, name


def test_a_missing_share_or_escrow_coordinate_is_refused(
    client, member, agent_a, holders, consultation
):
    data, _ = opening_input(holders, 2)
    client.force_login(agent_a.user)
    url = org_url("deposits_keys:opening_key", pk=consultation.pk)
    post = opening_post(data)
    del post[f"share_{holders[2].key.pk}"]
    assert client.post(url, post).status_code == 400
    for escrow in ("0", "256", ""):
        assert client.post(url, {**opening_post(data), "escrow_index": escrow}).status_code == 400
    post = {**opening_post(data), "recipient": "age1\x00"}
    assert client.post(url, post).status_code == 400
    assert count(OpeningKey) == 0


def test_no_key_after_the_deadline_nor_on_a_cancelled_consultation(
    member, agent_a, holders, consultation
):
    data, _ = opening_input(holders, 2)
    late = consultation.response_deadline + timedelta(seconds=1)
    with scope(organisation=member.pk), pytest.raises(key_errors.ConsultationClosed):
        keys.register_opening_key(
            actor=agent_a, consultation_id=consultation.pk, data=data, now=late
        )
    with scope(organisation=member.pk):
        procurement.publish_consultation(actor=agent_a, consultation_id=consultation.pk)
        procurement.cancel_consultation(
            actor=agent_a,
            consultation_id=consultation.pk,
            kind=CancellationKind.DISCONTINUED,
            reason="Besoin disparu.",
        )
    with scope(organisation=member.pk), pytest.raises(key_errors.ConsultationClosed):
        keys.register_opening_key(actor=agent_a, consultation_id=consultation.pk, data=data)
    assert count(OpeningKey) == 0


def test_a_key_is_replaced_until_a_response_was_sealed_with_it(
    client, member, agent_a, holders, consultation
):
    first = make_opening_key(agent_a, consultation, holders, 2)
    second = make_opening_key(agent_a, consultation, holders[:2], 1)
    with scope(organisation=member.pk):
        key = OpeningKey.objects.get(consultation=consultation)
        assert key.recipient != first.opening_key.recipient
        assert SealedShare.objects.filter(opening_key=key).count() == 2
    assert key.pk == second.opening_key.pk
    assert count(SealedShare) == 2
    assert "deposits.opening_key.replaced" in actions(member)

    representative = register_company(
        verified_person("gerant@dupont.example"), siren=company_siren(1)
    )
    with scopes_disabled():
        Deposit.for_organisation.create(
            organisation=member,
            reference="D-1",
            consultation=consultation,
            company_id=representative.company_id,
            user=representative.user,
            idempotency_key="k1",
        )
    client.force_login(agent_a.user)
    page = client.get(org_url("deposits_keys:opening_key", pk=consultation.pk))
    assert b"it can no longer be replaced" in page.content
    assert b'id="opening-form"' not in page.content
    data, _ = opening_input(holders, 2)
    with scope(organisation=member.pk), pytest.raises(key_errors.OpeningKeyInUse):
        keys.register_opening_key(actor=agent_a, consultation_id=consultation.pk, data=data)
    with scope(organisation=member.pk):
        assert OpeningKey.objects.get(consultation=consultation).pk == second.opening_key.pk


def test_a_consultation_of_another_organisation_is_not_found_by_the_service(
    member, agent_b, holders, consultation
):
    subscribe_to_procurement(agent_b.organisation)
    data, _ = opening_input(holders, 2)
    with scope(organisation=agent_b.organisation_id), pytest.raises(Consultation.DoesNotExist):
        keys.register_opening_key(actor=agent_b, consultation_id=consultation.pk, data=data)
    assert count(OpeningKey) == 0


# --- Defaults --------------------------------------------------------------------------


def test_a_buyer_sets_the_defaults_new_keys_propose(client, member, agent_a, holders):
    client.force_login(agent_a.user)
    response = client.post(
        org_url("deposits_keys:defaults"), {"threshold": "1", "share_count": "2"}
    )
    assert response.status_code == 302
    with scope(organisation=member.pk):
        stored = OpeningKeyDefaults.objects.get()
        assert (stored.threshold, stored.share_count) == (1, 2)
        assert keys.proposal(organisation_id=member.pk, holder_count=3) == (1, 2)
        assert keys.proposal(organisation_id=member.pk, holder_count=1) == (1, 1)
    assert actions(member)[-1] == "deposits.opening_key.defaults_set"

    response = client.post(
        org_url("deposits_keys:defaults"), {"threshold": "3", "share_count": "2"}
    )
    assert response.status_code == 400
    assert "opening_key_defaults_invalid" in error_codes(response)


def test_without_stored_defaults_fewer_than_three_holders_propose_one_of_all(member):
    with scope(organisation=member.pk):
        assert keys.proposal(organisation_id=member.pk, holder_count=2) == (1, 2)
        assert keys.proposal(organisation_id=member.pk, holder_count=5) == (2, 3)


def test_a_commission_member_cannot_set_the_defaults(client, member, members):
    client.force_login(members[0].user)
    response = client.post(
        org_url("deposits_keys:defaults"), {"threshold": "1", "share_count": "1"}
    )
    assert response.status_code == 404
    assert count(OpeningKeyDefaults) == 0


# --- Query budgets ---------------------------------------------------------------------


def test_the_holders_page_reads_in_a_fixed_number_of_queries(
    client, member, agent_a, holders, django_assert_max_num_queries
):
    client.force_login(agent_a.user)
    client.get(org_url("deposits_keys:holders"))  # sessions and caches warmed
    with django_assert_max_num_queries(14) as queries:
        response = client.get(org_url("deposits_keys:holders"))
    assert len(response.context["holders"]) == 3
    few = len(queries)
    for i in range(4, 8):
        enrol(commission_member(member, f"commission{i}.a@example.org"))
    with django_assert_max_num_queries(few):
        response = client.get(org_url("deposits_keys:holders"))
    assert len(response.context["holders"]) == 7


def test_the_opening_key_page_reads_in_a_fixed_number_of_queries(
    client, member, agent_a, members, consultation, django_assert_max_num_queries
):
    few_holders = [enrol(m) for m in members[:2]]
    make_opening_key(agent_a, consultation, few_holders, 1)
    client.force_login(agent_a.user)
    url = org_url("deposits_keys:opening_key", pk=consultation.pk)
    client.get(url)
    with django_assert_max_num_queries(20) as queries:
        client.get(url)
    few = len(queries)
    more = few_holders + [
        enrol(commission_member(member, f"commission{i}.a@example.org")) for i in range(4, 9)
    ]
    make_opening_key(agent_a, consultation, more, 3)
    with django_assert_max_num_queries(few):
        response = client.get(url)
    assert response.context["current"].share_count == 7
