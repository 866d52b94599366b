"""Errors of the requests for missing documents in the admission of candidates
(``admissions.request_documents``, ``admissions.refuse_silent``)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from .errors import DepositError


class MissingDocumentsRequired(DepositError):
    code = "missing_documents_required"
    field_name = "reasons"
    message = _(
        "List the missing documents the candidate must send (at most 2,000 characters): "
        "the list is sent to the candidate."
    )


class DocumentsDeadlineInvalid(DepositError):
    code = "documents_deadline_invalid"
    field_name = "documents_deadline"
    message = _("Give the date and time (Paris) by which the documents are awaited, in the future.")


class DocumentsRequestPending(DepositError):
    code = "documents_request_pending"
    status = 409
    message = _(
        "Missing documents are awaited from a candidate: admit or refuse it before notifying "
        "the decisions."
    )


class NoDocumentsRequest(DepositError):
    code = "no_documents_request"
    status = 409
    message = _("No missing documents were requested from this candidate.")


class DocumentsDeadlineNotPassed(DepositError):
    code = "documents_deadline_not_passed"
    status = 409
    message = _("The candidate may still send the missing documents: wait for the date given.")


class CandidateAnswered(DepositError):
    code = "candidate_answered"
    status = 409
    message = _(
        "The candidate has answered the request: examine its answer and decide with your "
        "own reasons."
    )
