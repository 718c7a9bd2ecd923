"""`manage.py evaluate` exit codes and output; `manage.py config export/apply` round trips."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from routing.models import Router, RouterVersion
from tests.evaluations.conftest import DEMO_LABELLED


def evaluate(*args) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("evaluate", *args, stdout=out, stderr=io.StringIO())
    except SystemExit as exc:
        return exc.code, out.getvalue()
    except CommandError as exc:
        return exc.returncode, str(exc)
    return 0, out.getvalue()


def test_evaluate_prints_metrics_and_passes_its_bars(demo_set):
    code, out = evaluate("support", str(demo_set.pk), "--min-accuracy", "0.9")
    assert code == 0, out
    assert "in-scope accuracy" in out and "suggested threshold" in out


def test_evaluate_exits_1_under_a_bar_with_json(demo_set):
    code, out = evaluate("support", "demo", "--min-oos-recall", "1.01", "--json")
    assert code == 1
    document = json.loads(out)
    assert document["status"] == "done"
    assert document["bars"] == [
        {
            "metric": "oos_recall",
            "min": 1.01,
            "value": document["metrics"]["oos_recall"],
            "met": False,
        }
    ]
    assert set(document["metrics"]) >= {"in_scope_accuracy", "oos_recall", "per_intent"}


def test_evaluate_reads_a_csv_file_from_git(demo_router, tmp_path):
    path = tmp_path / "set.csv"
    path.write_text("text,intent\n" + "".join(f'"{t}",{i or "oos"}\n' for t, i in DEMO_LABELLED))
    code, out = evaluate("support", str(path), "--min-accuracy", "0.5", "--min-oos-recall", "0.5")
    assert code == 0, out


@pytest.mark.parametrize(
    "args",
    [
        ("nope", "demo"),
        ("support", "no-such-set"),
        ("support", "demo", "--version", "999"),
        ("support", "demo", "--part", "held_out"),  # no row is held out
    ],
)
def test_evaluate_exits_2_when_it_cannot_run(demo_set, args):
    code, message = evaluate(*args)
    assert code == 2 and message


def test_evaluate_exits_2_on_refused_rows_in_a_file(demo_router, tmp_path):
    path = tmp_path / "set.csv"
    path.write_text("text,intent\ncharged twice,nope\n")
    assert evaluate("support", str(path))[0] == 2


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_config_export_then_apply_round_trips_without_a_change(demo_router, tmp_path, fmt):
    path = tmp_path / f"support.{fmt}"
    call_command("config", "export", "support", "--format", fmt, "--output", str(path))
    versions = RouterVersion.objects.count()
    out = io.StringIO()
    call_command("config", "apply", str(path), stdout=out)
    assert "No changes" in out.getvalue()
    assert RouterVersion.objects.count() == versions


def test_config_apply_dry_run_shows_the_diff_and_changes_nothing(demo_router, tmp_path):
    out = io.StringIO()
    call_command("config", "export", "support", stdout=out)
    document = json.loads(out.getvalue())
    document["policy"]["threshold"] = 0.6
    path = tmp_path / "support.json"
    path.write_text(json.dumps(document))
    out = io.StringIO()
    call_command("config", "apply", str(path), "--dry-run", stdout=out)
    assert "policy.threshold: 0.35 -> 0.6" in out.getvalue()
    assert Router.objects.get().threshold == 0.35
    call_command("config", "apply", str(path), stdout=io.StringIO())
    assert Router.objects.get().threshold == 0.6
    assert RouterVersion.objects.order_by("-number").first().author_label == "file support.json"


@pytest.mark.parametrize(
    ("body", "name", "message"),
    [
        ("{not json", "x.json", "not valid JSON"),
        ("a: [", "x.yaml", "not valid YAML"),
        ("[1, 2]", "x.json", "must be an object"),
        ('{"slug": "support"}', "x.json", "problem"),
    ],
)
def test_config_apply_refuses_bad_files(demo_router, tmp_path, body, name, message):
    path = tmp_path / name
    path.write_text(body)
    versions = RouterVersion.objects.count()
    with pytest.raises(CommandError, match=message):
        call_command("config", "apply", str(path), stdout=io.StringIO(), stderr=io.StringIO())
    assert RouterVersion.objects.count() == versions


def test_config_export_unknown_router(db):
    with pytest.raises(CommandError, match="No router"):
        call_command("config", "export", "nope", stdout=io.StringIO())
