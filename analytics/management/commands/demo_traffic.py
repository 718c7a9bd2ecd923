from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from analytics.dashboards.demo_traffic import (
    DemoTrafficRefused,
    demo_traffic_generate,
    demo_traffic_remove,
)
from analytics.models import DecisionLog
from routing.models import Router


class Command(BaseCommand):
    help = (
        "Generate 30 days of demo traffic for a router (the demo's by default) through the real "
        "routing engine, marked as demo, with some gateway answers, feedback and re-asks; "
        "--remove deletes it. Never with DEBUG=0."
    )

    def add_arguments(self, parser):
        parser.add_argument("--router", default="support", help="Router slug (default: support).")
        parser.add_argument("--count", type=int, default=2500, help="Decisions (default 2500).")
        parser.add_argument("--days", type=int, default=30, help="Days back (default 30).")
        parser.add_argument("--remove", action="store_true", help="Delete the demo traffic.")
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Only when the router has no decision at all, and silently skip with DEBUG=0 "
            "(what `make run` uses on a fresh database).",
        )

    def handle(
        self, *args, router="support", count=2500, days=30, remove=False, if_empty=False, **options
    ):
        target = Router.objects.filter(slug=router).first()
        if target is None:
            raise CommandError(
                f"No router {router!r}; `manage.py load_demo` creates the demo router."
            )
        if remove:
            removed, feedback = demo_traffic_remove(router=target)
            self.stdout.write(f"Removed {removed} demo decisions and {feedback} feedback rows.")
            return
        if if_empty and (not settings.DEBUG or DecisionLog.objects.filter(router=target).exists()):
            return
        if not 1 <= count <= 100_000 or not 1 <= days <= 365:
            raise CommandError("--count is 1 to 100000 and --days 1 to 365.")
        try:
            report = demo_traffic_generate(router=target, count=count, days=days)
        except DemoTrafficRefused as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"Generated {report.decisions} demo decisions ({report.feedback} with feedback) over "
            f"{days} days for '{target.slug}'; rolled up {report.hours_rolled} hours. "
            "`manage.py demo_traffic --remove` deletes them."
        )
