"""Decision log and feedback endpoints, mounted under /api/v1/."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router

from analytics.schemas import (
    DecisionFilters,
    DecisionLogDetailOut,
    DecisionPageOut,
    FeedbackIn,
    FeedbackOut,
)
from analytics.services import (
    decision_for_key,
    decision_id_parse,
    decisions_for_key,
    feedback_record,
)
from routing.auth import APIKeyAuth
from routing.schemas import ERROR_RESPONSES

router = Router(tags=["decisions"])


@router.post(
    "/decisions/{decision_id}/feedback",
    response={200: FeedbackOut, **ERROR_RESPONSES},
    auth=APIKeyAuth("feedback"),
    summary="Thumbs up or down on a decision (idempotent per decision and key)",
)
def feedback(request: HttpRequest, decision_id: str, payload: FeedbackIn):
    feedback, created = feedback_record(
        decision_id=decision_id_parse(decision_id), principal=request.auth, **payload.dict()
    )
    feedback.created = created
    return feedback


@router.get(
    "/decisions",
    response={200: DecisionPageOut, **ERROR_RESPONSES},
    auth=APIKeyAuth("decisions:read"),
    summary="Logged decisions, newest first, with cursor pagination",
)
def decisions(request: HttpRequest, filters: Query[DecisionFilters]):
    items, next_cursor = decisions_for_key(
        principal=request.auth, router_slug=filters.router, **filters.dict(exclude={"router"})
    )
    return {"items": items, "next_cursor": next_cursor}


@router.get(
    "/decisions/{decision_id}",
    response={200: DecisionLogDetailOut, **ERROR_RESPONSES},
    auth=APIKeyAuth("decisions:read"),
    summary="One logged decision with its trace",
)
def decision(request: HttpRequest, decision_id: str):
    return decision_for_key(decision_id=decision_id_parse(decision_id), principal=request.auth)
