"""Use cases of the platform core: organisations, subscriptions, the outbox.

Each function takes the acting membership as ``actor`` (keyword-only), checks its rights
with ``core.permissions``, runs in one durable transaction and appends one audit event
per change. ``request_context`` is ``audit.request_context(request)`` when a request is
behind the call. The operator back office is the screen that calls them; it writes none
of these rows itself.
"""
