"""The DECP entry generated from a contract's records, validated against the official
2.0.3 schema; the two-month clock's due date and reminder stages."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mutualis.decp import validation
from mutualis.decp.clock import stage_on
from mutualis.decp.generation import (
    AmendmentRecord,
    ContractRecords,
    Place,
    add_months,
    concerned,
    due_on,
    generate,
    place_of,
)
from mutualis.decp.models import Reminder
from mutualis.procurement.vocabulary import (
    Ccag,
    ContractNature,
    EnvironmentalConsideration,
    ExecutionMode,
    PriceForm,
    PriceType,
    Procedure,
    SocialConsideration,
    Technique,
)
from tests.factories.companies import company_siren, valid_siret

TODAY = date(2027, 3, 10)
BUYER = valid_siret("213100563")


def records(**overrides) -> ContractRecords:
    values = {
        "reference": "2027-001-A",
        "buyer_siret": BUYER,
        "nature": ContractNature.CONTRACT,
        "object": "Réfection de la toiture de l'église",
        "cpv": "45261000",
        "procedure": Procedure.OPEN,
        "ccag": Ccag.WORKS,
        "techniques": (),
        "execution_modes": (),
        "price_types": (PriceType.FIRM,),
        "price_form": PriceForm.LUMP_SUM,
        "social": (),
        "environmental": (EnvironmentalConsideration.CLAUSE,),
        "innovative": False,
        "advance_payment": True,
        "bidders": 3,
        "grouping": "none",
        "holder_siret": valid_siret(company_siren(1)),
        "co_contractors": (),
        "subcontractors": (),
        "place": Place("21000", "Code postal"),
        "amount": Decimal("98500.00"),
        "duration_months": 24,
        "notified_on": date(2027, 3, 1),
        "amendments": (),
    }
    values.update(overrides)
    return ContractRecords(**values)


def problems_of(r: ContractRecords) -> list[str]:
    entry, found = generate(r, today=TODAY)
    return [p.field for p in validation.check(entry, found)]


def test_a_complete_contract_gives_a_valid_entry_read_from_its_records():
    entry, found = generate(records(), today=TODAY)
    assert found == []
    assert validation.schema_problems(entry) == []
    assert entry["id"] == "2027-001-A"
    assert entry["acheteur"] == {"id": BUYER}
    assert entry["procedure"] == "Appel d'offres ouvert"
    assert entry["ccag"] == "Travaux"
    assert entry["montant"] == 98500
    assert entry["dateNotification"] == "2027-03-01"
    assert entry["datePublicationDonnees"] == "2027-03-10"
    assert entry["offresRecues"] == 3
    assert entry["attributionAvance"] is True
    # The format's own defaults when nothing is chosen.
    assert entry["techniques"] == {"technique": ["Sans objet"]}
    assert entry["modalitesExecution"] == {"modaliteExecution": ["Sans objet"]}
    assert entry["considerationsSociales"] == {
        "considerationSociale": ["Pas de considération sociale"]
    }
    assert entry["titulaires"] == [
        {"titulaire": {"typeIdentifiant": "SIRET", "id": valid_siret(company_siren(1))}}
    ]
    assert "modifications" not in entry


def test_the_official_example_validates_and_the_envelope_is_the_official_one():
    with open("/work/shared/data/decp/exemples/json/marches_avec_modifications.json") as f:
        example = json.load(f)
    assert list(validation.validator().iter_errors(example)) == []
    entry, _ = generate(records(), today=TODAY)
    assert list(validation.validator().iter_errors(validation.envelope([entry]))) == []


def test_modifications_are_appended_with_the_new_values_and_the_original_stays():
    amendments = (
        AmendmentRecord(2, date(2027, 6, 1), new_duration_months=30),
        AmendmentRecord(1, date(2027, 5, 1), new_amount=Decimal("105000.50")),
    )
    entry, found = generate(
        records(amendments=amendments),
        today=TODAY,
        first_public_on=date(2027, 3, 2),
        modifications_public_on={"1": "2027-05-03"},
    )
    assert found == []
    assert validation.schema_problems(entry) == []
    assert entry["montant"] == 98500
    assert entry["dureeMois"] == 24
    assert entry["datePublicationDonnees"] == "2027-03-02"
    assert [m["modification"] for m in entry["modifications"]] == [
        {
            "id": 1,
            "dateNotificationModification": "2027-05-01",
            "datePublicationDonneesModification": "2027-05-03",
            "montant": 105000.5,
        },
        {
            "id": 2,
            "dateNotificationModification": "2027-06-01",
            "datePublicationDonneesModification": "2027-03-10",
            "dureeMois": 30,
        },
    ]


def test_what_the_records_lack_is_a_problem_never_a_guess():
    assert problems_of(records(ccag="")) == ["ccag"]
    assert problems_of(records(price_types=(), price_form="")) == ["typesPrix", "formePrix"]
    assert problems_of(records(buyer_siret="")) == ["acheteur"]
    assert problems_of(records(place=None)) == ["lieuExecution"]
    assert problems_of(records(bidders=0)) == ["offresRecues"]
    # A subsequent contract: its framework agreement's procedure is not recorded.
    assert problems_of(records(procedure=Procedure.SUBSEQUENT)) == ["procedure"]
    # What only the schema catches is named too.
    assert problems_of(records(cpv="4526")) == ["codeCPV"]
    assert problems_of(records(amendments=(AmendmentRecord(1, TODAY, Decimal("0")),))) == [
        "modifications"
    ]


def test_the_place_of_execution():
    assert place_of("Dijon (21000)", kind="epci_ca", insee_code="", postcode="") == Place(
        "21000", "Code postal"
    )
    assert place_of("Toute la commune", kind="commune", insee_code="21231", postcode="21000") == (
        Place("21231", "Code commune")
    )
    assert place_of("", kind="departement", insee_code="", postcode="21035") == Place(
        "21035", "Code postal"
    )
    assert place_of("Pas de code 123456", kind="departement", insee_code="", postcode="") is None


def test_the_threshold_and_the_two_month_clock():
    assert concerned(Decimal("40000.00"))
    assert not concerned(Decimal("39999.99"))
    assert due_on(date(2027, 3, 1)) == date(2027, 5, 1)
    assert due_on(date(2026, 12, 31)) == date(2027, 2, 28)
    assert due_on(date(2027, 12, 31)) == date(2028, 2, 29)


def test_the_reminder_stages():
    due = date(2027, 5, 1)
    assert stage_on(due, date(2027, 4, 15)) is None
    assert stage_on(due, date(2027, 4, 16)) == Reminder.DAYS_15
    assert stage_on(due, date(2027, 4, 27)) == Reminder.DAYS_15
    assert stage_on(due, date(2027, 4, 28)) == Reminder.DAYS_3
    assert stage_on(due, date(2027, 5, 1)) == Reminder.DAYS_3
    assert stage_on(due, date(2027, 5, 2)) == Reminder.LATE


@given(st.dates(date(2024, 1, 1), date(2040, 12, 31)), st.integers(0, 36))
def test_add_months_lands_in_the_right_month(day, months):
    later = add_months(day, months)
    assert (later.year * 12 + later.month) - (day.year * 12 + day.month) == months
    assert later.day <= day.day


sirets = st.integers(1, 999_999).map(lambda n: valid_siret(company_siren(n)))
amounts = st.decimals(
    min_value=Decimal("40000"), max_value=Decimal("999999999.99"), places=2, allow_nan=False
)
contract_records = st.builds(
    records,
    reference=st.from_regex(r"\A[A-Za-z0-9._-]{1,16}\Z"),
    nature=st.sampled_from(ContractNature.values),
    object=st.text(min_size=1, max_size=1200),
    procedure=st.sampled_from(
        [p for p in Procedure.values if p not in ("request_for_information", "subsequent")]
    ),
    ccag=st.sampled_from(Ccag.values),
    techniques=st.lists(st.sampled_from(Technique.values), max_size=3).map(tuple),
    execution_modes=st.lists(st.sampled_from(ExecutionMode.values), max_size=3).map(tuple),
    price_types=st.lists(st.sampled_from(PriceType.values), min_size=1, max_size=4).map(tuple),
    price_form=st.sampled_from(PriceForm.values),
    social=st.lists(st.sampled_from(SocialConsideration.values), max_size=3).map(tuple),
    environmental=st.lists(st.sampled_from(EnvironmentalConsideration.values), max_size=2).map(
        tuple
    ),
    innovative=st.booleans(),
    advance_payment=st.booleans(),
    bidders=st.integers(1, 500),
    grouping=st.sampled_from(["none", "joint", "joint_and_several"]),
    holder_siret=sirets,
    co_contractors=st.lists(sirets, max_size=4).map(tuple),
    subcontractors=st.lists(sirets, max_size=3).map(tuple),
    amount=amounts,
    duration_months=st.integers(1, 1200),
    notified_on=st.dates(date(2024, 1, 1), date(2040, 12, 31)),
    amendments=st.lists(
        st.builds(
            AmendmentRecord,
            number=st.integers(1, 50),
            notified_on=st.dates(date(2024, 1, 1), date(2040, 12, 31)),
            new_amount=st.one_of(st.none(), amounts),
            new_duration_months=st.integers(1, 1200),
        ),
        max_size=4,
        unique_by=lambda a: a.number,
    ).map(tuple),
)


@settings(max_examples=60, deadline=None)
@given(contract_records)
def test_every_contract_the_records_allow_gives_a_valid_entry(r):
    entry, found = generate(r, today=TODAY)
    assert found == []
    assert validation.schema_problems(entry) == []


def test_the_entry_states_follow_their_table_only():
    from mutualis.decp import transitions
    from mutualis.decp.errors import EntryTransitionNotAllowed
    from mutualis.decp.models import DecpEntry, Status

    for status in Status:
        for event in transitions.Event:
            entry = DecpEntry(status=status)
            after = transitions.TRANSITIONS.get((status, event))
            if after is None:
                with pytest.raises(EntryTransitionNotAllowed):
                    transitions.apply(entry, event)
                assert entry.status == status
            else:
                assert transitions.apply(entry, event) == after
                assert entry.status == after
    # Only a ready entry is taken by the portal.
    assert [s for (s, e) in transitions.TRANSITIONS if e is transitions.Event.PORTAL_TOOK] == [
        Status.READY
    ]
