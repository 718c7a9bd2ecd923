"""Console charts keep their labels: automargin on every axis, whole-number count ticks, axis titles."""

import pytest

from routing.console.charts import count_dtick, distribution_figure, intent_scores_figure
from routing.engine.decision import IntentScore

LONG = "refund_not_showing_up_in_my_bank_account_after_the_return_was_received"
BY_INTENT = {"billing": 3, LONG: 5, "cancel_subscription": 2, "no intent": 1}
BY_TIER = {"gpt-4o-mini": 9, "claude-sonnet-4-20250514": 2}


def _axes(figure):
    layout = figure.layout
    return {name: layout[name] for name in layout if name.startswith(("xaxis", "yaxis"))}


def test_every_axis_of_the_batch_chart_has_automargin_and_a_title():
    axes = _axes(distribution_figure(BY_INTENT, BY_TIER))
    assert set(axes) == {"xaxis", "xaxis2", "yaxis", "yaxis2"}
    for name, axis in axes.items():
        assert axis.automargin is True, name
        assert axis.title.text, name
    assert (axes["xaxis"].title.text, axes["xaxis2"].title.text) == ("Intent", "Tier")


def test_count_axes_tick_whole_numbers_from_zero():
    axes = _axes(distribution_figure(BY_INTENT, BY_TIER))
    for name in ("yaxis", "yaxis2"):
        assert axes[name].tickformat == ",d" and axes[name].rangemode == "tozero"
        assert isinstance(axes[name].dtick, int) and axes[name].dtick >= 1
    assert (axes["yaxis"].dtick, axes["yaxis2"].dtick) == (1, 2)


@pytest.mark.parametrize(
    ("largest", "step"),
    [(0, 1), (1, 1), (5, 1), (6, 1), (7, 2), (12, 2), (13, 5), (30, 5), (31, 10), (500, 100)],
)
def test_count_ticks_step_through_1_2_5_10(largest, step):
    assert count_dtick(largest) == step


def test_long_intent_names_are_shortened_on_the_axis_but_whole_in_the_hover():
    figure = distribution_figure(BY_INTENT, BY_TIER)
    axis = figure.layout.xaxis
    assert list(axis.tickvals) == list(BY_INTENT)
    assert all(len(label) <= 28 for label in axis.ticktext)
    assert axis.ticktext[1].endswith("…") and LONG.startswith(axis.ticktext[1][:-1])
    assert list(figure.data[0].x)[1] == LONG and axis.tickangle == -35
    assert figure.layout.height > 320  # room below the bars for the slanted labels


def test_short_names_stay_level():
    figure = distribution_figure({"a": 1, "b": 2}, {"t": 3})
    assert figure.layout.xaxis.tickangle == 0 and figure.layout.height == 300 + 4


def test_the_score_chart_keeps_long_names_and_titles_its_axis():
    scores = [IntentScore(LONG, 0.8, 0.4), IntentScore("billing", 0.3, 0.4)]
    figure = intent_scores_figure(scores, chosen=LONG)
    assert figure.layout.xaxis.automargin and figure.layout.yaxis.automargin
    assert figure.layout.xaxis.title.text == "Score (0-1)"
    assert all(len(label) <= 28 for label in figure.layout.yaxis.ticktext)
