import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from routing.models import ExampleSource, Router
from routing.services.config_apply import router_config_apply

DEMO_FILE = Path(__file__).resolve().parents[2] / "demo" / "support.json"


class Command(BaseCommand):
    help = (
        "Create the demo customer-support router when no router has its slug (an existing one, "
        "edited or not, is never touched). --reset reloads the demo over it on purpose."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Replace the existing demo router's configuration with the demo (a new version).",
        )
        parser.add_argument(
            "--yes", action="store_true", help="Do not ask for confirmation with --reset."
        )

    def handle(self, *args, reset: bool = False, yes: bool = False, **options):
        document = json.loads(DEMO_FILE.read_text())
        existing = Router.objects.filter(slug=document["slug"]).first()
        if existing is not None and not reset:
            self.stdout.write(
                f"Router '{existing.slug}' exists (version {existing.version}); left as it is. "
                "Use load_demo --reset to reload the demo over it."
            )
            return
        if existing is not None and not yes and not self._confirmed(existing):
            raise CommandError("Not reset.")
        result = router_config_apply(
            document=document,
            router=existing,
            summary="Reset to the demo configuration" if existing else "Loaded demo configuration",
            source=ExampleSource.SEED,
        )
        if result.problems:
            raise CommandError("; ".join(f"{p.field}: {p.message}" for p in result.problems))
        if result.applied:
            self.stdout.write(
                f"Loaded demo router '{result.router.slug}' as version {result.router.version}."
            )
        else:
            self.stdout.write(
                f"Demo router '{result.router.slug}' is up to date (version {result.router.version})."
            )

    def _confirmed(self, router: Router) -> bool:
        prompt = (
            f"Replace router '{router.slug}' (version {router.version}) with the demo? "
            "Its edits stay in the version history. [y/N] "
        )
        try:
            return input(prompt).strip().lower() in ("y", "yes")
        except EOFError:  # no terminal (CI, a pipe): never reset without --yes
            return False
