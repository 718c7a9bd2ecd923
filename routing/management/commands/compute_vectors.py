from django.core.management.base import BaseCommand

from routing.models import Router
from routing.vectors import example_vectors_compute


class Command(BaseCommand):
    help = "Compute missing or stale example vectors for every router (what the Celery task does)."

    def handle(self, *args, **options):
        for router in Router.objects.order_by("slug"):
            written = example_vectors_compute(router_id=router.pk)
            self.stdout.write(f"{router.slug}: {written} vector(s) computed")
