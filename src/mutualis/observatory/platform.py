"""What the observatory context declares (see ``mutualis.core.registry``)."""

from __future__ import annotations
