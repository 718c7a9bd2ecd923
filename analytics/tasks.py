"""Celery finds tasks in <app>/tasks.py; the analytics rooms keep theirs next to their services."""

from analytics.alerts.tasks import webhook_retry_task  # noqa: F401, E402
from analytics.dashboards.tasks import retention_task, rollup_task  # noqa: F401, E402
from analytics.evaluations.tasks import evaluation_run_task  # noqa: F401
from analytics.experiments.tasks import judge_sample_task, judge_verdict_task  # noqa: F401, E402
from analytics.outcomes.tasks import quality_training_task  # noqa: F401
from analytics.review.tasks import review_intake_task  # noqa: F401
