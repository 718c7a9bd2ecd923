"""The arrows point one way: analytics -> routing. routing reaches the decision log only through its hooks."""

import ast
from pathlib import Path

import pytest

ROUTING = Path(__file__).resolve().parents[2] / "routing"


def _imported_modules(source: str) -> list[str]:
    modules = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.append(node.module)
    return modules


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ("import analytics", ["analytics"]),
        ("from analytics.models import DecisionLog", ["analytics.models"]),
        ("def f():\n    from analytics import reports", ["analytics"]),
        ("import analytics_extra", ["analytics_extra"]),
    ],
)
def test_the_scanner_sees_top_level_and_late_imports(source, found):
    assert _imported_modules(source) == found


def test_routing_imports_nothing_from_analytics():
    offenders = [
        f"{path.relative_to(ROUTING.parent)}: {module}"
        for path in sorted(ROUTING.rglob("*.py"))
        for module in _imported_modules(path.read_text())
        if module == "analytics" or module.startswith("analytics.")
    ]
    assert len(list(ROUTING.rglob("*.py"))) > 30
    assert offenders == []


def test_console_views_modules_stay_small():
    sizes = {
        path.name: len(path.read_text().splitlines()) for path in (ROUTING / "console").glob("*.py")
    }
    assert sizes and max(sizes.values()) <= 260, sizes


def test_the_engine_imports_nothing_from_django_or_the_apps():
    forbidden = ("django", "ninja", "celery", "routing", "analytics", "semroute_site")
    offenders = [
        f"{path.relative_to(ROUTING.parent)}: {module}"
        for path in sorted((ROUTING / "engine").rglob("*.py"))
        for module in _imported_modules(path.read_text())
        if module.split(".")[0] in forbidden and not module.startswith("routing.engine")
    ]
    assert len(list((ROUTING / "engine").rglob("*.py"))) > 10
    assert offenders == []
