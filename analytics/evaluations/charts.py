"""Plotly figures of an evaluation run, built server-side from reports' chart-ready data."""

from __future__ import annotations

import json

import plotly.graph_objects as go

ACCENT = "#3552d4"
MUTED = "#98a2b3"
THRESHOLD = "#d92d20"
_LAYOUT = {
    "template": "none",
    "margin": {"l": 10, "r": 10, "t": 30, "b": 10},
    "paper_bgcolor": "rgba(0,0,0,0)",
    "plot_bgcolor": "#fff",
    "font": {"family": "system-ui, sans-serif", "size": 12},
}
PLOT_CONFIG = {"displayModeBar": False, "responsive": True}


def figure_html(figure: go.Figure, post_script: str | None = None) -> str:
    """The figure as a <div> + script; plotly.js itself is loaded once by base.html."""
    return figure.to_html(
        full_html=False, include_plotlyjs=False, config=PLOT_CONFIG, post_script=post_script
    )


def _axes(figure: go.Figure, *, x: str, y: str) -> go.Figure:
    figure.update_xaxes(title_text=x, automargin=True)
    figure.update_yaxes(title_text=y, automargin=True)
    return figure


def confusion_figure(labels: list[str], counts: list[list[int]], *, cell_url: str) -> str:
    """Heatmap of the errors, expected (rows) by decided (columns); a click opens a cell's queries."""
    height = max(320, min(900, 28 * len(labels) + 160))
    # Right answers (the diagonal) are left blank: they would drown every error's colour.
    errors = [
        [None if i == j else (count or None) for j, count in enumerate(row)]
        for i, row in enumerate(counts)
    ]
    figure = go.Figure(
        go.Heatmap(
            z=errors,
            x=labels,
            y=labels,
            colorscale="Blues",
            hovertemplate="expected %{y}<br>decided %{x}<br>%{z} queries<extra></extra>",
            colorbar={"title": {"text": "queries"}},
        )
    )
    figure.update_layout(**_LAYOUT, height=height)
    figure.update_yaxes(autorange="reversed")
    _axes(figure, x="decided intent", y="expected intent")
    # A click follows the same link as the table below the chart (which works without JS).
    script = (
        "var plot = document.getElementById('{plot_id}');"
        "plot.on('plotly_click', function (event) { var p = event.points[0];"
        f"window.location = {json.dumps(cell_url)} + '?expected=' + encodeURIComponent(p.y)"
        " + '&predicted=' + encodeURIComponent(p.x); });"
    )
    return figure_html(figure, post_script=script)


def threshold_curve_figure(
    curve: list[dict], *, current: dict | None, suggested: dict | None
) -> str:
    """In-scope accuracy against out-of-scope recall as the router threshold moves."""
    figure = go.Figure()
    figure.add_scatter(
        x=[point["oos_recall"] for point in curve],
        y=[point["in_scope_accuracy"] for point in curve],
        mode="lines+markers",
        marker={"size": 4, "color": ACCENT},
        name="threshold sweep",
        customdata=[point["threshold"] for point in curve],
        hovertemplate="threshold %{customdata:.3f}<br>out-of-scope recall %{x:.1%}<br>"
        "in-scope accuracy %{y:.1%}<extra></extra>",
    )
    markers = (
        (current, "today", MUTED, "top left"),
        (suggested, "suggested", THRESHOLD, "bottom left"),
    )
    for point, name, color, position in markers:
        if point and point.get("threshold") is not None:
            figure.add_scatter(
                x=[point["oos_recall"]],
                y=[point["in_scope_accuracy"]],
                mode="markers+text",
                marker={"size": 12, "color": color, "symbol": "diamond"},
                text=[f"{name} {point['threshold']:.3f}"],
                textposition=position,
                name=name,
                hovertemplate=f"{name}: threshold {point['threshold']:.3f}<extra></extra>",
            )
    figure.update_layout(**_LAYOUT, height=380, legend={"orientation": "h", "y": -0.25})
    figure.update_xaxes(tickformat=".0%", range=[-0.02, 1.02])
    figure.update_yaxes(tickformat=".0%")
    _axes(figure, x="out-of-scope recall (%)", y="in-scope accuracy (%)")
    return figure_html(figure)


def reliability_figure(calibration: dict) -> str:
    """Accuracy per confidence bin, before and after recalibration, against the diagonal."""
    figure = go.Figure()
    figure.add_scatter(
        x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dot", "color": MUTED}, name="perfect"
    )
    for key, name, color in (("before", "as scored", ACCENT), ("after", "recalibrated", THRESHOLD)):
        bins = [b for b in calibration[key]["bins"] if b["count"]]
        figure.add_scatter(
            x=[b["confidence"] for b in bins],
            y=[b["accuracy"] for b in bins],
            mode="lines+markers",
            name=f"{name} (ECE {calibration[key]['ece'] or 0:.3f})",
            marker={"color": color},
            customdata=[b["count"] for b in bins],
            hovertemplate="confidence %{x:.2f}<br>right %{y:.1%}<br>%{customdata} queries"
            "<extra></extra>",
        )
    figure.update_layout(**_LAYOUT, height=340, legend={"orientation": "h", "y": -0.3})
    figure.update_xaxes(range=[0, 1])
    figure.update_yaxes(range=[0, 1], tickformat=".0%")
    _axes(figure, x="confidence of the top intent", y="share right (%)")
    return figure_html(figure)
