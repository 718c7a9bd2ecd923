"""Plotly figures of the experiments room, built server-side from results' plain data."""

from __future__ import annotations

import plotly.graph_objects as go

from analytics.evaluations.charts import _LAYOUT, ACCENT, MUTED, figure_html


def arm_cost_figure(results: list[dict]) -> str | None:
    """Cost per query of each arm with its 95% interval; None before any traffic."""
    rows = [r for r in results if r["cost_per_query_usd"]["value"] is not None]
    if not rows:
        return None
    values = [r["cost_per_query_usd"]["value"] * 1000 for r in rows]
    intervals = [r["cost_per_query_usd"]["interval"] for r in rows]
    plus = [(i[1] * 1000 - v) if i else 0 for i, v in zip(intervals, values, strict=True)]
    minus = [(v - i[0] * 1000) if i else 0 for i, v in zip(intervals, values, strict=True)]
    figure = go.Figure(
        go.Bar(
            x=[f"{r['arm']} (n={r['traffic']})" for r in rows],
            y=values,
            marker_color=[MUTED if r["control"] else ACCENT for r in rows],
            error_y={"type": "data", "array": plus, "arrayminus": minus, "visible": True},
            hovertemplate="%{x}: $%{y:.4f} per 1,000 queries<extra></extra>",
        )
    )
    figure.update_layout(**_LAYOUT, height=300, showlegend=False)
    figure.update_layout(margin={"l": 10, "r": 10, "t": 30, "b": 10})
    figure.update_xaxes(title_text="arm", automargin=True)
    figure.update_yaxes(title_text="USD per 1,000 queries (95% interval)", automargin=True)
    return figure_html(figure)
