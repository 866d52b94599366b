"""What the decp context declares (see ``mutualis.core.registry``)."""

from __future__ import annotations
