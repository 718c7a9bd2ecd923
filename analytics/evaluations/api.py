"""Evaluations API: start a run of labelled examples or a stored set, read its progress and results."""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest
from ninja import Path, Router, Status

from analytics.evaluations.models import EvaluationRun, LabelledSet, RunState
from analytics.evaluations.schemas import EvaluationIn, EvaluationOut, EvaluationStartOut
from analytics.evaluations.services import evaluation_run_create, labelled_set_from_examples
from routing.auth import APIKeyAuth, router_for_key
from routing.exceptions import NotFound
from routing.schemas import ERROR_RESPONSES, ErrorOut

router = Router(tags=["evaluations"])


@router.post(
    "/routers/{slug}/evaluations",
    response={200: EvaluationStartOut, 202: EvaluationStartOut, **ERROR_RESPONSES},
    auth=APIKeyAuth("evaluate"),
    summary="Evaluate labelled examples (or a stored set) against a router version; runs as a task",
)
def evaluation_start(request: HttpRequest, slug: str, payload: EvaluationIn):
    target = router_for_key(slug=slug, principal=request.auth, fresh=True)
    # One transaction: a refused version or part leaves no orphan set; the task starts on commit.
    with transaction.atomic():
        run = _run_create(request, target, payload)
    run.refresh_from_db(fields=["state"])  # eager mode has finished it already
    return Status(200 if run.finished else 202, {"id": run.pk, "status": run.state})


def _run_create(request: HttpRequest, target, payload: EvaluationIn) -> EvaluationRun:
    if payload.set is not None:
        labelled_set = LabelledSet.objects.confirmed().filter(router=target, pk=payload.set).first()
        if labelled_set is None:
            raise NotFound(f"Router {target.slug!r} has no labelled set {payload.set}.")
    else:
        labelled_set = labelled_set_from_examples(
            router=target,
            examples=[(example.text, example.intent) for example in payload.examples],
            name=payload.name or f"API evaluation by key {request.auth.name}",
        )
    return evaluation_run_create(
        labelled_set=labelled_set,
        part=payload.part,
        version=payload.version,
        use_llm=payload.use_llm,
        author_label=f"key {request.auth.name}",
    )


def evaluation_body(run: EvaluationRun) -> dict:
    """The documented shape: status, progress, metrics and suggestions (null until done)."""
    done = run.state == RunState.DONE
    return {
        "id": run.pk,
        "status": run.state,
        "router": run.router.slug,
        "version": run.version_number,
        "set": run.labelled_set_id,
        "progress": {"done": run.done, "total": run.total},
        "error": run.error,
        "metrics": run.metrics if done else None,
        "suggestions": run.suggestions if done else None,
        "produced_version": run.produced_version,
    }


@router.get(
    "/evaluations/{run_id}",
    response={200: EvaluationOut, **ERROR_RESPONSES, 409: ErrorOut},
    auth=APIKeyAuth("evaluate"),
    summary="An evaluation's status, progress, metrics and threshold suggestions",
)
def evaluation_detail(request: HttpRequest, run_id: int = Path(..., ge=1, le=2**62)):
    run = EvaluationRun.objects.select_related("router").filter(pk=run_id).first()
    if run is None or not request.auth.can_use_router(run.router):
        raise NotFound(f"No evaluation {run_id}.")  # another router's run is not even named
    return evaluation_body(run)
