"""What the evidence context stores: the register of the time-stamp tokens it issued."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class IssuedTimestamp(models.Model):
    """One token the platform's time-stamping authority issued; its primary key is the
    token's serial number, so that no two tokens ever share one (RFC 3161, 2.4.2), on
    every process and every host of the instance, with no counter of its own to keep.

    Only the digest is kept, never the document: the register proves what was stamped
    and when, and lets an operator answer "did you issue this serial number?".
    """

    id = models.BigAutoField(primary_key=True)
    issued_at = models.DateTimeField(_("issued at"))
    hash_algorithm = models.CharField(_("hash algorithm"), max_length=16)
    digest = models.CharField(_("digest (hexadecimal)"), max_length=128)

    class Meta:
        verbose_name = _("issued time-stamp")
        verbose_name_plural = _("issued time-stamps")

    def __str__(self) -> str:
        return f"{self.pk} {self.issued_at.isoformat()}"
