"""Configuration as files: `config export ROUTER [--format yaml|json]` and `config apply FILE
[--dry-run]`, the same document, validation and diff as GET/PUT /api/v1/routers/{slug}/config."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from routing.config_io import router_config_export
from routing.models import Router
from routing.services.config_apply import router_config_apply

FORMATS = ("json", "yaml")


def _yaml():
    try:
        import yaml
    except ImportError as exc:  # pragma: no cover - PyYAML is a dependency
        raise CommandError("YAML needs PyYAML (pip install pyyaml); use --format json.") from exc
    return yaml


def document_dump(document: dict, fmt: str) -> str:
    if fmt == "yaml":
        return _yaml().safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def document_load(text: str, *, name: str):
    """A JSON or YAML document (YAML for .yaml/.yml names); CommandError naming the problem."""
    try:
        if name.lower().endswith((".yaml", ".yml")):
            yaml = _yaml()
            try:
                return yaml.safe_load(text)
            except yaml.YAMLError as exc:
                raise CommandError(f"{name} is not valid YAML: {exc}") from exc
        return json.loads(text)
    except ValueError as exc:
        raise CommandError(f"{name} is not valid JSON: {exc}") from exc


class Command(BaseCommand):
    help = "Export a router's configuration to a file, or apply a file as one new version."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        export = actions.add_parser("export", help="Print (or write) a router's configuration.")
        export.add_argument("router", help="The router's slug.")
        export.add_argument("--format", choices=FORMATS, default="json")
        export.add_argument("--output", "-o", help="Write to this file instead of stdout.")
        apply = actions.add_parser("apply", help="Apply a configuration file as one new version.")
        apply.add_argument("file", help="A JSON or YAML (.yaml/.yml) document; - reads stdin.")
        apply.add_argument(
            "--dry-run", action="store_true", help="Show the diff and problems only."
        )

    def handle(self, *args, action: str, **options):
        if action == "export":
            return self._export(options["router"], options["format"], options.get("output"))
        return self._apply(options["file"], dry_run=options["dry_run"])

    def _export(self, slug: str, fmt: str, output: str | None) -> None:
        router = Router.objects.filter(slug=slug).first()
        if router is None:
            raise CommandError(f"No router {slug!r}.")
        text = document_dump(router_config_export(router), fmt)
        if output:
            Path(output).write_text(text, encoding="utf-8")
            self.stderr.write(f"Wrote {router.slug} v{router.version} to {output}.")
        else:
            self.stdout.write(text, ending="")

    def _apply(self, file: str, *, dry_run: bool) -> None:
        if file == "-":
            text, name = sys.stdin.read(), "stdin"
        else:
            path = Path(file)
            if not path.is_file():
                raise CommandError(f"No file {file}.")
            text, name = path.read_text(encoding="utf-8"), path.name
        document = document_load(text, name=name)
        if not isinstance(document, dict):
            raise CommandError("The configuration must be an object (a mapping).")
        result = router_config_apply(
            document=document, dry_run=dry_run, author_label=f"file {name}"[:200]
        )
        for problem in result.problems:
            self.stderr.write(
                f"problem: {problem.as_dict()['field'] or '(document)'}: "
                f"{problem.as_dict()['message']}"
            )
        if result.problems:
            raise CommandError(f"{len(result.problems)} problem(s); nothing was applied.")
        for change in result.changes:
            self.stdout.write(f"  {change}")
        if dry_run:
            self.stdout.write(f"Dry run: {len(result.changes)} change(s), nothing applied.")
        elif result.applied:
            self.stdout.write(f"Applied as {result.router.slug} version {result.router.version}.")
        else:
            self.stdout.write("No changes; nothing applied.")
