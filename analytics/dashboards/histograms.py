"""Log-spaced latency histograms: a percentile read from one is within 5% of the exact value.

Bucket i holds values in [FLOOR_MS * RATIO**i, FLOOR_MS * RATIO**(i+1)); a percentile is reported
as its bucket's geometric middle, so it is off by at most sqrt(RATIO) - 1 = 4.9% (relative) from
the nearest-rank percentile of the raw values. Values under FLOOR_MS go to bucket 0, values past
the last bucket (about 10 minutes) to the last one.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

FLOOR_MS = 0.01
RATIO = 1.1
LOG_RATIO = math.log(RATIO)
LAST_BUCKET = math.ceil(math.log(600_000 / FLOOR_MS) / LOG_RATIO)  # 189: about 10 minutes
RELATIVE_ERROR = math.sqrt(RATIO) - 1


def bucket_of(value_ms: float) -> int:
    if value_ms <= FLOOR_MS:
        return 0
    return min(int(math.log(value_ms / FLOOR_MS) / LOG_RATIO), LAST_BUCKET)


def bucket_middle(index: int) -> float:
    return FLOOR_MS * RATIO ** (index + 0.5)


def histogram_merge(histograms: Iterable[Mapping[str | int, int]]) -> dict[int, int]:
    """Add sparse histograms ({bucket: count}; JSON keys are strings)."""
    total: dict[int, int] = {}
    for histogram in histograms:
        for key, count in histogram.items():
            index = int(key)
            total[index] = total.get(index, 0) + count
    return total


def histogram_add(into: dict[int, int], histogram: Mapping[str | int, int]) -> None:
    for key, count in histogram.items():
        index = int(key)
        into[index] = into.get(index, 0) + count


def percentile(histogram: Mapping[int, int], q: float) -> float | None:
    """The q-th (0-100) nearest-rank percentile, or None for an empty histogram."""
    samples = sum(histogram.values())
    if samples == 0:
        return None
    rank = max(1, math.ceil(q / 100 * samples))
    seen = 0
    for index in sorted(histogram):
        seen += histogram[index]
        if seen >= rank:
            return bucket_middle(index)
    raise AssertionError("unreachable: rank <= samples")
