"""Plotly figures of the dashboards' tables (analytics.dashboards.reports), and nothing else.

Figures are plain plotly dicts rendered without validation: building them as go.Figure objects
took about 100 ms per chart (plotly validates every property), most of a page's time.
"""

from __future__ import annotations

from collections import defaultdict

import plotly.io as pio

from analytics.charts import LAYOUT
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
CONFIG = {"displayModeBar": False, "responsive": True}


def _axis(title: str, **extra) -> dict:
    return {"title": {"text": title}, "automargin": True, "gridcolor": GRID, **extra}


def _figure(traces: list[dict], table: Table, *, x_title: str, y_title: str, **layout) -> dict:
    return {
        "data": traces,
        "layout": {
            # A template is a name only go.Figure resolves; "none" (no template) is the default here.
            **{key: value for key, value in LAYOUT.items() if key != "template"},
            "height": 340,
            "margin": {"t": 40, "b": 10, "l": 10, "r": 10},
            "title": {"text": table.title, "font": {"size": 13}, "x": 0, "xanchor": "left"},
            "legend": {"orientation": "h", "x": 0, "y": -0.25, "yanchor": "top"},
            "hovermode": "x unified",
            "xaxis": _axis(x_title),
            "yaxis": _axis(y_title, rangemode="tozero"),
            **layout,
        },
    }


def _columns(table: Table) -> dict[str, int]:
    return {name: index for index, name in enumerate(table.columns)}


def _series(table: Table, x: str, series: str, value: str) -> dict[str, tuple[list, list]]:
    columns = _columns(table)
    grouped: dict[str, tuple[list, list]] = defaultdict(lambda: ([], []))
    for row in table.rows:
        xs, ys = grouped[str(row[columns[series]])]
        xs.append(row[columns[x]])
        ys.append(row[columns[value]])
    return dict(grouped)


def _color(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def stacked_bars(table: Table, *, series: str, value: str, y_title: str) -> dict:
    traces = [
        {"type": "bar", "x": xs, "y": ys, "name": name, "marker": {"color": _color(index)}}
        for index, (name, (xs, ys)) in enumerate(_series(table, "time", series, value).items())
    ]
    return _figure(
        traces, table, x_title="Time (UTC)", y_title=y_title, barmode="stack", bargap=0.15
    )


def lines(table: Table, *, series: str, value: str, y_title: str) -> dict:
    traces = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "x": xs,
            "y": ys,
            "name": name,
            "line": {"color": _color(index)},
        }
        for index, (name, (xs, ys)) in enumerate(_series(table, "time", series, value).items())
    ]
    return _figure(traces, table, x_title="Time (UTC)", y_title=y_title)


def cost_lines(table: Table) -> dict:
    columns = _columns(table)
    xs = [row[0] for row in table.rows]
    traces = []
    for index, name in enumerate(("estimated $", "baseline $", "actual $ (gateway)")):
        ys = [row[columns[name]] for row in table.rows]
        if any(y is not None for y in ys):
            label = {"baseline $": "everything on the most expensive tier $"}.get(name, name)
            traces.append(
                {
                    "type": "scatter",
                    "mode": "lines+markers",
                    "x": xs,
                    "y": ys,
                    "name": label,
                    "line": {"color": _color(index)},
                }
            )
    return _figure(traces, table, x_title="Time (UTC)", y_title="Cost (USD)")


def _error_bars(rows: list[tuple], ys: list, low: int, high: int) -> dict:
    def gap(a, b):
        return 0 if a is None or b is None else a - b

    return {
        "type": "data",
        "symmetric": False,
        "array": [gap(row[high], y) for row, y in zip(rows, ys, strict=True)],
        "arrayminus": [gap(y, row[low]) for row, y in zip(rows, ys, strict=True)],
        "thickness": 1.2,
        "color": "#344054",
    }


def bars_with_interval(
    table: Table,
    *,
    category: str,
    series: str | None,
    value: str,
    low: str,
    high: str,
    y_title: str,
    horizontal: bool = False,
) -> dict:
    """Bars with their interval; `horizontal` puts the categories on the y axis, one per line,
    so long names (the quality measures) read in full instead of slanting under a narrow plot."""
    columns = _columns(table)
    groups: dict[str, list[tuple]] = defaultdict(list)
    for row in table.rows:
        groups[str(row[columns[series]]) if series else value].append(row)
    traces = []
    for index, (name, rows) in enumerate(groups.items()):
        values = [row[columns[value]] for row in rows]
        categories = [str(row[columns[category]]) for row in rows]
        errors = _error_bars(rows, values, columns[low], columns[high])
        trace = {"type": "bar", "name": name, "marker": {"color": _color(index)}}
        if horizontal:
            trace.update(orientation="h", y=categories, x=values, error_x=errors)
        else:
            trace.update(x=categories, y=values, error_y=errors)
        traces.append(trace)
    layout = {
        "barmode": "group",
        "bargap": 0.25,
        "hovermode": "closest",
        "showlegend": series is not None,
    }
    if horizontal:
        layout.update(
            height=max(340, 60 + 28 * len(table.rows)),
            xaxis=_axis(y_title, rangemode="tozero"),
            # A standoff lets automargin place the title beside the long labels, not on them.
            yaxis={
                **_axis(category.title(), autorange="reversed"),
                "title": {"text": category.title(), "standoff": 12},
            },
        )
        return _figure(traces, table, x_title=y_title, y_title=category.title(), **layout)
    return _figure(traces, table, x_title=category.title(), y_title=y_title, **layout)


def grouped_bars(
    table: Table,
    *,
    category: str,
    values: tuple[str, ...],
    y_title: str,
    series: str | None = None,
    log: bool = False,
) -> dict:
    columns = _columns(table)
    groups: dict[str, list[tuple]] = defaultdict(list)
    for row in table.rows:
        groups[str(row[columns[series]]) if series else ""].append(row)
    traces = []
    for group, rows in groups.items():
        for value in values:
            traces.append(
                {
                    "type": "bar",
                    "x": [str(row[columns[category]]) for row in rows],
                    "y": [row[columns[value]] for row in rows],
                    "name": f"{group} {value}".strip(),
                    "marker": {"color": _color(len(traces))},
                }
            )
    figure = _figure(
        traces,
        table,
        x_title=category.title(),
        y_title=y_title,
        barmode="group",
        bargap=0.25,
        hovermode="closest",
        showlegend=len(traces) > 1,
    )
    if log:  # labels at powers of ten only: plotly's "2" and "5" between them read as values
        figure["layout"]["yaxis"].update(type="log", rangemode="normal", dtick=1)
    return figure


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
        log=True,
    ),
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
        horizontal=True,
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
    """The table's figure as a <div> + script (plotly.js loads once in base.html), or ""."""
    build = CHARTS.get(table.key)
    if build is None or not table.rows:
        return ""
    return pio.to_html(
        build(table), validate=False, full_html=False, include_plotlyjs=False, config=CONFIG
    )
