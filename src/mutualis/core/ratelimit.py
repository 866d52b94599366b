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

import hashlib
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


def _window(rule: str, key: str, rate: Rate) -> tuple[str, float, int]:
    now = time.time()
    window = int(now // rate.period)
    # Hashed: keys come from requests (a client id, an address) and may hold characters
    # a cache refuses in its keys.
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"ratelimit:{rule}:{digest}:{window}", now, window


def _wait(rate: Rate, now: float, window: int) -> int:
    return max(1, math.ceil((window + 1) * rate.period - now))


def over(rule: str, key: str, rate: Rate | str) -> int | None:
    """Whether ``key`` already used up its window, without counting: the seconds to wait,
    or None. For limits that count only what succeeded (count with :func:`hit` after)."""
    if isinstance(rate, str):
        rate = Rate.parse(rate)
    counter, now, window = _window(rule, key, rate)
    if (cache.get(counter) or 0) < rate.limit:
        return None
    return _wait(rate, now, window)


def hit(rule: str, key: str, rate: Rate | str) -> int | None:
    """Count one request of ``key`` under ``rule``; return None when it is allowed, else
    the seconds to wait until the window ends (at least 1), for ``Retry-After``."""
    if isinstance(rate, str):
        rate = Rate.parse(rate)
    counter, now, window = _window(rule, key, rate)
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
    return _wait(rate, now, window)
