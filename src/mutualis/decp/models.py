"""The DECP entry of each contract, its reminders, the portal's publications and the
bulk files.

A ``DecpEntry`` is held by the buyer (one per contract of 40,000 € excl. VAT or more,
once notified): ``data`` is the last valid DECP 2.0.3 ``marche`` generated from the
procedure's records (``generation.py``), what the API and the bulk files publish;
``problems`` lists what stops the latest generation from being valid (shown to the
buyer, who fixes the records; never published). ``version`` counts the valid contents:
it grows when an amendment is appended or a record corrected. ``updated_at`` orders
the change feed. Its state changes only through ``transitions.py``.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from mutualis.core.models import OrganisationOwned


class Status(models.TextChoices):
    # The latest generation is invalid: the buyer has something to fix.
    INCOMPLETE = "incomplete", _("incomplete: to be fixed")
    # Valid, public through the API and the bulk files, not yet taken by the portal.
    READY = "ready", _("ready, awaiting the national portal")
    # The current version was taken by the national portal.
    PUBLISHED = "published", _("published on the national portal")


class DecpEntry(OrganisationOwned):
    contract = models.OneToOneField(
        "contracts.Contract", on_delete=models.PROTECT, related_name="decp_entry"
    )
    # The DECP ``id`` (the contract's reference) and the buyer's SIRET and SIREN, for the
    # API's filters and its buyer-qualified address.
    reference = models.CharField(_("contract number"), max_length=16)
    buyer_siret = models.CharField(_("buyer's SIRET"), max_length=14, blank=True, default="")
    buyer_siren = models.CharField(_("buyer's SIREN"), max_length=9, blank=True, default="")
    data = models.JSONField(_("DECP data"), null=True, blank=True)
    problems = models.JSONField(_("what to fix"), default=list, blank=True)
    version = models.PositiveIntegerField(_("version"), default=0)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.INCOMPLETE
    )
    # The two-month clock: the notification (proof of receipt) and the last day to publish.
    notified_on = models.DateField(_("notified on"))
    due_on = models.DateField(_("to publish by"))
    # The day the data were first made public (DECP ``datePublicationDonnees``), and the
    # day each amendment first was ({"<number>": "YYYY-MM-DD"}): kept, never regenerated.
    first_public_on = models.DateField(_("first made public on"), null=True, blank=True)
    modifications_public_on = models.JSONField(default=dict, blank=True)
    # When the national portal first took the entry (the clock stops), and the version
    # it holds.
    published_at = models.DateTimeField(_("published on the national portal"), null=True)
    published_version = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        verbose_name = _("DECP entry")
        verbose_name_plural = _("DECP entries")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=Status.values), name="decp_entry_status_valid"
            ),
            # Public data exist once valid; a published entry has been public.
            models.CheckConstraint(
                condition=models.Q(version=0, data__isnull=True)
                | models.Q(version__gte=1, data__isnull=False, first_public_on__isnull=False),
                name="decp_entry_version_iff_data",
            ),
            models.UniqueConstraint(
                fields=["organisation", "reference"], name="decp_entry_reference_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["updated_at", "id"], name="decp_entry_feed"),
            models.Index(fields=["buyer_siret"], name="decp_entry_buyer_siret"),
            models.Index(fields=["buyer_siren"], name="decp_entry_buyer_siren"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} v{self.version}"


class Reminder(models.TextChoices):
    DAYS_15 = "15_days", _("15 days before")
    DAYS_3 = "3_days", _("3 days before")
    LATE = "late", _("late")


class DecpReminder(OrganisationOwned):
    """A reminder of the two-month clock sent for an entry: one row per stage, so that
    each is sent once whatever the job's runs."""

    entry = models.ForeignKey(DecpEntry, on_delete=models.CASCADE, related_name="reminders")
    stage = models.CharField(_("stage"), max_length=10, choices=Reminder.choices)
    sent_at = models.DateTimeField(_("sent on"))
    recipients = models.PositiveSmallIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["entry", "stage"], name="decp_reminder_once"),
            models.CheckConstraint(
                condition=models.Q(stage__in=Reminder.values), name="decp_reminder_stage_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.entry_id}:{self.stage}"


class BulkKind(models.TextChoices):
    DAY = "day", _("entries modified that day")
    FULL = "full", _("every entry")


class BulkFile(models.Model):
    """A bulk file of public entries (gzip JSON in the official envelope): the entries
    modified on ``day`` (Europe/Paris), or all of them as of that day. Public facts of
    every member: no organisation."""

    kind = models.CharField(_("kind"), max_length=4, choices=BulkKind.choices)
    day = models.DateField(_("day"))
    file = models.OneToOneField("core.StoredFile", on_delete=models.PROTECT, related_name="+")
    entries = models.PositiveIntegerField(_("entries"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "day"], name="decp_bulk_one_per_day"),
            models.CheckConstraint(
                condition=models.Q(kind__in=BulkKind.values), name="decp_bulk_kind_valid"
            ),
        ]
        ordering = ["-day", "kind"]

    def __str__(self) -> str:
        return f"{self.kind}:{self.day}"


class PortalAttempt(models.Model):
    """One attempt to push entries to the national portal (also in the audit trail):
    the next one waits ``next_attempt_at`` after a failure (back-off). The platform's
    row, for every buyer: no organisation."""

    at = models.DateTimeField(_("at"))
    entries = models.PositiveIntegerField(_("entries"))
    ok = models.BooleanField(_("succeeded"))
    status_code = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    # The reason of a failure, never the API key nor the entries.
    error = models.CharField(_("error"), max_length=300, blank=True, default="")
    resource_id = models.CharField(_("portal resource"), max_length=64, blank=True, default="")
    failures_in_a_row = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {'ok' if self.ok else 'failed'}"
