"""`manage.py evaluate ROUTER SET`: run a labelled set against a router version and gate on it.

SET is a stored set (id or name) or a CSV/JSONL file, so a CI job can keep its set in git.
Exit status: 0 every bar met, 1 under a bar, 2 the evaluation could not run.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from analytics.evaluations.models import LabelledSet, RunState
from analytics.evaluations.parsing import LabelledFileError, labelled_file_parse
from analytics.evaluations.services import (
    evaluation_run_create,
    evaluation_run_execute,
    labelled_set_from_examples,
)
from routing.exceptions import APIError
from routing.models import Intent, Router

UNDER_A_BAR = 1
CANNOT_RUN = 2


def _fail(message: str) -> CommandError:
    return CommandError(message, returncode=CANNOT_RUN)


class Command(BaseCommand):
    help = (
        "Evaluate a labelled set (stored set id or name, or a CSV/JSONL file) against a router "
        "version; exits 1 when a metric is under its bar, 2 when it cannot run."
    )

    def create_parser(self, prog_name, subcommand, **kwargs):
        # --version means the router version here, not Django's own version.
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)

    def add_arguments(self, parser):
        parser.add_argument("router", help="The router's slug.")
        parser.add_argument("set", help="A labelled set's id or name, or a .csv/.jsonl file.")
        parser.add_argument("--version", type=int, dest="router_version", help="Default: current.")
        parser.add_argument("--part", choices=["all", "held_out", "rest"], default="all")
        parser.add_argument("--min-accuracy", type=float, help="Bar for in-scope accuracy (0-1).")
        parser.add_argument("--min-oos-recall", type=float, help="Bar for out-of-scope recall.")
        parser.add_argument("--use-llm", action="store_true", help="Let the LLM stage decide.")
        parser.add_argument("--json", action="store_true", help="Print one JSON document.")

    def handle(self, *args, **options):
        router = Router.objects.filter(slug=options["router"]).first()
        if router is None:
            raise _fail(f"No router {options['router']!r}.")
        labelled_set = self._labelled_set(router, options["set"])
        try:
            run = evaluation_run_create(
                labelled_set=labelled_set,
                part=options["part"],
                version=options["router_version"],
                use_llm=options["use_llm"],
                author_label="manage.py evaluate",
                enqueue=False,
            )
        except APIError as exc:
            raise _fail(exc.message) from exc
        run = evaluation_run_execute(run_id=run.pk)
        if run.state != RunState.DONE:
            raise _fail(f"The evaluation {run.state}: {run.error}")
        bars = self._bars(run.metrics, options)
        if options["json"]:
            self.stdout.write(json.dumps(self._document(run, bars), indent=2))
        else:
            self._print(run, bars)
        if any(not bar["met"] for bar in bars):
            raise SystemExit(UNDER_A_BAR)

    def _labelled_set(self, router: Router, name: str) -> LabelledSet:
        path = Path(name)
        if path.suffix.lower() in (".csv", ".jsonl", ".json", ".ndjson") and path.is_file():
            names = Intent.objects.for_router(router).values_list("name", flat=True)
            try:
                parse = labelled_file_parse(
                    path.read_bytes(), filename=path.name, intent_names=names
                )
            except LabelledFileError as exc:
                raise _fail(str(exc)) from exc
            if parse.refused:
                for refusal in parse.refused[:20]:
                    self.stderr.write(f"line {refusal.line}: {refusal.as_dict()['reason']}")
                raise _fail(f"{len(parse.refused)} row(s) of {path.name} were refused.")
            try:
                return labelled_set_from_examples(
                    router=router,
                    examples=[(row.text, row.intent) for row in parse.rows],
                    name=path.name,
                )
            except APIError as exc:
                raise _fail(exc.message) from exc
        sets = LabelledSet.objects.confirmed().filter(router=router)
        found = sets.filter(pk=int(name)).first() if name.isdigit() else None
        found = found or sets.filter(name=name).order_by("-created_at").first()
        if found is None:
            raise _fail(f"Router {router.slug!r} has no confirmed labelled set {name!r}.")
        return found

    def _bars(self, metrics: dict, options: dict) -> list[dict]:
        bars = []
        for key, option in (
            ("in_scope_accuracy", "min_accuracy"),
            ("oos_recall", "min_oos_recall"),
        ):
            if options[option] is not None:
                value = metrics.get(key)
                met = value is not None and value >= options[option]
                bars.append({"metric": key, "min": options[option], "value": value, "met": met})
        return bars

    def _document(self, run, bars: list[dict]) -> dict:
        from analytics.evaluations.api import evaluation_body

        return {**evaluation_body(run), "seconds": run.seconds, "bars": bars}

    def _print(self, run, bars: list[dict]) -> None:
        m, s = run.metrics, run.suggestions
        self.stdout.write(
            f"{run.router.slug} v{run.version_number}: {m['queries']} queries "
            f"({m['in_scope_queries']} in scope) in {run.seconds:.1f} s"
        )
        for key, label in (
            ("in_scope_accuracy", "in-scope accuracy"),
            ("oos_recall", "out-of-scope recall"),
            ("oos_precision", "out-of-scope precision"),
            ("top1_accuracy", "top-1 accuracy"),
        ):
            value = m.get(key)
            self.stdout.write(f"  {label:24} {'-' if value is None else f'{value:.4f}'}")
        self.stdout.write(f"  suggested threshold      {s.get('threshold')}")
        for name, value in sorted(s.get("per_intent_thresholds", {}).items()):
            self.stdout.write(f"    {name}: {value}")
        for bar in bars:
            verdict = "ok" if bar["met"] else "UNDER THE BAR"
            self.stdout.write(f"  {bar['metric']} >= {bar['min']}: {verdict}")
