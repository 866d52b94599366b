"""Reference vocabularies every context reads: the CPV 2008 (procurement's subject codes).

Rows are written by data migrations from the files vendored under ``core/data/``, never
by a service: they are the official publication, read-only to the platform.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class CpvCode(models.Model):
    """A code of the Common Procurement Vocabulary (Regulation (EC) No 213/2008).

    ``code`` is stored without its check digit (8 digits for the main vocabulary, as the
    DECP schema prefers, or ``AA01`` for the supplementary one); ``check_digit`` completes
    it as published (``45000000-7``). ``search_text`` holds both labels and the code,
    folded by ``core.search.fold``.
    """

    code = models.CharField(_("code"), max_length=8, primary_key=True)
    check_digit = models.CharField(_("check digit"), max_length=1)
    label_fr = models.CharField(_("French label"), max_length=400)
    label_en = models.CharField(_("English label"), max_length=400)
    supplementary = models.BooleanField(_("supplementary vocabulary"), default=False)
    search_text = models.TextField(editable=False, default="")

    class Meta:
        verbose_name = _("CPV code")
        verbose_name_plural = _("CPV codes")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.full_code} {self.label_fr}"

    @property
    def full_code(self) -> str:
        return f"{self.code}-{self.check_digit}"
