"""Outcomes API: import outcome records for a router, and read a quality training's progress."""

from __future__ import annotations

import json

import pydantic
from django.db import transaction
from django.http import HttpRequest
from ninja import Router, Status
from ninja.errors import ValidationError

from analytics.outcomes.models import Outcome, QualityTraining
from analytics.outcomes.parsing import MAX_API_OUTCOMES, outcome_rows_check
from analytics.outcomes.schemas import OutcomesIn, OutcomesOut, QualityTrainingOut
from analytics.outcomes.services import (
    outcomes_import,
    quality_training_start,
    router_tier_names,
)
from routing.auth import APIKeyAuth, router_for_key
from routing.exceptions import APIError, InvalidInput, NotFound
from routing.schemas import ERROR_RESPONSES

router = Router(tags=["outcomes"])

MAX_BODY_BYTES = 32 * 1024 * 1024  # 10,000 long prompts; Django's 2.5 MB default is too small
READ_CHUNK_BYTES = 1 << 20


class OutcomesTooLarge(APIError):
    status = 413
    code = "request_too_large"


class OutcomesRefused(InvalidInput):
    """Some outcomes were refused; nothing was saved. details: the report."""

    code = "outcomes_refused"


def _body(request: HttpRequest) -> bytes:
    declared = request.META.get("CONTENT_LENGTH") or ""
    chunks, size = [], 0
    if not (declared.isdigit() and int(declared) > MAX_BODY_BYTES):
        while chunk := request.read(min(READ_CHUNK_BYTES, MAX_BODY_BYTES + 1 - size)):
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                break
        else:
            return b"".join(chunks)
    raise OutcomesTooLarge(
        f"An outcomes call is limited to {MAX_BODY_BYTES:,} bytes; send several calls.",
        details={"max_bytes": MAX_BODY_BYTES},
    )


def _payload(raw: bytes) -> OutcomesIn:
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise APIError(f"The body is not valid JSON: {exc}") from exc
    try:
        return OutcomesIn.model_validate(document)
    except pydantic.ValidationError as exc:
        raise ValidationError(
            [{**error, "loc": ("body", "payload", *error["loc"])} for error in exc.errors()]
        ) from exc


OUTCOMES_BODY = {
    "required": True,
    "content": {"application/json": {"schema": OutcomesIn.model_json_schema()}},
}


@router.post(
    "/routers/{slug}/outcomes",
    response={201: OutcomesOut, **ERROR_RESPONSES},
    auth=APIKeyAuth("feedback"),
    summary="Import outcome records (query, tier, good or score); all or nothing per call",
    openapi_extra={"requestBody": OUTCOMES_BODY},
)
def outcomes_post(request: HttpRequest, slug: str):
    target = router_for_key(slug=slug, principal=request.auth, fresh=True)
    payload = _payload(_body(request))
    if len(payload.outcomes) > MAX_API_OUTCOMES:
        raise OutcomesTooLarge(
            f"{len(payload.outcomes):,} outcomes in one call; the limit is "
            f"{MAX_API_OUTCOMES:,}: send several calls.",
            details={"max_outcomes": MAX_API_OUTCOMES},
        )
    parse = outcome_rows_check(
        enumerate((item.model_dump() for item in payload.outcomes), start=0),
        tiers=router_tier_names(target),
        limit=MAX_API_OUTCOMES,
    )
    if parse.refused:
        report = parse.report()
        for row in report["rows"]:
            row["index"] = row.pop("line")
        raise OutcomesRefused(
            f"{len(parse.refused)} outcome(s) were refused; nothing was saved "
            "(details.rows lists each by index and why).",
            details=report,
        )
    with transaction.atomic():
        imported = outcomes_import(router=target, rows=parse.rows, source="api")
        training = quality_training_start(router=target) if payload.train else None
    return Status(
        201,
        {
            "imported": imported,
            "outcomes_total": Outcome.objects.for_router(target).count(),
            "training": training.pk if training else None,
        },
    )


@router.get(
    "/quality-trainings/{training_id}",
    response={200: QualityTrainingOut, **ERROR_RESPONSES},
    auth=APIKeyAuth("feedback"),
    summary="A quality training's progress and, once done, its held-out metrics",
)
def quality_training_get(request: HttpRequest, training_id: int):
    training = QualityTraining.objects.select_related("router").filter(pk=training_id).first()
    if training is None:
        raise NotFound(f"No quality training {training_id}.")
    request.auth.check_router(training.router)
    return training
