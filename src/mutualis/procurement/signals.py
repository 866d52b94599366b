"""What the procurement context tells its own modules, once the change is committed.

The use cases send these from ``transaction.on_commit``: a receiver (alerts, the download
register's notifications) never sees a change that was rolled back, and a failing
receiver never undoes the change. Receivers live in the module they serve and are
connected from ``apps.py``.

- ``consultation_published(consultation_id, organisation_id)``: a consultation became
  public (by its buyer or by the job at its planned time).
- ``rectification_published(consultation_id, organisation_id, rectification_id)``: a
  published consultation was rectified (new version of its notice or of its files).
- ``documents_downloaded(consultation_id, organisation_id, request, document_ids)``:
  someone downloaded files of a public consultation (one id, or all for the ZIP); sent
  by the download views, synchronously, before the response streams.
"""

from __future__ import annotations

from django.db import transaction
from django.dispatch import Signal

consultation_published = Signal()
rectification_published = Signal()
documents_downloaded = Signal()


def send_on_commit(signal: Signal, **kwargs: object) -> None:
    """Send ``signal`` (sender: the procurement context) once the current transaction
    commits; at once outside a transaction."""
    transaction.on_commit(lambda: signal.send(sender="procurement", **kwargs))
