"""The metadata of the release and record packages (API and bulk files).

The licence is the Licence Ouverte 2.0 of Etalab, one of the two licences French public
bodies may publish their open data under (article D323-2-1 of the Code des relations
entre le public et l'administration); ``OCDS_LICENSE_URL`` names another.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings

from .releases import moment
from .schemas import VERSION

LICENCE_OUVERTE = "https://www.etalab.gouv.fr/licence-ouverte-open-licence/"


def publisher() -> dict[str, str]:
    name = getattr(settings, "MUTUALIS_OPERATOR_NAME", "") or settings.MUTUALIS_PLATFORM_NAME
    return {"name": str(name), "uri": str(settings.MUTUALIS_SITE_URL)}


def metadata(*, uri: str, published: datetime) -> dict[str, Any]:
    """The fields a package starts with, before its ``releases`` or ``records``."""
    return {
        "uri": uri,
        "version": VERSION,
        "publishedDate": moment(published),
        "publisher": publisher(),
        "license": str(getattr(settings, "OCDS_LICENSE_URL", LICENCE_OUVERTE)),
    }
