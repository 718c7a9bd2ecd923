from datetime import datetime, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from analytics.alerts.services import alerts_evaluate
from analytics.dashboards.clusters import out_of_scope_clusters_compute_all
from analytics.dashboards.rollups import retention_apply, rollup_run
from analytics.dashboards.sections import sections_warm
from routing.models import Router


def _since(raw: str) -> datetime:
    """An ISO date/time, or a span back from now: 90d, 12h."""
    if raw[-1:] in ("d", "h") and raw[:-1].isdigit():
        unit = "days" if raw[-1] == "d" else "hours"
        return timezone.now() - timedelta(**{unit: int(raw[:-1])})
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise CommandError(
            f"--since {raw!r}: use an ISO date (2026-03-01) or a span (30d, 12h)."
        ) from None
    return moment if moment.tzinfo else timezone.make_aware(moment, timezone.get_default_timezone())


class Command(BaseCommand):
    help = (
        "Roll the decision log up into hourly and daily aggregates (what the dashboards read), "
        "find the new out-of-scope clusters and evaluate the alerts. Idempotent: an hour is "
        "rewritten from the raw log each time. Without --since it rewrites hours whose raw "
        "count changed (late rows), the last 2 hours and hours with new feedback; --since "
        "rewrites every hour from then."
    )

    def add_arguments(self, parser):
        parser.add_argument("--since", help="ISO date/time or a span back from now (30d, 12h).")
        parser.add_argument("--router", help="Only this router (slug).")
        parser.add_argument(
            "--retention",
            action="store_true",
            help="Also delete raw decisions older than SEMROUTE_DECISION_RETENTION_DAYS.",
        )
        parser.add_argument("--no-alerts", action="store_true", help="Do not evaluate alerts.")

    def handle(self, *args, since=None, router=None, retention=False, no_alerts=False, **options):
        router_ids = None
        if router:
            found = Router.objects.filter(slug=router).values_list("pk", flat=True)
            if not found:
                raise CommandError(f"No router {router!r}.")
            router_ids = list(found)
        report = rollup_run(since=_since(since) if since else None, router_ids=router_ids)
        for slug, hours in report.by_router.items():
            self.stdout.write(f"{slug}: {hours} hours rolled up")
        if retention:
            self.stdout.write(f"Retention: {retention_apply()} raw decisions deleted")
        clusters = out_of_scope_clusters_compute_all()
        self.stdout.write(f"New out-of-scope clusters: {clusters}")
        if not no_alerts:
            alerts = alerts_evaluate()
            sections_warm()
            self.stdout.write(
                f"Alerts: {alerts.open} open ({alerts.opened} new, {alerts.resolved} resolved)"
            )
