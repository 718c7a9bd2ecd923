"""Periodic dashboard work (Celery beat; each is also `manage.py rollup` for cron)."""

from __future__ import annotations

import logging

from celery import shared_task

from analytics.alerts.services import alerts_evaluate
from analytics.dashboards.clusters import out_of_scope_clusters_compute_all
from analytics.dashboards.rollups import retention_apply, rollup_run
from analytics.dashboards.sections import sections_warm

logger = logging.getLogger("semroute.dashboards")


@shared_task(name="analytics.dashboards.tasks.rollup_task", acks_late=True)
def rollup_task() -> dict:
    """Roll the hours that changed, evaluate the alerts on the new rollups, find the new
    out-of-scope clusters, then warm the pages (idempotent)."""
    report = rollup_run()
    alerts = alerts_evaluate()
    out_of_scope_clusters_compute_all()
    sections_warm()
    logger.info("Rolled %d hours of %d routers", report.hours_rewritten, report.routers)
    return {"hours_rewritten": report.hours_rewritten, "alerts_open": alerts.open}


@shared_task(name="analytics.dashboards.tasks.retention_task", acks_late=True)
def retention_task() -> int:
    return retention_apply()
