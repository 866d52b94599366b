"""Rate limits: fixed-window counters in the shared cache.

One counter per (rule, key, window): ``cache.add`` creates it with the window's length as
its time-out, ``cache.incr`` counts. Both are single atomic commands on Redis (the
production cache), so that every web process counts into the same counter without a
database write per request. A counter that the cache loses (eviction, restart) only
forgets a few requests.

A fixed window lets a client send up to twice the limit across a window boundary; for a
limit meant to stop floods and runaway scripts, not to meter, that is acceptable and
costs two cache commands per request.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from django.core.cache import cache

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Rate:
    """``limit`` requests per ``period`` seconds; parsed from ``"120/m"``."""

    limit: int
    period: int

    @classmethod
    def parse(cls, text: str) -> Rate:
        count, _slash, unit = text.partition("/")
        if unit not in PERIODS or not count.isdigit() or int(count) < 1:
            raise ValueError(f"Invalid rate {text!r}: expected <count>/<s|m|h|d>.")
        return cls(limit=int(count), period=PERIODS[unit])


def hit(rule: str, key: str, rate: Rate | str) -> int | None:
    """Count one request of ``key`` under ``rule``; return None when it is allowed, else
    the seconds to wait until the window ends (at least 1), for ``Retry-After``."""
    if isinstance(rate, str):
        rate = Rate.parse(rate)
    now = time.time()
    window = int(now // rate.period)
    counter = f"ratelimit:{rule}:{key}:{window}"
    # add() does nothing when the counter exists; incr() then counts atomically.
    cache.add(counter, 0, timeout=rate.period + 1)
    try:
        count = cache.incr(counter)
    except ValueError:
        # Expired between add() and incr(): this request opens a new window.
        cache.add(counter, 1, timeout=rate.period + 1)
        count = 1
    if count <= rate.limit:
        return None
    return max(1, math.ceil((window + 1) * rate.period - now))
