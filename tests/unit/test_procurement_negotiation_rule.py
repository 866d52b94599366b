"""Which procedures allow negotiation rounds (procurement.vocabulary)."""

from __future__ import annotations

import pytest

from mutualis.procurement.vocabulary import Procedure, allows_negotiation


@pytest.mark.parametrize("reserved", [False, True])
def test_the_negotiated_procedure_and_the_dialogue_always_negotiate(reserved):
    assert allows_negotiation(Procedure.NEGOTIATED, negotiation_reserved=reserved)
    assert allows_negotiation(Procedure.COMPETITIVE_DIALOGUE, negotiation_reserved=reserved)


def test_an_adapted_procedure_negotiates_when_its_rules_reserve_it():
    assert allows_negotiation(Procedure.ADAPTED, negotiation_reserved=True)
    assert not allows_negotiation(Procedure.ADAPTED, negotiation_reserved=False)


@pytest.mark.parametrize(
    "procedure",
    [
        Procedure.OPEN,
        Procedure.RESTRICTED,
        Procedure.WITHOUT_PUBLICITY,
        Procedure.REQUEST_FOR_INFORMATION,
        Procedure.SUBSEQUENT,
    ],
)
@pytest.mark.parametrize("reserved", [False, True])
def test_calls_for_tenders_and_the_others_never_negotiate(procedure, reserved):
    assert not allows_negotiation(procedure, negotiation_reserved=reserved)


def test_every_procedure_has_an_answer():
    answers = {p: allows_negotiation(p, negotiation_reserved=True) for p in Procedure}
    assert {p for p, yes in answers.items() if yes} == {
        Procedure.ADAPTED,
        Procedure.NEGOTIATED,
        Procedure.COMPETITIVE_DIALOGUE,
    }
