from django.core.management.base import BaseCommand, CommandError

from routing.models import API_KEY_SCOPES, Router
from routing.services.api_keys import api_key_create


class Command(BaseCommand):
    help = "Create an API key and print it once (only its hash is stored)."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument(
            "--scope",
            action="append",
            dest="scopes",
            choices=API_KEY_SCOPES,
            help="Repeat for several scopes; default: route and feedback.",
        )
        parser.add_argument(
            "--router",
            action="append",
            dest="routers",
            default=[],
            help="Restrict the key to this router slug (repeatable); default: every router.",
        )

    def handle(self, *args, name, scopes, routers, **options):
        found = list(Router.objects.filter(slug__in=routers))
        missing = sorted(set(routers) - {router.slug for router in found})
        if missing:
            raise CommandError(f"Unknown router(s): {', '.join(missing)}")
        key, raw_key = api_key_create(
            name=name, scopes=scopes or ["route", "feedback"], routers=found
        )
        self.stdout.write(
            f"Created key {key.prefix} ({', '.join(key.scopes)}). Copy it now, it is not shown again:"
        )
        self.stdout.write(raw_key)
