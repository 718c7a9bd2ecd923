"""Chart-ready aggregates of the decision log (console read-models live in routing/console/selectors.py)."""

from __future__ import annotations

from datetime import datetime, time

from django.utils import timezone


def today_start() -> datetime:
    """Local midnight today, timezone-aware: where "today's traffic" starts."""
    return timezone.make_aware(datetime.combine(timezone.localdate(), time.min))
