"""The OCDS releases, stored as the immutable snapshots they are, and the bulk files.

A ``Release`` is written once by ``services.snapshot_procedure`` (a background job) and
never updated nor deleted: its queryset and its ``save``/``delete`` refuse it, so that a
release a consumer mirrored stays what it was. Each release is a full snapshot of what is
public about one procedure at that moment (docs/adr/0011-open-data-ocds.md); the record of
a procedure is compiled from its releases by ``ocdsmerge`` (``records.py``), never stored.

A ``BulkFile`` is a gzip release package in the private file store (``bulk.py``): one per
day of releases, and one full file replaced at each run.
"""

from __future__ import annotations

from typing import Any, NoReturn

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Stage(models.TextChoices):
    """The furthest stage a release's changes touched."""

    TENDER = "tender", _("tender")
    AWARD = "award", _("award")
    CONTRACT = "contract", _("contract")


class ReleaseImmutable(Exception):
    """A stored release was to be changed or deleted."""


class ReleaseQuerySet(models.QuerySet["Release"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise ReleaseImmutable("OCDS releases are never updated")

    def delete(self) -> NoReturn:
        raise ReleaseImmutable("OCDS releases are never deleted")


class Release(models.Model):
    """One OCDS release of a procedure, as published (``data``), never changed."""

    ocid = models.CharField(_("OCID"), max_length=120)
    release_id = models.CharField(_("release identifier"), max_length=160)
    date = models.DateTimeField(_("release date"))
    tags = models.JSONField(_("tags"), default=list)
    stage = models.CharField(_("stage"), max_length=10, choices=Stage.choices)
    buyer = models.ForeignKey("core.Organisation", on_delete=models.PROTECT, related_name="+")
    consultation = models.ForeignKey(
        "procurement.Consultation", on_delete=models.PROTECT, related_name="+"
    )
    data = models.JSONField(_("release"))
    # SHA-256 of the canonical JSON of ``data`` (keys sorted, no spaces, UTF-8).
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ReleaseQuerySet.as_manager()

    class Meta:
        verbose_name = _("OCDS release")
        verbose_name_plural = _("OCDS releases")
        constraints = [
            models.UniqueConstraint(fields=["ocid", "release_id"], name="ocds_release_id_unique"),
            models.CheckConstraint(
                condition=Q(stage__in=Stage.values), name="ocds_release_stage_valid"
            ),
        ]
        indexes = [
            # The latest release of a procedure; its record.
            models.Index(fields=["ocid", "id"], name="ocds_release_ocid"),
            # The API's feed filtered by buyer, and by date.
            models.Index(fields=["buyer", "id"], name="ocds_release_buyer"),
            models.Index(fields=["date", "id"], name="ocds_release_date"),
            # The daily bulk files.
            models.Index(fields=["created_at", "id"], name="ocds_release_created"),
        ]

    def __str__(self) -> str:
        return f"{self.ocid} {self.release_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ReleaseImmutable("OCDS releases are never updated")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise ReleaseImmutable("OCDS releases are never deleted")


class BulkKind(models.TextChoices):
    DAY = "day", _("releases of one day")
    FULL = "full", _("every release")


# The owner kind of the bulk files in the file store: public, like the API.
BULK_OWNER_KIND = "ocds.bulk"


class BulkFile(models.Model):
    """A gzip release package of the releases stored on ``day`` (UTC), or of all of them
    (``kind`` full, ``day`` the last day it covers)."""

    kind = models.CharField(_("kind"), max_length=4, choices=BulkKind.choices)
    day = models.DateField(_("day"))
    file = models.OneToOneField("core.StoredFile", on_delete=models.PROTECT, related_name="+")
    releases = models.PositiveIntegerField(_("releases"))
    # The last release the file holds: the full file is written again once newer ones exist.
    last_release_id = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("OCDS bulk file")
        verbose_name_plural = _("OCDS bulk files")
        ordering = ["-day", "kind"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=BulkKind.values), name="ocds_bulk_kind_valid"
            ),
            models.UniqueConstraint(
                fields=["day"], condition=Q(kind="day"), name="ocds_bulk_one_per_day"
            ),
            models.UniqueConstraint(
                fields=["kind"], condition=Q(kind="full"), name="ocds_bulk_one_full"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.day}"


class Reconciliation(models.Model):
    """How far the periodic reconciliation read the consultations' modifications (one
    row): the next run reads from there, a minute back."""

    reached_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.reached_at.isoformat()
