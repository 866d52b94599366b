from django.db import models


class ApiWrite(models.Model):
    """One write of the API under an ``Idempotency-Key`` (``mutualis.core.api.idempotency``):
    claimed before the use case runs (``status`` 0, until ``lease_until``), then holding
    the answer given, which the same key with the same request gets again.

    ``caller`` is the API client's identifier (``Caller.rate_limit_key``): each client has
    its own keys, whoever it acts for. No tenant dimension: the row is found by its caller,
    never listed."""

    PENDING = 0

    caller = models.CharField(max_length=100)
    key = models.CharField(max_length=100)
    operation = models.CharField(max_length=40)
    # SHA-256 of the operation, its path parameters and its request (canonical JSON).
    request_hash = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField(default=PENDING)
    response = models.JSONField(default=dict)
    created_at = models.DateTimeField()
    # While pending: after this instant the claim is taken to be a crashed request's.
    lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["caller", "key"], name="core_api_write_key"),
        ]

    def __str__(self) -> str:
        return f"{self.caller}:{self.key}"
