import uuid

from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _


class StoredFile(models.Model):
    """A file of the private file store (``mutualis.core.files``): its bytes live in the
    ``files`` storage under ``key``; this row says what they are and who owns them.

    The owner kind names the service that decides who may read the file (see
    ``mutualis.core.files.owners``); ``owner_ref`` is that service's own reference (an
    organisation's or a consultation's primary key…), opaque to the store. The bytes never
    change once stored: the SHA-256 is the download's strong ETag.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    key = models.CharField(_("storage key"), max_length=255, unique=True, editable=False)
    owner_kind = models.CharField(_("owner kind"), max_length=60)
    owner_ref = models.CharField(_("owner reference"), max_length=64, blank=True, default="")
    # Sanitised (mutualis.core.files.names), shown and offered as the download's name.
    original_name = models.CharField(_("name"), max_length=255)
    # Read from the bytes at upload, never from the name.
    content_type = models.CharField(_("content type"), max_length=127)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    created_at = models.DateTimeField(_("stored at"), auto_now_add=True)

    class Meta:
        verbose_name = _("stored file")
        verbose_name_plural = _("stored files")
        indexes = [models.Index(fields=["owner_kind", "owner_ref"])]

    def __str__(self) -> str:
        return self.original_name

    def get_absolute_url(self) -> str:
        """The public address (for owner kinds that read without a party, e.g. logos)."""
        return reverse("core:file_download", args=[self.pk, self.original_name])

    def url_for_organisation(self, slug: str) -> str:
        """The address under an organisation's path, for its agents (ADR 0002)."""
        return reverse(
            "organisation_files:download",
            kwargs={"org": slug, "file_id": self.pk, "name": self.original_name},
        )
