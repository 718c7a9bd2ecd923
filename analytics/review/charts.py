"""Plotly figures of the live-quality page, from selectors' chart-ready data."""

from __future__ import annotations

import json

import plotly.graph_objects as go

from analytics.evaluations.charts import _LAYOUT, figure_html
from routing.console.charts import count_dtick


def review_confusion_figure(labels: list[str], counts: list[list[int]], *, cell_url: str) -> str:
    """Reviewed (rows) by decided (columns), right answers included; a click lists a cell's queries."""
    height = max(340, min(900, 30 * len(labels) + 180))
    figure = go.Figure(
        go.Heatmap(
            z=[[count or None for count in row] for row in counts],
            x=labels,
            y=labels,
            colorscale="Blues",
            text=[[str(count) if count else "" for count in row] for row in counts],
            texttemplate="%{text}",
            hovertemplate="reviewed %{y}<br>decided %{x}<br>%{z} decisions<extra></extra>",
            zmin=0,
            colorbar={
                "title": {"text": "decisions"},
                "tickformat": ",d",
                "dtick": count_dtick(max((max(row) for row in counts), default=1), ticks=5),
            },
        )
    )
    figure.update_layout(**_LAYOUT, height=height)
    figure.update_xaxes(title_text="decided intent", automargin=True, tickangle=-35)
    figure.update_yaxes(title_text="reviewed intent", automargin=True, autorange="reversed")
    # A click follows the same link as the table beside the chart (which works without JS).
    script = (
        "var plot = document.getElementById('{plot_id}');"
        "plot.on('plotly_click', function (event) { var p = event.points[0];"
        f"window.location = {json.dumps(cell_url)} + '?reviewed=' + encodeURIComponent(p.y)"
        " + '&decided=' + encodeURIComponent(p.x); });"
    )
    return figure_html(figure, post_script=script)
