"""Celery finds tasks in <app>/tasks.py; the analytics rooms keep theirs next to their services."""

from analytics.evaluations.tasks import evaluation_run_task  # noqa: F401
from analytics.experiments.tasks import judge_verdict_task  # noqa: F401, E402
