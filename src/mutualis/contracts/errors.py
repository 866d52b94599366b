"""Refusals of the award and contract use cases: a stable ``code``, a translated message."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from mutualis.core.errors import MutualisError


class ContractsError(MutualisError):
    code = "contracts_error"


class AwardTransitionNotAllowed(ContractsError):
    code = "award_transition_not_allowed"
    message = _("This step is not possible in the award's present state.")


class ContractTransitionNotAllowed(ContractsError):
    code = "contract_transition_not_allowed"
    message = _("This step is not possible in the contract's present state.")


class NotOpened(ContractsError):
    code = "award_before_opening"
    message = _("The offers are not opened yet: award once the commission has opened them.")


class LotUnknown(ContractsError):
    code = "award_lot_unknown"
    field_name = "lot"
    message = _("This lot is not one of the consultation's lots.")


class LotRequired(ContractsError):
    code = "award_lot_required"
    field_name = "lot"
    message = _("This consultation is divided into lots: award each lot.")


class NotABidder(ContractsError):
    code = "award_not_a_bidder"
    field_name = "company"
    message = _(
        "This company has no offer opened and received on time for this lot: only those can be "
        "awarded."
    )


class OutcomeInvalid(ContractsError):
    code = "award_outcome_invalid"
    field_name = "outcome"
    message = _("Choose awarded, unsuccessful or discontinued.")


class AmountInvalid(ContractsError):
    code = "amount_invalid"
    field_name = "amount"
    message = _("Give the amount excluding VAT in euros, zero or more, with at most two decimals.")


class ReasonsRequired(ContractsError):
    code = "award_reasons_required"
    field_name = "reasons"
    message = _(
        "Give the reasons (at most 4,000 characters, no control characters): they are sent to "
        "the bidders."
    )


class LaterRoundExists(ContractsError):
    code = "award_before_last_round"
    message = _(
        "A negotiation round follows these offers: the award falls on the offers of the last round."
    )


class AlreadyDecided(ContractsError):
    code = "award_already_notified"
    message = _("This decision is notified: it can no longer be changed.")


class NoDecision(ContractsError):
    code = "award_no_decision"
    message = _("There is no decision to notify for this lot.")


class NotCancelled(ContractsError):
    code = "consultation_not_cancelled"
    message = _(
        "Declare the consultation unsuccessful or discontinued on its page first; its bidders "
        "are then notified here."
    )


class StandstillNotOver(ContractsError):
    code = "standstill_not_over"
    field_name = "signed_on"

    def __init__(self, end: str) -> None:
        super().__init__(
            _(
                "The contract cannot be signed before the end of the standstill period: it ends "
                "on %(end)s, sign from the next day."
            )
            % {"end": end}
        )


class SignatureDateInvalid(ContractsError):
    code = "signature_date_invalid"
    field_name = "signed_on"
    message = _("Give the signature date (DD/MM/YYYY), not in the future.")


class DurationInvalid(ContractsError):
    code = "duration_invalid"
    field_name = "duration_months"
    message = _("Give the duration in whole months, from 1 to 1,200.")


class ReferenceInvalid(ContractsError):
    code = "contract_reference_invalid"
    field_name = "reference"
    message = _(
        "Give the contract number: 1 to 16 letters, digits, dashes, underscores or dots, unique "
        "among your contracts."
    )


class SiretInvalid(ContractsError):
    code = "contract_siret_invalid"

    def __init__(self, value: str, reason: str, *, field: str) -> None:
        super().__init__(
            _("%(value)s: %(reason)s") % {"value": value[:20], "reason": reason}, field=field
        )


class HolderSiretInvalid(ContractsError):
    code = "holder_siret_invalid"
    field_name = "holder_siret"
    message = _("The holder's SIRET must be one of the holder company's establishments.")


class TooManyParties(ContractsError):
    code = "contract_too_many_parties"
    message = _("At most 50 co-contractors and 50 subcontractors.")


class AmendmentInvalid(ContractsError):
    code = "amendment_invalid"
    message = _(
        "An amendment gives its object (at most 1,000 characters), its notification date, and a "
        "new amount or a new duration."
    )


class NotAmendable(ContractsError):
    code = "contract_not_amendable"
    message = _("A contract is amended once notified and until it ends.")


class ReasonRequired(ContractsError):
    code = "reason_required"
    field_name = "reason"
    message = _("Give the reason (at most 4,000 characters).")


class DateInvalid(ContractsError):
    code = "date_invalid"
    field_name = "date"
    message = _("Give a valid date (DD/MM/YYYY), not in the future.")


class MaximumInvalid(ContractsError):
    code = "framework_maximum_invalid"
    field_name = "framework_maximum"
    message = _(
        "The maximum is a framework agreement's: give it in euros excluding VAT, zero or more, "
        "with at most two decimals, only when the consultation's techniques include a framework "
        "agreement."
    )


class NotAFramework(ContractsError):
    code = "not_a_framework_agreement"
    message = _(
        "Orders are recorded only under a framework agreement: the consultation's purchasing "
        "techniques do not include one."
    )


class NotOrderable(ContractsError):
    code = "contract_not_orderable"
    message = _("Orders are recorded once the contract is notified and until it ends.")


class OrderNumberInvalid(ContractsError):
    code = "order_number_invalid"
    field_name = "number"
    message = _(
        "Give the order number: 1 to 30 letters, digits, dashes, underscores, dots or slashes, "
        "unique for this contract."
    )


class OrderInvalid(ContractsError):
    code = "order_invalid"
    message = _(
        "An order gives its object (at most 1,000 characters), its date (not in the future, not "
        "before the contract's notification) and its amount excluding VAT."
    )


class OverMaximum(ContractsError):
    code = "framework_maximum_exceeded"
    field_name = "amount"

    def __init__(self, maximum: str, ordered: str, left: str) -> None:
        super().__init__(
            _(
                "This order would exceed the framework agreement's maximum of %(maximum)s "
                "excluding VAT: %(ordered)s are already ordered, at most %(left)s remain."
            )
            % {"maximum": maximum, "ordered": ordered, "left": left}
        )


class NotFinished(ContractsError):
    code = "procedure_not_finished"
    message = _(
        "The procedure is not finished: its package is made once every lot is contracted or "
        "declared unsuccessful or discontinued, or the consultation cancelled."
    )
