"""Experiments API: create (and start), read with per-arm results, pause/resume/stop, weights,
promote. Scope `config:write` to change, `decisions:read` to read."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Status

from analytics.experiments import services
from analytics.experiments.models import Experiment
from analytics.experiments.results import arm_results, winning_arm
from analytics.experiments.schemas import ExperimentIn, ExperimentOut, PromoteIn, WeightsIn
from routing.auth import APIKeyAuth, KeyPrincipal, router_for_key
from routing.exceptions import InvalidInput, NotFound
from routing.schemas import ERROR_RESPONSES

router = Router(tags=["experiments"])


def experiment_for_key(experiment_id: int, principal: KeyPrincipal) -> Experiment:
    experiment = (
        Experiment.objects.select_related("router").filter(pk=experiment_id).first()
        if 0 < experiment_id < 2**31
        else None
    )
    if experiment is None or not principal.can_use_router(experiment.router):
        raise NotFound(f"No experiment {experiment_id}.")  # another router's is not even named
    return experiment


def experiment_out(experiment: Experiment) -> dict:
    results = arm_results(experiment)
    return {
        "id": experiment.pk,
        "router": experiment.router.slug,
        "name": experiment.name,
        "status": experiment.status,
        "sticky_by": experiment.sticky_by,
        "control_percent": experiment.control_percent,
        "allocation": experiment.allocation,
        "arms": list(experiment.arms.all()),
        "created_at": experiment.created_at,
        "started_at": experiment.started_at,
        "ended_at": experiment.ended_at,
        "promoted_arm": experiment.promoted_arm,
        "promoted_version": experiment.promoted_version,
        "results": results,
        "winner": winning_arm(results),
    }


@router.post(
    "/routers/{slug}/experiments",
    response={201: ExperimentOut, **ERROR_RESPONSES},
    auth=APIKeyAuth("config:write"),
    summary="Create an experiment on a router (it starts unless start=false)",
)
def experiment_create(request: HttpRequest, slug: str, payload: ExperimentIn):
    target = router_for_key(slug=slug, principal=request.auth, fresh=True)
    experiment = services.experiment_create(
        router=target,
        name=payload.name,
        arms=[arm.model_dump(exclude_none=True) for arm in payload.arms],
        control_percent=payload.control_percent,
        sticky_by=payload.sticky_by,
        start=payload.start,
        author_label=f"key {request.auth.name}",
    )
    return Status(201, experiment_out(experiment))


@router.get(
    "/experiments/{experiment_id}",
    response={200: ExperimentOut, **ERROR_RESPONSES},
    auth=APIKeyAuth("decisions:read"),
    summary="An experiment with its per-arm results",
)
def experiment_read(request: HttpRequest, experiment_id: int):
    return experiment_out(experiment_for_key(experiment_id, request.auth))


def _change(request: HttpRequest, experiment_id: int, action) -> dict:
    experiment = experiment_for_key(experiment_id, request.auth)
    return experiment_out(action(experiment=experiment))


@router.post(
    "/experiments/{experiment_id}/stop",
    response={200: ExperimentOut, **ERROR_RESPONSES},
    auth=APIKeyAuth("config:write"),
    summary="End an experiment (its decisions and results stay)",
)
def experiment_stop(request: HttpRequest, experiment_id: int):
    return _change(request, experiment_id, services.experiment_stop)


@router.post(
    "/experiments/{experiment_id}/pause",
    response={200: ExperimentOut, **ERROR_RESPONSES},
    auth=APIKeyAuth("config:write"),
    summary="Pause an experiment: routing goes back to the configuration until it resumes",
)
def experiment_pause(request: HttpRequest, experiment_id: int):
    return _change(request, experiment_id, services.experiment_pause)


@router.post(
    "/experiments/{experiment_id}/start",
    response={200: ExperimentOut, **ERROR_RESPONSES},
    auth=APIKeyAuth("config:write"),
    summary="Start or resume an experiment (409 while another runs on the router)",
)
def experiment_start(request: HttpRequest, experiment_id: int):
    return _change(request, experiment_id, services.experiment_start)


@router.post(
    "/experiments/{experiment_id}/weights",
    response={200: ExperimentOut, **ERROR_RESPONSES},
    auth=APIKeyAuth("config:write"),
    summary="Change arm weights (and the control share), moving as few users as possible",
)
def experiment_weights(request: HttpRequest, experiment_id: int, payload: WeightsIn):
    experiment = experiment_for_key(experiment_id, request.auth)
    services.experiment_weights_change(
        experiment=experiment, weights=payload.weights, control_percent=payload.control_percent
    )
    return experiment_out(experiment)


@router.post(
    "/experiments/{experiment_id}/promote",
    response={200: ExperimentOut, **ERROR_RESPONSES},
    auth=APIKeyAuth("config:write"),
    summary="Make an arm the router's configuration (a new version) and end the experiment",
)
def experiment_promote(request: HttpRequest, experiment_id: int, payload: PromoteIn | None = None):
    experiment = experiment_for_key(experiment_id, request.auth)
    arm = payload.arm if payload and payload.arm else winning_arm(arm_results(experiment))
    if arm is None:
        raise InvalidInput(
            "No arm has traffic yet, so there is no winner to promote; name one with "
            '{"arm": "..."}.',
            details={"arms": list(experiment.arms.values_list("name", flat=True))},
        )
    services.experiment_promote(
        experiment=experiment, arm_name=arm, author_label=f"key {request.auth.name}"
    )
    return experiment_out(experiment)
