"""The award's and the contract's transition tables, walked."""

from __future__ import annotations

import pytest

from mutualis.contracts import award_transitions, contract_transitions, errors
from mutualis.contracts.models import Award, AwardState, Contract, ContractState


def test_an_award_goes_from_draft_to_contract():
    award = Award()
    award_transitions.apply(award, award_transitions.Event.DECIDE, new=True)
    assert award.state == AwardState.DRAFT
    for event, state in [
        (award_transitions.Event.DECIDE, AwardState.DRAFT),
        (award_transitions.Event.NOTIFY, AwardState.NOTIFIED),
        (award_transitions.Event.END_STANDSTILL, AwardState.STANDSTILL_OVER),
        (award_transitions.Event.SIGN, AwardState.CONTRACTED),
    ]:
        assert award_transitions.apply(award, event) == state


def test_a_notified_award_is_signed_only_after_the_standstill():
    award = Award(state=AwardState.NOTIFIED)
    with pytest.raises(errors.AwardTransitionNotAllowed):
        award_transitions.apply(award, award_transitions.Event.SIGN)
    with pytest.raises(errors.AwardTransitionNotAllowed):
        award_transitions.apply(award, award_transitions.Event.DECIDE)


@pytest.mark.parametrize("state", [AwardState.CONTRACTED, AwardState.ABANDONED])
def test_nothing_leaves_the_final_award_states(state):
    for event in award_transitions.Event:
        assert not award_transitions.allowed(Award(state=state), event)


def test_every_award_state_is_reached():
    reached = set(award_transitions.TRANSITIONS.values())
    assert reached == set(AwardState)


def test_a_contract_walks_through_execution():
    contract = Contract(state=ContractState.SIGNED)
    for event, state in [
        (contract_transitions.Event.SEND_NOTIFICATION, ContractState.SENT),
        (contract_transitions.Event.CONFIRM_RECEIPT, ContractState.NOTIFIED),
        (contract_transitions.Event.START, ContractState.IN_EXECUTION),
        (contract_transitions.Event.COMPLETE, ContractState.COMPLETED),
    ]:
        assert contract_transitions.apply(contract, event) == state
    assert not contract_transitions.amendable(contract)


def test_a_contract_is_not_amended_before_its_notification():
    assert not contract_transitions.amendable(Contract(state=ContractState.SIGNED))
    assert not contract_transitions.amendable(Contract(state=ContractState.SENT))
    assert contract_transitions.amendable(Contract(state=ContractState.NOTIFIED))
    with pytest.raises(errors.ContractTransitionNotAllowed):
        contract_transitions.apply(
            Contract(state=ContractState.SIGNED), contract_transitions.Event.CONFIRM_RECEIPT
        )


def test_every_contract_state_but_signed_is_reached():
    reached = set(contract_transitions.TRANSITIONS.values())
    assert reached == set(ContractState) - {ContractState.SIGNED}
