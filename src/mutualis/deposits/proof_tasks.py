"""Background jobs of the proof of deposit: each only calls its module, and is idempotent
(the scheduler or a retry may run it twice)."""

from __future__ import annotations

from django_tasks import task


@task()
def make_receipt_pdf(deposit_id: int) -> str | None:
    """The acknowledged deposit's signed receipt PDF, made and mailed once; the stored
    file's identifier."""
    from . import receipt_pdf

    stored = receipt_pdf.make_receipt_pdf(deposit_id)
    return str(stored.pk) if stored is not None else None


@task()
def close_due_log_sections() -> int:
    """Close and publish the on-time section of the deposit log of every consultation
    whose deadline passed; how many were closed."""
    from . import log_sections

    return log_sections.close_due_sections()
