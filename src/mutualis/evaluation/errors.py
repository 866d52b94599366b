"""Errors of the analysis of offers: a stable ``code`` and a translatable ``message``."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from mutualis.core.errors import MutualisError


class EvaluationError(MutualisError):
    code = "evaluation_error"


class NotFound(EvaluationError):
    code = "not_found"
    message = _("There is no such object.")


class NotOpened(EvaluationError):
    code = "not_opened"
    message = _("The offers are analysed once the opening is complete.")


class NoOffers(EvaluationError):
    code = "no_offers"
    message = _("This consultation receives applications, not offers: analyse its offer phase.")


class AnalysisExists(EvaluationError):
    code = "analysis_exists"
    message = _("This analysis has already been started.")


class LotRequired(EvaluationError):
    code = "lot_required"
    field_name = "lot"
    message = _("This consultation has lots: choose the lot to analyse.")


class TransitionNotAllowed(EvaluationError):
    code = "analysis_transition_not_allowed"
    message = _("The state of the analysis does not allow this change.")


class NotInDraft(EvaluationError):
    code = "analysis_not_in_draft"
    message = _("The criteria and settings can only change before scoring starts.")


class NotScoring(EvaluationError):
    code = "analysis_not_scoring"
    message = _("Scores are entered while the analysis is being scored.")


class AnalysisClosed(EvaluationError):
    code = "analysis_closed"
    message = _("The analysis is closed: nothing in it can change.")


class LabelInvalid(EvaluationError):
    code = "label_invalid"
    field_name = "label"
    message = _("Give a label of at most 200 characters, without control characters.")


class WeightInvalid(EvaluationError):
    code = "weight_invalid"
    field_name = "weight"
    message = _("Give a weight between 0.01 and 100, with at most two decimals.")


class ParentInvalid(EvaluationError):
    code = "parent_invalid"
    field_name = "parent"
    message = _("Sub-criteria go under a criterion of this analysis other than the price.")


class WeightsDoNotAddUp(EvaluationError):
    code = "weights_do_not_add_up"
    message = _(
        "The weights do not add up: the criteria must total 100 and the sub-criteria of a"
        " criterion its weight; at most one criterion is the price, without sub-criteria."
    )


class PriceInvalid(EvaluationError):
    code = "price_invalid"
    field_name = "price"
    message = _(
        "Give the price excluding VAT in euros: a positive amount below one trillion, with at"
        " most two decimals."
    )


class SettingsInvalid(EvaluationError):
    code = "settings_invalid"
    message = _(
        "Check the settings: a known price formula and rule, a scale from 1 to 100 and a share"
        " from 1 to 100 %."
    )


class ScoreInvalid(EvaluationError):
    code = "score_invalid"
    field_name = "value"
    message = _("Give a score between 0 and the scale's maximum, with at most two decimals.")


class CommentInvalid(EvaluationError):
    code = "comment_invalid"
    field_name = "comment"
    message = _("Give a comment of at most 2000 characters, without control characters.")


class NotScorable(EvaluationError):
    code = "criterion_not_scorable"
    field_name = "criterion"
    message = _(
        "This criterion is not scored by hand: the price is computed, and a criterion with"
        " sub-criteria is scored on them."
    )


class Incomplete(EvaluationError):
    code = "analysis_incomplete"
    message = _(
        "The analysis cannot be closed yet: every offer needs its price and at least one score"
        " on every scored criterion."
    )


# --- Negotiation rounds (negotiation.py) ------------------------------------------------------


class AnalysisNotClosed(EvaluationError):
    code = "analysis_not_closed"
    message = _(
        "A negotiation round opens once the analysis of the offers is closed (every lot's,"
        " when the consultation has lots)."
    )


class NotABidder(EvaluationError):
    code = "round_not_a_bidder"
    field_name = "companies"
    message = _(
        "Only bidders whose offers were analysed and not eliminated may be invited to a"
        " negotiation round."
    )


class MessageInvalid(EvaluationError):
    code = "round_message_invalid"
    field_name = "message"
    message = _("Give a message of at most 5000 characters, without control characters.")
