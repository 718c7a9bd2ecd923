"""Plotly figures for the console pages, built from chart-ready data; rendered server-side as fragments."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from routing.engine.decision import IntentScore

ACCENT = "#3552d4"
MUTED = "#98a2b3"
THRESHOLD = "#d92d20"
LAYOUT = {
    "template": "none",  # the default template adds ~8 kB of JSON to every figure
    "margin": {"l": 10, "r": 10, "t": 30, "b": 10},
    "paper_bgcolor": "rgba(0,0,0,0)",
    "plot_bgcolor": "#fff",
    "font": {"family": "system-ui, sans-serif", "size": 12},
}


def figure_html(figure: go.Figure) -> str:
    """The figure as a <div> + script; plotly.js itself is loaded once by base.html."""
    return figure.to_html(
        full_html=False,
        include_plotlyjs=False,
        config={"displayModeBar": False, "responsive": True},
    )


MAX_TICK_CHARS = 28  # longer names are shortened on the axis; the hover shows them whole


def _tick_label(name: str) -> str:
    return name if len(name) <= MAX_TICK_CHARS else name[: MAX_TICK_CHARS - 1] + "…"


def intent_scores_figure(scores: Sequence[IntentScore], *, chosen: str | None) -> go.Figure:
    """Horizontal bars of the top intents' scores, each with its threshold marked."""
    names = [score.intent for score in scores][::-1]
    values = [score.score for score in scores][::-1]
    thresholds = [score.threshold for score in scores][::-1]
    figure = go.Figure()
    figure.add_bar(
        y=names,
        x=values,
        orientation="h",
        name="score",
        marker_color=[ACCENT if name == chosen else MUTED for name in names],
        text=[f"{value:.2f}" for value in values],
        textposition="auto",
        hovertemplate="%{y}: %{x:.3f}<extra></extra>",
    )
    figure.add_scatter(
        y=names,
        x=thresholds,
        mode="markers",
        name="threshold",
        marker={"symbol": "line-ns-open", "size": 22, "color": THRESHOLD, "line": {"width": 3}},
        hovertemplate="threshold %{x:.2f}<extra></extra>",
    )
    figure.update_layout(
        **LAYOUT,
        title={
            "text": "Top intents: score vs threshold",
            "font": {"size": 13},
            "x": 0,
            "xanchor": "left",
        },
        height=100 + 34 * max(len(names), 1),
        xaxis={
            "range": [0, 1],
            "gridcolor": "#eef0f3",
            "automargin": True,
            "title": {"text": "Score (0-1)"},
        },
        yaxis={
            "automargin": True,
            "type": "category",
            "tickmode": "array",
            "tickvals": names,
            "ticktext": [_tick_label(name) for name in names],
        },
        showlegend=True,
        legend={"orientation": "h", "x": 1, "xanchor": "right", "y": 1.02, "yanchor": "bottom"},
        bargap=0.35,
    )
    figure.update_layout(margin={"t": 40})
    return figure


def count_dtick(largest: int, *, ticks: int = 6) -> int:
    """A whole-number tick step giving about `ticks` ticks up to `largest` (1, 2, 5, 10, 20, ...)."""
    step = 1
    for factor in itertools.cycle((2, 2.5, 2)):  # 1, 2, 5, 10, 20, 50, ...
        if largest <= ticks * step:
            return step
        step = round(step * factor)
    raise AssertionError("unreachable")


def distribution_figure(by_intent: Mapping[str, int], by_tier: Mapping[str, int]) -> go.Figure:
    """Two bar charts side by side: decisions per intent and per tier (whole-number counts)."""
    figure = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=("Decisions per intent", "Decisions per tier"),
        column_widths=[0.65, 0.35],
        horizontal_spacing=0.12,
    )
    for col, counts, color, axis_title in (
        (1, by_intent, ACCENT, "Intent"),
        (2, by_tier, "#12b76a", "Tier"),
    ):
        names = list(counts)
        figure.add_bar(
            x=names,
            y=list(counts.values()),
            marker_color=color,
            text=list(counts.values()),
            textposition="auto",
            row=1,
            col=col,
            hovertemplate="%{x}: %{y} decisions<extra></extra>",
        )
        figure.update_xaxes(
            title_text=axis_title,
            automargin=True,
            type="category",
            tickangle=-35 if any(len(name) > 8 for name in names) else 0,
            tickmode="array",
            tickvals=names,
            ticktext=[_tick_label(name) for name in names],
            row=1,
            col=col,
        )
        figure.update_yaxes(
            title_text="Decisions",
            automargin=True,
            rangemode="tozero",
            tickformat=",d",
            dtick=count_dtick(max(counts.values(), default=1)),
            gridcolor="#eef0f3",
            row=1,
            col=col,
        )
    longest = max((len(_tick_label(name)) for name in [*by_intent, *by_tier]), default=0)
    # Room for slanted labels below the bars: ~4 px per character at -35 degrees.
    figure.update_layout(**LAYOUT, height=300 + 4 * longest, showlegend=False, bargap=0.3)
    figure.update_layout(margin={"t": 40})
    return figure
