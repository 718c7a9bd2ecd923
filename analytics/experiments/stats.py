"""The statistics of per-arm results: intervals and tests, plain math (no scipy here).

Every result says which test it used and the minimum sample it needs (STYLE: "an A/B result with
the test used"); below that minimum the test is not run and the result says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

Z_95 = 1.959963984540054
# Normal approximation of a difference in proportions: at least this many successes and
# failures in each arm (the usual success-failure condition).
MIN_PROPORTION_COUNT = 10
# Welch's t test on means: at least this many observations per arm.
MIN_MEAN_SAMPLE = 30

TWO_PROPORTION_TEST = "two-proportion z test (pooled, two-sided)"
WELCH_TEST = "Welch's t test (two-sided)"


@dataclass(frozen=True, slots=True)
class TestResult:
    test: str
    minimum: str  # the minimum sample, in words
    enough: bool  # the sample met the minimum (otherwise statistic and p_value are None)
    statistic: float | None = None
    p_value: float | None = None
    df: float | None = None  # degrees of freedom (Welch)

    @property
    def significant(self) -> bool:
        """p < 0.05 on a sample that met the minimum."""
        return self.enough and self.p_value is not None and self.p_value < 0.05


def normal_sf(z: float) -> float:
    """P(Z > z) for a standard normal Z."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def wilson_interval(successes: int, n: int, z: float = Z_95) -> tuple[float, float] | None:
    """Wilson score interval of a proportion (good near 0 and 1); None without observations."""
    if n <= 0:
        return None
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def two_proportion_z_test(successes_a: int, n_a: int, successes_b: int, n_b: int) -> TestResult:
    """Is rate B different from rate A? Pooled two-proportion z test, two-sided."""
    minimum = f"{MIN_PROPORTION_COUNT} successes and {MIN_PROPORTION_COUNT} failures in each arm"
    counts = (successes_a, n_a - successes_a, successes_b, n_b - successes_b)
    if min(counts) < MIN_PROPORTION_COUNT:
        return TestResult(TWO_PROPORTION_TEST, minimum, enough=False)
    pooled = (successes_a + successes_b) / (n_a + n_b)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    z = (successes_b / n_b - successes_a / n_a) / se
    return TestResult(TWO_PROPORTION_TEST, minimum, True, z, 2 * normal_sf(abs(z)))


def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    # Lentz's method for the incomplete beta's continued fraction (Numerical Recipes 6.4).
    tiny, eps = 1e-300, 3e-16
    qab, qap, qam = a + b, a + 1, a - 1
    c, d = 1.0, 1 - qab * x / qap
    d = 1 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 500):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1 + aa * d
        d = 1 / (d if abs(d) > tiny else tiny)
        c = 1 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1 + aa * d
        d = 1 / (d if abs(d) > tiny else tiny)
        c = 1 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1) < eps:
            break
    return h


def regularized_beta(a: float, b: float, x: float) -> float:
    """I_x(a, b), the regularized incomplete beta function."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log(1 - x)
    )
    if x < (a + 1) / (a + b + 2):
        return math.exp(log_front) * _beta_continued_fraction(a, b, x) / a
    return 1 - math.exp(log_front) * _beta_continued_fraction(b, a, 1 - x) / b


def student_t_sf(t: float, df: float) -> float:
    """P(T > t) for Student's t with `df` degrees of freedom."""
    tail = 0.5 * regularized_beta(df / 2, 0.5, df / (df + t * t))
    return tail if t >= 0 else 1 - tail


def student_t_quantile(probability: float, df: float) -> float:
    """The t with P(T <= t) = probability (bisection; for intervals, not the hot path)."""
    low, high = -1e3, 1e3
    for _ in range(200):
        middle = (low + high) / 2
        if 1 - student_t_sf(middle, df) < probability:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def mean_and_variance(n: int, total: float, total_squares: float) -> tuple[float, float]:
    """Mean and sample variance (n - 1) from a count, a sum and a sum of squares."""
    if n <= 0:
        return 0.0, 0.0
    mean = total / n
    if n < 2:
        return mean, 0.0
    return mean, max(0.0, (total_squares - n * mean * mean) / (n - 1))


def mean_interval(n: int, total: float, total_squares: float) -> tuple[float, float] | None:
    """95% t interval of a mean from its sums; None below two observations."""
    if n < 2:
        return None
    mean, variance = mean_and_variance(n, total, total_squares)
    half = student_t_quantile(0.975, n - 1) * math.sqrt(variance / n)
    return mean - half, mean + half


def welch_t_test(
    mean_a: float,
    variance_a: float,
    n_a: int,
    mean_b: float,
    variance_b: float,
    n_b: int,
    *,
    minimum_sample: int = MIN_MEAN_SAMPLE,
) -> TestResult:
    """Is mean B different from mean A? Welch's unequal-variance t test, two-sided."""
    minimum = f"{minimum_sample} observations in each arm"
    if min(n_a, n_b) < max(2, minimum_sample):
        return TestResult(WELCH_TEST, minimum, enough=False)
    share_a, share_b = variance_a / n_a, variance_b / n_b
    se = math.sqrt(share_a + share_b)
    if se == 0:
        same = mean_a == mean_b
        return TestResult(
            WELCH_TEST, minimum, True, 0.0 if same else math.inf, 1.0 if same else 0.0
        )
    t = (mean_b - mean_a) / se
    df = (share_a + share_b) ** 2 / (share_a**2 / (n_a - 1) + share_b**2 / (n_b - 1))
    return TestResult(WELCH_TEST, minimum, True, t, 2 * student_t_sf(abs(t), df), df)


def percentile(sorted_values: list[float], fraction: float) -> float | None:
    """Linear-interpolated percentile of already sorted values (numpy's default method)."""
    if not sorted_values:
        return None
    position = (len(sorted_values) - 1) * fraction
    below = math.floor(position)
    above = min(below + 1, len(sorted_values) - 1)
    weight = position - below
    return sorted_values[below] * (1 - weight) + sorted_values[above] * weight
