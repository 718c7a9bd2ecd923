"""The dashboards' time range: a preset (24h, 7d, 30d, 90d, this month) or from/to dates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.utils import timezone

PRESETS = {
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "90d": timedelta(days=90),
}
PRESET_LABELS = {
    "24h": "Last 24 hours",
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "90d": "Last 90 days",
    "month": "This month",
    "custom": "From / to",
}
DEFAULT = "7d"
LONGEST = timedelta(days=400)


@dataclass(frozen=True)
class Span:
    start: datetime  # inclusive, on an hour
    end: datetime  # exclusive
    bucket: str = "day"  # "hour" or "day"
    include_console: bool = False  # playground and console decisions too
    preset: str = DEFAULT

    def query(self) -> str:
        """The GET parameters that name this span (for CSV links)."""
        if self.preset == "custom":
            last = (self.end - timedelta(days=1)).date()
            params = f"range=custom&from={self.start.date()}&to={last}"
        else:
            params = f"range={self.preset}"
        params += f"&bucket={self.bucket}"
        return params + ("&console=1" if self.include_console else "")


def _hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _day(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return None


def span_from(params, *, now: datetime | None = None) -> tuple[Span, list[str]]:
    """The span the GET parameters ask for and the problems found (a bad value falls back to 7d)."""
    now = (now or timezone.now()).astimezone(UTC)
    problems: list[str] = []
    preset = params.get("range") or DEFAULT
    end = _hour(now) + timedelta(hours=1)
    if preset in PRESETS:
        start = end - PRESETS[preset]
    elif preset == "month":
        start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    elif preset == "custom":
        first, last = _day(params.get("from", "")), _day(params.get("to", ""))
        if first is None or last is None:
            problems.append("From and to must be dates (YYYY-MM-DD); showing the last 7 days.")
        elif last < first:
            problems.append("To is before from; showing the last 7 days.")
        elif last - first > LONGEST:
            problems.append(f"At most {LONGEST.days} days at once; showing the last 7 days.")
        else:
            start = datetime.combine(first, time.min, tzinfo=UTC)
            end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=UTC)
        if problems:
            preset, start = DEFAULT, end - PRESETS[DEFAULT]
    else:
        problems.append(f"Unknown range {preset[:20]!r}; showing the last 7 days.")
        preset, start = DEFAULT, end - PRESETS[DEFAULT]
    bucket = params.get("bucket") or ("hour" if end - start <= timedelta(days=2) else "day")
    if bucket not in ("hour", "day"):
        problems.append("Bucket is hour or day; using day.")
        bucket = "day"
    if bucket == "hour" and end - start > timedelta(days=31):
        problems.append("Hourly buckets for at most 31 days; using days.")
        bucket = "day"
    include_console = params.get("console") == "1"
    return Span(start, end, bucket, include_console, preset), problems
