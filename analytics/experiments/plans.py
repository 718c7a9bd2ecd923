"""The running experiment of a router as routing sees it (hooks.experiment_for), cached per worker.

A worker re-checks a router's running experiment at most every CHECK_SECONDS with one indexed
query and rebuilds the plan only when the experiment or its update time changed, so a routing
call pays a dict lookup. A change made in this worker is seen at once (plans_forget); in others
within CHECK_SECONDS, the same lag as a configuration change.
"""

from __future__ import annotations

import logging
import time

from django.db import DatabaseError

from analytics.evaluations.versions import version_snapshot_build
from analytics.experiments.models import Experiment, Status
from routing.engine import CompiledRouter, compile_router
from routing.engine.experiments import ArmPlan, ExperimentPlan
from routing.models import Router
from routing.runtime import runtime_cache
from routing.snapshots import compiled_router

logger = logging.getLogger("semroute.experiments")

CHECK_SECONDS = 0.5

# router id -> (checked at, (experiment id, updated_at) or None, plan or None)
_plans = runtime_cache("experiment_plans", max_entries=1024)
# (router id, version number, version row time) -> compiled earlier version an arm routes with
_versions = runtime_cache("experiment_versions", max_entries=16)


def version_compiled(router: Router, number: int) -> CompiledRouter:
    """The compiled router of version `number`: the live one when it is the current version."""
    if number == router.version:
        return compiled_router(router, allow_stale=True)
    return _versions.get_or_set(
        (router.pk, number), lambda: compile_router(version_snapshot_build(router, number))
    )


def _version_arm(number: int):
    return lambda router: version_compiled(router, number)


def plan_build(experiment: Experiment) -> ExperimentPlan:
    arms = {
        arm.name: ArmPlan(
            name=arm.name,
            control=arm.control,
            version=arm.version,
            policy_changes=dict(arm.policy or {}),
            compiled=_version_arm(arm.version) if arm.version is not None else None,
        )
        for arm in experiment.arms.all()
    }
    return ExperimentPlan(
        id=experiment.pk,
        name=experiment.name,
        sticky_by=experiment.sticky_by,
        ranges=tuple((start, end, name) for start, end, name in experiment.allocation),
        arms=arms,
    )


def experiment_for(router: Router) -> ExperimentPlan | None:
    """The plan of `router`'s running experiment, or None (installed as hooks.experiment_for)."""
    now = time.monotonic()
    entry = _plans.get(router.pk)
    if entry is not None and now - entry[0] < CHECK_SECONDS:
        return entry[2]
    try:
        row = (
            Experiment.objects.filter(router_id=router.pk, status=Status.RUNNING)
            .values_list("pk", "updated_at")
            .first()
        )
        if entry is not None and entry[1] == row:
            plan = entry[2]
        elif row is None:
            plan = None
        else:
            plan = plan_build(Experiment.objects.prefetch_related("arms").get(pk=row[0]))
    except (DatabaseError, Experiment.DoesNotExist):
        # Routing goes on with what this worker knew; the next call checks again.
        logger.warning("experiment lookup for router %s failed", router.pk, exc_info=True)
        return entry[2] if entry is not None else None
    _plans.set(router.pk, (now, row, plan))
    return plan


def plans_forget(router_id: int) -> None:
    """This worker sees the router's experiment change on its next routing call."""
    _plans.pop(router_id)
