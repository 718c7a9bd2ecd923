"""Plotly figures of decision-log aggregates, drawn the way the console draws its own charts."""

from __future__ import annotations

from routing.console.charts import LAYOUT, figure_html

__all__ = ["LAYOUT", "figure_html"]
