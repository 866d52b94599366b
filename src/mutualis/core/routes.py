"""Who may reach each route: the classification a test checks against every URL.

Each context classifies its own routes from its ``platform`` module
(``registry.declare_routes``); a route nobody classified makes
``tests/integration/test_tenancy_walk.py`` fail, so that a new page is never published
without someone deciding who may see it.
"""

from __future__ import annotations

from .registry import Access, classify

__all__ = ["Access", "classify"]
