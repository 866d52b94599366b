"""What the evaluation context declares (see ``mutualis.core.registry``)."""

from __future__ import annotations
