"""Next retry delay of a resolution (reference §5.11)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from .steps import RETRY_HOURS, RETRY_MINUTES, RETRY_SECONDS, Step

_HOUR = timedelta(hours=1)
_SECONDS_MIN = 8.0
_SECONDS_MAX = 600.0
_MINUTES_MAX = timedelta(minutes=30)
_HOURS_MAX = timedelta(hours=3)


def retry_delay(pattern: str, try_count: int) -> timedelta | None:
    """Backoff for one step; None for an unknown pattern (it does not take part, like in µTask)."""
    if pattern in (RETRY_SECONDS, ""):
        # jpillora/backoff ForAttempt: 8 s × 1.25^try, within [8 s, 10 min]
        secs = _SECONDS_MIN * (1.25 ** float(try_count)) if try_count < 200 else _SECONDS_MAX
        secs = min(max(secs, _SECONDS_MIN), _SECONDS_MAX)
        return timedelta(seconds=secs)
    if pattern == RETRY_MINUTES:
        ret = timedelta(minutes=1.6 * try_count)
        return min(ret, _MINUTES_MAX)
    if pattern == RETRY_HOURS:
        ret = _HOUR + (try_count - 1) * timedelta(minutes=10)
        return min(ret, _HOURS_MAX)
    return None


def next_retry(steps: Iterable[Step], now: datetime) -> datetime:
    """`now` + the shortest delay over retriable steps, starting from a cap of one hour."""
    from_now = _HOUR
    for st in steps:
        if st.is_retriable():
            delay = retry_delay(st.retry_pattern, st.try_count)
            if delay is not None and delay < from_now:
                from_now = delay
    return now + from_now
