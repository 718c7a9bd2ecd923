"""Evaluations API: start a run of labelled examples or a stored set, read its progress and results."""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest
from ninja import Path, Query, Router, Status

from analytics.evaluations.exceptions import LabelledSetRefused
from analytics.evaluations.models import EvaluationRun, LabelledSet, RunState
from analytics.evaluations.parsing import LabelledFileError, labelled_file_parse
from analytics.evaluations.schemas import (
    EvaluationIn,
    EvaluationOut,
    EvaluationStartOut,
    LabelledSetOut,
)
from analytics.evaluations.services import (
    evaluation_run_create,
    labelled_set_from_examples,
    labelled_set_from_review,
    labelled_set_save,
)
from routing.auth import APIKeyAuth, router_for_key
from routing.exceptions import APIError, InvalidInput, NotFound
from routing.models import Intent
from routing.schemas import ERROR_RESPONSES, ErrorOut

router = Router(tags=["evaluations"])

MAX_SET_BYTES = 64 * 1024 * 1024  # the console's upload limit; 100,000 rows fit many times over
READ_CHUNK_BYTES = 1 << 20
JSONL_TYPES = ("application/x-ndjson", "application/jsonl", "application/x-jsonlines")


class SetTooLarge(APIError):
    status = 413
    code = "request_too_large"


def _body_read(request: HttpRequest, limit: int = MAX_SET_BYTES) -> bytes:
    """The raw body, refused past `limit` (Django's 2.5 MB default is too small for a set)."""
    declared = request.META.get("CONTENT_LENGTH") or ""
    chunks, size = [], 0
    if not (declared.isdigit() and int(declared) > limit):
        while chunk := request.read(min(READ_CHUNK_BYTES, limit + 1 - size)):
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                break
        else:
            return b"".join(chunks)
    raise SetTooLarge(
        f"A labelled set is limited to {limit:,} bytes.", details={"max_bytes": limit}
    )


SET_REQUEST_BODY = {
    "required": True,
    "description": "CSV with a header `text,intent` (empty or `oos` intent: out of scope) or "
    'JSONL lines {"text": ..., "intent": ... or null}; up to 100,000 rows.',
    # JSONL goes as application/x-ndjson; only CSV is listed, which fuzzers know how to send.
    "content": {"text/csv": {"schema": {"type": "string"}}},
}


@router.post(
    "/routers/{slug}/sets",
    response={200: LabelledSetOut, 201: LabelledSetOut, **ERROR_RESPONSES},
    auth=APIKeyAuth("evaluate"),
    summary="Upload a labelled set (CSV or JSONL); dry_run=true answers the refusal report only",
    openapi_extra={"requestBody": SET_REQUEST_BODY},
)
def set_upload(
    request: HttpRequest,
    slug: str,
    name: str = Query("", max_length=200),
    dry_run: bool = False,
    accept_partial: bool = Query(False, description="Save the accepted rows despite refusals."),
):
    target = router_for_key(slug=slug, principal=request.auth, fresh=True)
    content_type = request.content_type or ""
    filename = "upload.jsonl" if content_type in JSONL_TYPES else "upload.csv"
    names = Intent.objects.for_router(target).values_list("name", flat=True)
    try:
        parse = labelled_file_parse(_body_read(request), filename=filename, intent_names=names)
    except LabelledFileError as exc:
        raise InvalidInput(str(exc)) from exc
    report = parse.report()
    if dry_run:
        return Status(
            200, {"name": name, "rows": len(parse.rows), "dry_run": True, "report": report}
        )
    if parse.refused and not accept_partial:
        raise LabelledSetRefused(
            f"{len(parse.refused)} row(s) were refused; nothing was saved (fix them, or send "
            "accept_partial=true to save the accepted rows).",
            details=report,
        )
    labelled_set = labelled_set_save(
        router=target, parse=parse, name=name or f"Upload by key {request.auth.name}"
    )
    return Status(
        201,
        {
            "id": labelled_set.pk,
            "name": labelled_set.name,
            "rows": labelled_set.row_count,
            "report": report,
        },
    )


@router.post(
    "/routers/{slug}/sets/from-review",
    response={201: LabelledSetOut, **ERROR_RESPONSES},
    auth=APIKeyAuth("evaluate"),
    summary="Snapshot the review queue's reviewed labels as a labelled set",
)
def set_from_review(request: HttpRequest, slug: str, name: str = Query("", max_length=200)):
    target = router_for_key(slug=slug, principal=request.auth, fresh=True)
    labelled_set = labelled_set_from_review(router=target, name=name)
    return Status(
        201,
        {
            "id": labelled_set.pk,
            "name": labelled_set.name,
            "rows": labelled_set.row_count,
            "report": labelled_set.refusals,
        },
    )


@router.get(
    "/routers/{slug}/sets",
    response={200: list[LabelledSetOut], **ERROR_RESPONSES},
    auth=APIKeyAuth("evaluate"),
    summary="The router's confirmed labelled sets, newest first",
)
def sets_list(request: HttpRequest, slug: str):
    target = router_for_key(slug=slug, principal=request.auth, fresh=True)
    sets = LabelledSet.objects.confirmed().filter(router=target).order_by("-created_at")[:200]
    return [
        {
            "id": item.pk,
            "name": item.name,
            "rows": item.row_count,
            "held_out": round(item.held_out_fraction * item.row_count),
        }
        for item in sets
    ]


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
