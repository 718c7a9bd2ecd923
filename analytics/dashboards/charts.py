"""Plotly figures of the dashboards' tables (analytics.dashboards.reports), and nothing else."""

from __future__ import annotations

from collections import defaultdict

import plotly.graph_objects as go

from analytics.charts import LAYOUT, figure_html
from analytics.dashboards.reports import Table

PALETTE = (
    "#3552d4",
    "#12b76a",
    "#f79009",
    "#d92d20",
    "#7a5af8",
    "#0ba5ec",
    "#98a2b3",
    "#ee46bc",
    "#667085",
)
GRID = "#eef0f3"


def _layout(
    figure: go.Figure, table: Table, *, x_title: str, y_title: str, height: int = 340
) -> go.Figure:
    figure.update_layout(
        **LAYOUT,
        height=height,
        title={"text": table.title, "font": {"size": 13}, "x": 0, "xanchor": "left"},
        legend={"orientation": "h", "x": 0, "y": -0.25, "yanchor": "top"},
        hovermode="x unified",
    )
    figure.update_layout(margin={"t": 40, "b": 10, "l": 10, "r": 10})
    figure.update_xaxes(title_text=x_title, automargin=True, gridcolor=GRID)
    figure.update_yaxes(title_text=y_title, automargin=True, gridcolor=GRID, rangemode="tozero")
    return figure


def _series(table: Table, x: str, series: str, value: str) -> dict[str, tuple[list, list]]:
    columns = {name: index for index, name in enumerate(table.columns)}
    grouped: dict[str, tuple[list, list]] = defaultdict(lambda: ([], []))
    for row in table.rows:
        xs, ys = grouped[str(row[columns[series]])]
        xs.append(row[columns[x]])
        ys.append(row[columns[value]])
    return dict(grouped)


def stacked_bars(table: Table, *, series: str, value: str, y_title: str) -> go.Figure:
    figure = go.Figure()
    for index, (name, (xs, ys)) in enumerate(_series(table, "time", series, value).items()):
        figure.add_bar(x=xs, y=ys, name=name, marker_color=PALETTE[index % len(PALETTE)])
    figure.update_layout(barmode="stack", bargap=0.15)
    return _layout(figure, table, x_title="Time (UTC)", y_title=y_title)


def lines(table: Table, *, series: str, value: str, y_title: str) -> go.Figure:
    figure = go.Figure()
    for index, (name, (xs, ys)) in enumerate(_series(table, "time", series, value).items()):
        figure.add_scatter(
            x=xs,
            y=ys,
            name=name,
            mode="lines+markers",
            line={"color": PALETTE[index % len(PALETTE)]},
        )
    return _layout(figure, table, x_title="Time (UTC)", y_title=y_title)


def cost_lines(table: Table) -> go.Figure:
    columns = {name: index for index, name in enumerate(table.columns)}
    xs = [row[0] for row in table.rows]
    figure = go.Figure()
    for index, name in enumerate(("estimated $", "baseline $", "actual $ (gateway)")):
        ys = [row[columns[name]] for row in table.rows]
        if any(y is not None for y in ys):
            label = {"baseline $": "everything on the most expensive tier $"}.get(name, name)
            figure.add_scatter(
                x=xs, y=ys, name=label, mode="lines+markers", line={"color": PALETTE[index]}
            )
    return _layout(figure, table, x_title="Time (UTC)", y_title="Cost (USD)")


def bars_with_interval(
    table: Table,
    *,
    category: str,
    series: str | None,
    value: str,
    low: str,
    high: str,
    y_title: str,
) -> go.Figure:
    columns = {name: index for index, name in enumerate(table.columns)}
    groups: dict[str, list[tuple]] = defaultdict(list)
    for row in table.rows:
        groups[str(row[columns[series]]) if series else value].append(row)
    figure = go.Figure()
    for index, (name, rows) in enumerate(groups.items()):
        ys = [row[columns[value]] for row in rows]
        figure.add_bar(
            x=[str(row[columns[category]]) for row in rows],
            y=ys,
            name=name,
            marker_color=PALETTE[index % len(PALETTE)],
            error_y={
                "type": "data",
                "symmetric": False,
                "array": [
                    (row[columns[high]] - y)
                    if y is not None and row[columns[high]] is not None
                    else 0
                    for row, y in zip(rows, ys, strict=True)
                ],
                "arrayminus": [
                    (y - row[columns[low]])
                    if y is not None and row[columns[low]] is not None
                    else 0
                    for row, y in zip(rows, ys, strict=True)
                ],
                "thickness": 1.2,
                "color": "#344054",
            },
        )
    figure.update_layout(barmode="group", bargap=0.25)
    return _layout(figure, table, x_title=category.title(), y_title=y_title)


def grouped_bars(
    table: Table, *, category: str, values: tuple[str, ...], y_title: str, series: str | None = None
) -> go.Figure:
    columns = {name: index for index, name in enumerate(table.columns)}
    figure = go.Figure()
    index = 0
    groups: dict[str, list[tuple]] = defaultdict(list)
    for row in table.rows:
        groups[str(row[columns[series]]) if series else ""].append(row)
    for group, rows in groups.items():
        for value in values:
            figure.add_bar(
                x=[str(row[columns[category]]) for row in rows],
                y=[row[columns[value]] for row in rows],
                name=f"{group} {value}".strip(),
                marker_color=PALETTE[index % len(PALETTE)],
            )
            index += 1
    figure.update_layout(barmode="group", bargap=0.25, hovermode="closest")
    return _layout(figure, table, x_title=category.title(), y_title=y_title)


CHARTS = {
    "traffic_tier": lambda t: stacked_bars(
        t, series="tier", value="decisions", y_title="Decisions"
    ),
    "traffic_intent": lambda t: stacked_bars(
        t, series="intent", value="decisions", y_title="Decisions"
    ),
    "languages": lambda t: grouped_bars(
        t, category="language", values=("decisions",), y_title="Decisions"
    ),
    "cost_time": cost_lines,
    "cost_tier": lambda t: bars_with_interval(
        t,
        category="tier",
        series=None,
        value="estimated $/query",
        low="low",
        high="high",
        y_title="Estimated USD per query",
    ),
    "latency_tier": lambda t: grouped_bars(
        t,
        category="tier",
        series="measure",
        values=("p50 ms", "p95 ms"),
        y_title="Latency (ms, log scale)",
    ).update_yaxes(type="log", rangemode="normal"),
    "latency_time": lambda t: lines(
        t, series="tier", value="p95 ms", y_title="p95 routing latency (ms)"
    ),
    "quality_overall": lambda t: bars_with_interval(
        t,
        category="measure",
        series=None,
        value="rate %",
        low="low %",
        high="high %",
        y_title="Rate (%)",
    ),
    "quality_tier": lambda t: bars_with_interval(
        t,
        category="tier",
        series="measure",
        value="rate %",
        low="low %",
        high="high %",
        y_title="Rate (%)",
    ),
    "quality_time": lambda t: lines(t, series="measure", value="rate %", y_title="Rate (%)"),
    "drift_intent": lambda t: grouped_bars(
        t, category="intent", values=("this week %", "previous %"), y_title="Share of decisions (%)"
    ),
    "drift_tier": lambda t: grouped_bars(
        t, category="tier", values=("this week %", "previous %"), y_title="Share of decisions (%)"
    ),
}


def chart_html(table: Table) -> str:
    """The table's figure as HTML, or "" when it has no chart or no rows."""
    build = CHARTS.get(table.key)
    if build is None or not table.rows:
        return ""
    return figure_html(build(table))
