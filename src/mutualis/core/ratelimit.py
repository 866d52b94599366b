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
from typing import Any

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


# --- Limits on what a person makes the platform do -------------------------------------


def parse_rates(text: str) -> list[Rate]:
    """Several windows for one key, ``"3/h,6/d"``: a burst limit and a daily one."""
    return [Rate.parse(part.strip()) for part in text.split(",") if part.strip()]


@dataclass(frozen=True)
class Limit:
    """One key counted under ``rule`` at every rate of ``rates`` (``"3/h,6/d"``);
    ``message`` is what the person is told when it is used up."""

    rule: str
    key: str
    rates: str
    message: Any = ""


@dataclass(frozen=True)
class Refusal:
    """The limit that refused an action, the seconds until it allows one again, and
    whether this is its first refusal in the window (audit that one, not the flood)."""

    limit: Limit
    wait: int
    first: bool


def take(limits: list[Limit]) -> Refusal | None:
    """Count one action under every limit when none of them is used up; else count
    nothing and return the refusal.

    Checked first without counting, so that refused attempts never use up a limit they
    share with others (an attacker's flood must not use up the invitations a victim's
    address may still receive); then counted, the count being the authority when two
    requests race for the last place.
    """
    from django.conf import settings

    if not settings.MUTUALIS_RATE_LIMITS_ENABLED:
        return None
    pairs = [
        (limit, f"{limit.rule}:{rate.period}", rate)
        for limit in limits
        for rate in parse_rates(limit.rates)
    ]
    for limit, rule, rate in pairs:
        wait = over(rule, limit.key, rate)
        if wait is not None:
            return _refusal(limit, rule, rate, wait)
    for limit, rule, rate in pairs:
        wait = hit(rule, limit.key, rate)
        if wait is not None:
            return _refusal(limit, rule, rate, wait)
    return None


def _refusal(limit: Limit, rule: str, rate: Rate, wait: int) -> Refusal:
    counter, _now, _window_number = _window(rule, limit.key, rate)
    return Refusal(limit=limit, wait=wait, first=first_notice(counter, seconds=rate.period))


def first_notice(name: str, *, seconds: int) -> bool:
    """True the first time ``name`` is noticed in ``seconds`` (``cache.add`` is atomic):
    a refusal repeated a thousand times is written down once."""
    digest = hashlib.sha256(name.encode()).hexdigest()[:32]
    return bool(cache.add(f"ratelimit-noticed:{digest}", 1, timeout=seconds + 1))
