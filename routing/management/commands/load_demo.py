import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from routing.models import ExampleSource
from routing.services.config_apply import router_config_apply

DEMO_FILE = Path(__file__).resolve().parents[2] / "demo" / "support.json"


class Command(BaseCommand):
    help = "Load the demo customer-support router (idempotent: a second run changes nothing)."

    def handle(self, *args, **options):
        document = json.loads(DEMO_FILE.read_text())
        result = router_config_apply(
            document=document, summary="Loaded demo configuration", source=ExampleSource.SEED
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
