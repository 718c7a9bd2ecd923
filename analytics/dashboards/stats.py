"""The small statistics the dashboards state with every number (plain Python)."""

from __future__ import annotations

import math
from collections.abc import Mapping

Z95 = 1.959963984540054


def wilson(successes: int, trials: int) -> tuple[float, float] | None:
    """95% Wilson score interval of a rate (None without trials)."""
    if trials <= 0:
        return None
    rate = successes / trials
    spread = Z95 * math.sqrt(rate * (1 - rate) / trials + Z95**2 / (4 * trials**2))
    centre = rate + Z95**2 / (2 * trials)
    scale = 1 + Z95**2 / trials
    return max(0.0, (centre - spread) / scale), min(1.0, (centre + spread) / scale)


def mean_interval(total: float, squares: float, samples: int) -> tuple[float, float, float] | None:
    """Mean and its 95% normal interval from a sum and a sum of squares (None without samples)."""
    if samples <= 0:
        return None
    mean = total / samples
    if samples == 1:
        return mean, mean, mean
    variance = max(0.0, (squares - samples * mean * mean) / (samples - 1))
    half = Z95 * math.sqrt(variance / samples)
    return mean, mean - half, mean + half


def jensen_shannon(p: Mapping[str, float], q: Mapping[str, float]) -> float | None:
    """Jensen-Shannon divergence (base 2, 0 = same, 1 = disjoint) of two count distributions."""
    p_total, q_total = sum(p.values()), sum(q.values())
    if p_total <= 0 or q_total <= 0:
        return None
    divergence = 0.0
    for key in set(p) | set(q):
        a, b = p.get(key, 0) / p_total, q.get(key, 0) / q_total
        middle = (a + b) / 2
        if a > 0:
            divergence += 0.5 * a * math.log2(a / middle)
        if b > 0:
            divergence += 0.5 * b * math.log2(b / middle)
    return min(1.0, max(0.0, divergence))
