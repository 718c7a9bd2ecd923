"""Experiment workflows: create (and start), pause, resume, stop, change weights, promote.

The API and the console both call these. Each change forgets this worker's cached plan, so the
next routing call here uses it; other workers see it within plans.CHECK_SECONDS.
"""

from __future__ import annotations

import re
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from pydantic import ValidationError as PydanticValidationError

from analytics.experiments.exceptions import ExperimentConflict
from analytics.experiments.models import ENDED, Experiment, ExperimentArm, Status
from analytics.experiments.plans import plans_forget, version_compiled
from routing.config_io import router_config_export
from routing.config_schema import POLICY_DEFAULTS, PolicyDoc
from routing.engine.errors import SnapshotError
from routing.engine.experiments import (
    CONTROL_ARM,
    STICKY_KEYS,
    allocation_new,
    allocation_rebalance,
    experiment_shares,
)
from routing.exceptions import InvalidInput
from routing.models import Router, RouterVersion
from routing.services.config_apply import router_config_apply
from routing.services.versioning import user_or_none
from routing.snapshots import compiled_router, policy_with_changes
from routing.vectors import active_encoder

MAX_ARMS = 8
MAX_WEIGHT = 1000.0
MAX_CONTROL_PERCENT = 50.0
ARM_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
POLICY_CHANGE_FIELDS = frozenset(Router.POLICY_FIELDS)


def _problem(field: str, message: str) -> dict[str, str]:
    return {"field": field, "message": message}


def _refuse(problems: list[dict[str, str]]) -> None:
    if problems:
        raise InvalidInput(
            f"The experiment has {len(problems)} problem(s): {problems[0]['message']}",
            details={"problems": problems},
        )


def arm_policy_check(router: Router, *, version: int | None, policy: dict[str, Any]) -> str:
    """'' when the arm can route (version exists, policy valid over it), else what is wrong."""
    unknown = sorted(set(policy) - POLICY_CHANGE_FIELDS)
    if unknown:
        return (
            f"unknown policy field(s) {', '.join(unknown)}; use {', '.join(Router.POLICY_FIELDS)}"
        )
    try:
        PolicyDoc.model_validate({**POLICY_DEFAULTS, **policy})
    except PydanticValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        return f"policy {where}: {first['msg']}"
    if (
        version is not None
        and not RouterVersion.objects.filter(router=router, number=version).exists()
    ):
        return f"router {router.slug!r} has no version {version}"
    try:
        compiled = (
            version_compiled(router, version) if version is not None else compiled_router(router)
        )
        arm = policy_with_changes(compiled.snapshot.policy, policy)
        compiled.route_batch([], encoder=active_encoder(), llm=None, cache=None, policy=arm)
    except (SnapshotError, TypeError, ValueError) as error:
        return f"this arm cannot route: {error}"
    return ""


def _arms_check(router: Router, arms: list[dict[str, Any]]) -> list[dict[str, str]]:
    problems = []
    if not 1 <= len(arms) <= MAX_ARMS:
        problems.append(_problem("arms", f"give 1 to {MAX_ARMS} arms (got {len(arms)})."))
    names = [arm.get("name", "") for arm in arms]
    for index, arm in enumerate(arms):
        where = f"arms.{index}"
        name = arm.get("name", "")
        if not ARM_NAME.fullmatch(name or ""):
            problems.append(_problem(f"{where}.name", "use 1-64 letters, digits, '_', '.' or '-'."))
        elif name.lower() == CONTROL_ARM:
            problems.append(_problem(f"{where}.name", "'control' is the control arm's name."))
        elif names.count(name) > 1:
            problems.append(_problem(f"{where}.name", f"arm name {name!r} is used twice."))
        weight = arm.get("weight", 1.0)
        if not (isinstance(weight, int | float) and 0 < weight <= MAX_WEIGHT):
            problems.append(
                _problem(f"{where}.weight", f"a weight is above 0, at most {MAX_WEIGHT:g}.")
            )
        message = arm_policy_check(
            router, version=arm.get("version"), policy=arm.get("policy") or {}
        )
        if message:
            problems.append(_problem(where, message))
    return problems


def experiment_create(
    *,
    router: Router,
    name: str,
    arms: list[dict[str, Any]],
    control_percent: float = 5.0,
    sticky_by: str = "user_id",
    start: bool = True,
    user=None,
    author_label: str = "",
) -> Experiment:
    """A new experiment (running unless `start` is False); arms are {name, weight, version?, policy?}."""
    problems = []
    if not name.strip() or len(name) > 200:
        problems.append(_problem("name", "a name is 1-200 characters."))
    if not 0 <= control_percent <= MAX_CONTROL_PERCENT:
        problems.append(_problem("control_percent", f"from 0 to {MAX_CONTROL_PERCENT:g} percent."))
    if sticky_by not in STICKY_KEYS:
        problems.append(_problem("sticky_by", f"one of {', '.join(STICKY_KEYS)}."))
    problems.extend(_arms_check(router, arms))
    _refuse(problems)
    shares = experiment_shares(
        {arm["name"]: arm.get("weight", 1.0) for arm in arms}, control_percent
    )
    try:
        with transaction.atomic():
            experiment = Experiment.objects.create(
                router=router,
                name=name.strip(),
                sticky_by=sticky_by,
                control_percent=control_percent,
                allocation=[list(span) for span in allocation_new(shares)],
                status=Status.RUNNING if start else Status.PAUSED,
                started_at=timezone.now() if start else None,
                created_by=user_or_none(user),
                author_label=author_label,
            )
            ExperimentArm.objects.bulk_create(
                [
                    ExperimentArm(
                        experiment=experiment,
                        name=arm["name"],
                        position=position,
                        weight=arm.get("weight", 1.0),
                        version=arm.get("version"),
                        policy=arm.get("policy") or {},
                    )
                    for position, arm in enumerate(arms)
                ]
                + (
                    [
                        ExperimentArm(
                            experiment=experiment,
                            name=CONTROL_ARM,
                            position=len(arms),
                            weight=control_percent,
                            control=True,
                        )
                    ]
                    if shares.get(CONTROL_ARM)
                    else []
                )
            )
    except IntegrityError as error:
        raise _running_conflict(router) from error
    plans_forget(router.pk)
    return experiment


def _running_conflict(router: Router) -> ExperimentConflict:
    running = Experiment.objects.filter(router=router, status=Status.RUNNING).first()
    return ExperimentConflict(
        f"Router {router.slug!r} already runs experiment {running.name!r} (id {running.pk}): "
        "stop or pause it first; one experiment runs per router at a time."
        if running
        else f"Router {router.slug!r} already runs an experiment.",
        details={"running_experiment": running.pk if running else None},
    )


def _status_set(experiment: Experiment, status: str, **fields: Any) -> Experiment:
    if experiment.status in ENDED:
        raise ExperimentConflict(
            f"Experiment {experiment.name!r} has ended ({experiment.status}); create a new one.",
            details={"status": experiment.status},
        )
    experiment.status = status
    for name, value in fields.items():
        setattr(experiment, name, value)
    try:
        with transaction.atomic():
            experiment.save()
    except IntegrityError as error:
        raise _running_conflict(experiment.router) from error
    plans_forget(experiment.router_id)
    return experiment


def experiment_start(*, experiment: Experiment) -> Experiment:
    """Start or resume a paused experiment (409 when another one runs on the router)."""
    return _status_set(
        experiment, Status.RUNNING, started_at=experiment.started_at or timezone.now()
    )


def experiment_pause(*, experiment: Experiment) -> Experiment:
    """Stop assigning arms for now; the arms' users return to them on resume."""
    return _status_set(experiment, Status.PAUSED)


def experiment_stop(*, experiment: Experiment) -> Experiment:
    return _status_set(experiment, Status.STOPPED, ended_at=timezone.now())


def experiment_weights_change(
    *, experiment: Experiment, weights: dict[str, float], control_percent: float | None = None
) -> Experiment:
    """New weights (and control share), moving as few users as possible between arms."""
    arms = list(experiment.arms.filter(control=False))
    known = {arm.name for arm in arms}
    problems = [
        _problem(f"weights.{name}", f"no arm {name!r} in this experiment.")
        for name in weights
        if name not in known
    ]
    problems.extend(
        _problem(f"weights.{name}", f"a weight is above 0, at most {MAX_WEIGHT:g}.")
        for name, weight in weights.items()
        if not (isinstance(weight, int | float) and 0 < weight <= MAX_WEIGHT)
    )
    control = experiment.control_percent if control_percent is None else control_percent
    if not 0 <= control <= MAX_CONTROL_PERCENT:
        problems.append(_problem("control_percent", f"from 0 to {MAX_CONTROL_PERCENT:g} percent."))
    _refuse(problems)
    for arm in arms:
        arm.weight = float(weights.get(arm.name, arm.weight))
    shares = experiment_shares({arm.name: arm.weight for arm in arms}, control)
    with transaction.atomic():
        ExperimentArm.objects.bulk_update(arms, ["weight"])
        if shares.get(CONTROL_ARM):
            ExperimentArm.objects.update_or_create(
                experiment=experiment,
                name=CONTROL_ARM,
                defaults={"control": True, "weight": control, "position": len(arms)},
            )
        experiment.control_percent = control
        experiment.allocation = [
            list(span) for span in allocation_rebalance(experiment.allocation, shares)
        ]
        experiment.save()
    plans_forget(experiment.router_id)
    return experiment


def experiment_promote(
    *, experiment: Experiment, arm_name: str, user=None, author_label: str = ""
) -> Experiment:
    """Make `arm_name`'s configuration the router's (one new version) and end the experiment."""
    arm = experiment.arms.filter(name=arm_name).first()
    if arm is None:
        raise InvalidInput(
            f"Experiment {experiment.name!r} has no arm {arm_name!r}.",
            details={"arms": list(experiment.arms.values_list("name", flat=True))},
        )
    if arm.control:
        raise InvalidInput(
            "The control arm is a benchmark (every query on the most expensive tier), not a "
            "configuration; promote one of the other arms."
        )
    if experiment.status in ENDED:
        raise ExperimentConflict(f"Experiment {experiment.name!r} has ended ({experiment.status}).")
    router = experiment.router
    configuration_promote(
        router=router,
        version=arm.version,
        policy=arm.policy or {},
        user=user,
        author_label=author_label,
        summary=f"Promoted arm {arm.name!r} of experiment {experiment.name!r}",
    )
    router.refresh_from_db()
    experiment.status = Status.PROMOTED
    experiment.ended_at = timezone.now()
    experiment.promoted_arm = arm.name
    experiment.promoted_version = router.version
    experiment.save()
    plans_forget(router.pk)
    return experiment


def configuration_promote(
    *,
    router: Router,
    version: int | None,
    policy: dict,
    summary: str,
    user=None,
    author_label: str = "",
) -> None:
    """Make a version (or the current configuration) with policy changes the router's, as one
    new version (none when nothing differs)."""
    if version is not None:
        document = RouterVersion.objects.get(router=router, number=version).config
    else:
        document = router_config_export(router)
    document = {**document, "policy": {**document["policy"], **policy}}
    result = router_config_apply(
        document=document, router=router, user=user, author_label=author_label, summary=summary
    )
    if not result.applied and result.problems:
        raise InvalidInput(
            f"This cannot become the configuration: {result.problems[0].message}",
            details={"problems": [problem.as_dict() for problem in result.problems]},
        )
    router.refresh_from_db()
