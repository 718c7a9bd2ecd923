"""Plotly figure of the cost-vs-quality curve (reports.curve_report's data in, HTML out)."""

from __future__ import annotations

import plotly.graph_objects as go

from analytics.evaluations.charts import _LAYOUT, ACCENT, MUTED, THRESHOLD, figure_html
from analytics.outcomes.reports import TierCurve


def cost_quality_figure(curve: TierCurve) -> str:
    """Quality kept against the share of calls to the best tier: the predictor, random, the target."""
    figure = go.Figure()
    figure.add_trace(
        go.Scatter(
            x=[share * 100 for share in curve.best_share],
            y=[quality * 100 for quality in curve.quality],
            mode="lines",
            name="quality predictor",
            line={"color": ACCENT, "width": 2},
            customdata=curve.thresholds,
            hovertemplate="%{x:.1f}% to "
            + curve.best_tier
            + "<br>quality %{y:.1f}%<br>threshold %{customdata:.3f}<extra></extra>",
        )
    )
    figure.add_trace(
        go.Scatter(
            x=[0, 100],
            y=[curve.random_quality[0] * 100, curve.random_quality[1] * 100],
            mode="lines",
            name="random routing",
            line={"color": MUTED, "dash": "dash"},
            hovertemplate="random: %{x:.1f}% to the best tier, quality %{y:.1f}%<extra></extra>",
        )
    )
    if curve.operating is not None:
        point = curve.operating
        figure.add_trace(
            go.Scatter(
                x=[point["best_share"] * 100],
                y=[point["quality"] * 100],
                mode="markers",
                name="operating point",
                marker={"color": THRESHOLD, "size": 11, "symbol": "diamond"},
                hovertemplate="at the target: %{x:.1f}% to the best tier, quality %{y:.1f}%"
                "<extra></extra>",
            )
        )
    figure.update_layout(
        **_LAYOUT,
        height=360,
        legend={"orientation": "h", "y": -0.25},
    )
    figure.update_xaxes(
        title_text=f"calls to {curve.best_tier} (%)", range=[0, 100], automargin=True
    )
    figure.update_yaxes(
        title_text=f"quality kept (% of {curve.best_tier}'s)", automargin=True, ticksuffix="%"
    )
    return figure_html(figure)
