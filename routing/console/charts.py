"""Plotly figures for the console pages, built from chart-ready data; rendered server-side as fragments."""

from __future__ import annotations

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
        title={"text": "Top intents: score vs threshold", "font": {"size": 13}},
        height=60 + 34 * max(len(names), 1),
        xaxis={"range": [0, 1], "gridcolor": "#eef0f3"},
        yaxis={"automargin": True},
        showlegend=True,
        legend={"orientation": "h", "y": -0.2},
        bargap=0.35,
    )
    return figure


def distribution_figure(by_intent: Mapping[str, int], by_tier: Mapping[str, int]) -> go.Figure:
    """Two bar charts side by side: decisions per intent and per tier."""
    figure = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=("Decisions per intent", "Decisions per tier"),
        column_widths=[0.65, 0.35],
    )
    figure.add_bar(
        x=list(by_intent),
        y=list(by_intent.values()),
        marker_color=ACCENT,
        row=1,
        col=1,
        hovertemplate="%{x}: %{y}<extra></extra>",
    )
    figure.add_bar(
        x=list(by_tier),
        y=list(by_tier.values()),
        marker_color="#12b76a",
        row=1,
        col=2,
        hovertemplate="%{x}: %{y}<extra></extra>",
    )
    figure.update_layout(**LAYOUT, height=320, showlegend=False)
    figure.update_layout(margin={"t": 40})
    return figure
