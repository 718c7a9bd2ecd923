"""The statistics against known cases (R's prop.test and t.test, the Wilson interval)."""

from __future__ import annotations

import statistics

import pytest

from analytics.experiments import stats

# R: t.test(extra ~ group, data = sleep) -> t = -1.8608, df = 17.776, p-value = 0.07939
SLEEP_1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0]
SLEEP_2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]


def test_welch_matches_r_on_the_sleep_data():
    result = stats.welch_t_test(
        statistics.mean(SLEEP_1),
        statistics.variance(SLEEP_1),
        10,
        statistics.mean(SLEEP_2),
        statistics.variance(SLEEP_2),
        10,
        minimum_sample=10,
    )
    assert result.statistic == pytest.approx(1.8608, abs=1e-4)
    assert result.df == pytest.approx(17.776, abs=1e-3)
    assert result.p_value == pytest.approx(0.07939, abs=1e-5)
    assert result.test == "Welch's t test (two-sided)"
    assert result.significant is False


def test_welch_refuses_below_its_minimum_sample():
    result = stats.welch_t_test(1.0, 1.0, 29, 2.0, 1.0, 100)
    assert (result.enough, result.p_value, result.minimum) == (
        False,
        None,
        "30 observations in each arm",
    )


def test_two_proportion_matches_r_prop_test():
    # R: prop.test(c(45, 60), c(100, 100), correct = FALSE) -> X-squared = 4.5113, p = 0.03367
    result = stats.two_proportion_z_test(45, 100, 60, 100)
    assert result.statistic**2 == pytest.approx(4.5113, abs=1e-4)
    assert result.p_value == pytest.approx(0.03367, abs=1e-5)
    assert result.significant is True


def test_two_proportion_needs_ten_successes_and_failures_per_arm():
    result = stats.two_proportion_z_test(9, 100, 30, 100)
    assert result.enough is False
    assert result.minimum == "10 successes and 10 failures in each arm"


def test_wilson_interval_known_values():
    assert stats.wilson_interval(0, 10) == (0.0, pytest.approx(0.27753, abs=1e-5))
    low, high = stats.wilson_interval(81, 263)  # Wikipedia's example: 0.2553 to 0.3662
    assert (low, high) == (pytest.approx(0.2553, abs=1e-4), pytest.approx(0.3662, abs=1e-4))
    assert stats.wilson_interval(0, 0) is None


def test_t_quantile_and_mean_interval():
    assert stats.student_t_quantile(0.975, 10) == pytest.approx(2.228139, abs=1e-6)
    values = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]
    low, high = stats.mean_interval(len(values), sum(values), sum(v * v for v in values))
    # mean 5, sd 2.138, t(0.975, 7) = 2.364624 -> 5 -/+ 1.7875
    assert (low, high) == (pytest.approx(3.2125, abs=1e-4), pytest.approx(6.7875, abs=1e-4))


def test_percentile_is_numpys_linear_method():
    assert stats.percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert stats.percentile([1.0, 2.0, 3.0, 4.0, 5.0], 0.95) == pytest.approx(4.8)
    assert stats.percentile([], 0.5) is None
