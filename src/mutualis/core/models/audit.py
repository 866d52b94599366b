import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager


class AuditEvent(models.Model):
    """One event of a hash-chained, append-only audit trail.

    There is one chain per organisation (``org:<id>``), one per company (``company:<id>``)
    and one for the platform (``platform``). The hash of an event covers the hash of the
    previous one, its chain, sequence number, time, organisation, actor, action, object
    and the digest of its payload. Personal data never enters these fields: the actor is a
    pseudonym whose identity lives in ``AuditSubject``, the source address in
    ``AuditEventContext``, so that an erasure request blanks those rows and never breaks a
    chain. A trigger refuses UPDATE and DELETE on this table on PostgreSQL, UPDATE on
    SQLite (migration ``0003_audit_append_only`` says why).
    """

    chain = models.CharField(max_length=64)
    sequence = models.PositiveBigIntegerField()
    organisation = models.ForeignKey(
        "core.Organisation", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    occurred_at = models.DateTimeField()
    actor = models.CharField(max_length=80)
    action = models.CharField(max_length=80)
    object_type = models.CharField(max_length=80, blank=True, default="")
    object_id = models.CharField(max_length=80, blank=True, default="")
    payload = models.JSONField(default=dict, blank=True)
    payload_digest = models.CharField(max_length=64)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    objects = ScopedManager(organisation="organisation")

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["chain", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["chain", "sequence"], name="audit_chain_sequence"),
        ]
        indexes = [
            models.Index(fields=["organisation", "-occurred_at"]),
            models.Index(fields=["action"]),
        ]

    def __str__(self) -> str:
        return f"{self.chain}#{self.sequence} {self.action}"


class AuditChainHead(models.Model):
    """The head of each chain, locked by writers so that a chain never forks."""

    chain = models.CharField(max_length=64, primary_key=True)
    sequence = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"{self.chain}@{self.sequence}"


class AuditSubject(models.Model):
    """Who a pseudonymous actor is: personal data kept out of the hashed fields."""

    pseudonym = models.UUIDField(primary_key=True, default=uuid.uuid4)
    display_name = models.CharField(max_length=200, blank=True, default="")
    email = models.EmailField(blank=True, default="")
    erased_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.display_name or str(self.pseudonym)


class AuditEventContext(models.Model):
    """Personal context of an event (source address, browser), erasable."""

    event = models.OneToOneField(AuditEvent, on_delete=models.CASCADE, related_name="context")
    source_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True, default="")

    def __str__(self) -> str:
        # No address here: the string shows up in logs and the admin.
        return f"context of event {self.event_id}"


class AuditCheckpoint(models.Model):
    """A signed statement of a chain's head at a time (Ed25519 with the platform key).

    The same statement is appended to a file outside the database, so that cutting the
    last events of a chain, or its checkpoints, is detected.
    """

    chain = models.CharField(max_length=64)
    sequence = models.PositiveBigIntegerField()
    hash = models.CharField(max_length=64)
    signed_at = models.DateTimeField()
    key_id = models.CharField(max_length=64)
    signature = models.CharField(max_length=128)
    # The instance whose key signed it, covered by the signature; empty for checkpoints
    # signed before instances were named (format 1, which names none).
    instance = models.UUIDField(null=True, blank=True)

    class Meta:
        ordering = ["chain", "-sequence"]
        indexes = [models.Index(fields=["chain", "-sequence"])]

    def __str__(self) -> str:
        return f"{self.chain}@{self.sequence}"
