import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _


class Instance(models.Model):
    """The identity of this installation: one row, made once by a migration.

    Each database is one instance. Files kept beside the database (the audit checkpoint
    file) name the instance that wrote them, so that a database started next to another
    one's files is told apart from a database whose history was rewritten.
    """

    # Always 1: the check constraint keeps the table to a single row.
    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    identifier = models.UUIDField(_("identifier"), default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    # When an existing database was named (upgrade), the time of its newest checkpoint:
    # the file's lines of the format that names no instance, signed until then, are its
    # own. Empty for a database named at birth, to which no such line can belong.
    legacy_checkpoints_until = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("instance")
        verbose_name_plural = _("instance")
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="instance_single_row")]

    def __str__(self) -> str:
        return str(self.identifier)
