"""Refusals of the company's ESPD response (``espd_response*.py``): a stable ``code``, a
translated message. :func:`refusal` turns the XML module's :class:`ResponseError` into one
of them."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from mutualis.core.errors import MutualisError

from . import espd_response


class EspdResponseRefused(MutualisError):
    code = "espd_response_refused"
    message = _("This ESPD response cannot be used.")


class EspdFileMissing(EspdResponseRefused):
    code = "espd_file_missing"
    field_name = "file"
    message = _("Choose the XML file of an ESPD response.")


class EspdFileTooLarge(EspdResponseRefused):
    code = "espd_too_large"
    field_name = "file"

    def __init__(self) -> None:
        super().__init__(
            _("This file is larger than %(limit)s MB: no ESPD response is that large.")
            % {"limit": espd_response.MAX_BYTES // (1024 * 1024)}
        )


class EspdNotXml(EspdResponseRefused):
    code = "espd_not_xml"
    field_name = "file"
    message = _("This file is not an XML document.")


class EspdDoctype(EspdResponseRefused):
    code = "espd_doctype"
    field_name = "file"
    message = _(
        "This XML document declares a document type (DTD, entities): no ESPD response needs"
        " one, and it is refused for safety."
    )


class EspdWrongRoot(EspdResponseRefused):
    code = "espd_wrong_root"
    field_name = "file"
    message = _(
        "This XML document is not an ESPD response: its root element is not"
        " QualificationApplicationResponse."
    )


class EspdSchemaInvalid(EspdResponseRefused):
    code = "espd_schema_invalid"
    field_name = "file"


class EspdNoAnswer(EspdResponseRefused):
    code = "espd_no_answer"
    message = _("Answer at least one question of the ESPD: a response without answers is empty.")


class EspdNothingImported(EspdResponseRefused):
    code = "espd_nothing_imported"
    field_name = "file"
    message = _(
        "None of this ESPD response's answers matches a question of this consultation's"
        " ESPD request: nothing was imported."
    )


class EspdAnswerInvalid(EspdResponseRefused):
    code = "espd_answer_invalid"


# The XML module's codes, as a person reads them next to the field.
ANSWER_MESSAGES = {
    "invalid_number": _("Enter a positive number."),
    "not_a_whole_number": _("Enter a whole number."),
    "invalid_date": _("Enter a valid date."),
    "invalid_url": _("Enter a web address starting with https:// or http://."),
    "invalid_currency": _("Enter a currency as its three-letter code (EUR)."),
    "invalid_country": _("Enter a country as its three-letter code (FRA)."),
    "invalid_code": _("Enter a code of letters, digits, dots, dashes or underscores."),
    "invalid_indicator": _("Answer yes or no."),
    "invalid_text": _("Enter a text."),
    "text_too_long": _("This text is too long."),
    "control_characters": _(
        "This text contains control characters (such as NUL) that no document can hold."
    ),
    "period_ends_before_start": _("The end of the period comes before its start."),
    "invalid_amount": _("Enter an amount."),
    "invalid_period": _("Enter the start and the end of the period."),
}


def refusal(error: espd_response.ResponseError) -> EspdResponseRefused:
    """The refusal shown for a document the XML module refused."""
    if error.code == "too_large":
        return EspdFileTooLarge()
    if error.code == "not_xml":
        return EspdNotXml()
    if error.code == "doctype":
        return EspdDoctype()
    if error.code == "wrong_root":
        return EspdWrongRoot()
    if error.code == "no_answer":
        return EspdNoAnswer()
    if error.code == "schema_invalid":
        return schema_invalid(error.errors)
    message = ANSWER_MESSAGES.get(error.code)
    return EspdAnswerInvalid(message) if message is not None else EspdResponseRefused()


def schema_invalid(errors: list[str]) -> EspdSchemaInvalid:
    shown = "; ".join(errors[: espd_response.SHOWN_ERRORS])
    return EspdSchemaInvalid(
        _("This ESPD response does not follow the ESPD-EDM 4.1.0 schema: %(errors)s")
        % {"errors": shown}
    )
