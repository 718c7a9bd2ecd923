"""The routing API: route one query or a batch, list routers, export and import configuration."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from ninja import Router
from ninja.responses import Response

from routing.auth import APIKeyAuth, router_by_slug, router_for_import, router_for_key
from routing.config_io import config_validate, router_config_export
from routing.config_schema import ConfigDocument
from routing.config_upload import config_document_read
from routing.decide import decide_for_caller
from routing.decision_hooks import hooks
from routing.exceptions import InvalidInput, QueryTooLong
from routing.models import Router as RouterModel
from routing.retrieved_context import retrieved_context, route_contexts
from routing.schemas import (
    ERROR_RESPONSES,
    ConfigApplyOut,
    DecisionOut,
    ErrorOut,
    RouteBatchIn,
    RouteBatchOut,
    RouteIn,
    RouterOut,
)
from routing.services.config_apply import router_config_apply

router = Router(tags=["routing"])


def query_length_check(queries: list[str], *, field: str | None = None) -> None:
    limit = settings.SEMROUTE_MAX_QUERY_CHARS
    for index, query in enumerate(queries):
        if len(query) > limit:
            where = {"field": field} if field else {}
            raise QueryTooLong(
                f"A {'message' if field else 'query'} is limited to {limit} characters "
                f"(got {len(query)}).",
                details={**where, "index": index, "length": len(query), "max_chars": limit},
            )


@router.post(
    "/routers/{slug}/route",
    response={200: DecisionOut, **ERROR_RESPONSES},
    auth=APIKeyAuth("route"),
    summary="Route one query to an intent and a model tier",
)
def route(request: HttpRequest, slug: str, payload: RouteIn):
    target = router_for_key(slug=slug, principal=request.auth)
    query_length_check([payload.query])
    query_length_check(payload.earlier_turns, field="earlier_turns")
    (decision,), experiment = decide_for_caller(
        router=target,
        queries=[payload.query],
        user_id=payload.user_id,
        session_id=payload.session_id,
        allow_stale=True,
        contexts=[retrieved_context(payload.context)],
        conversations=[payload.earlier_turns],
    )
    (decision_id,) = hooks.record(
        router=target,
        queries=[payload.query],
        decisions=[decision],
        principal=request.auth,
        user_ref=payload.user_id,
        session_ref=payload.session_id,
        metadata=payload.metadata,
        channel="api",
        experiment_id=experiment.id if experiment else None,
        experiment_arm=experiment.arm if experiment else "",
    )
    return DecisionOut.from_decision(
        decision_id=decision_id,
        router_slug=target.slug,
        decision=decision,
        explain=payload.explain,
        experiment=experiment.as_dict() if experiment else None,
    )


@router.post(
    "/routers/{slug}/route/batch",
    response={200: RouteBatchOut, **ERROR_RESPONSES},
    auth=APIKeyAuth("route"),
    summary="Route up to 256 queries in one call; decisions come back in order",
)
def route_batch(request: HttpRequest, slug: str, payload: RouteBatchIn):
    target = router_for_key(slug=slug, principal=request.auth)
    query_length_check(payload.queries)
    decisions, experiment = decide_for_caller(
        router=target,
        queries=payload.queries,
        user_id=payload.user_id,
        session_id=payload.session_id,
        allow_stale=True,
        contexts=route_contexts(payload.context, len(payload.queries)),
    )
    decision_ids = hooks.record(
        router=target,
        queries=payload.queries,
        decisions=decisions,
        principal=request.auth,
        user_ref=payload.user_id,
        session_ref=payload.session_id,
        metadata=payload.metadata,
        channel="batch",
        experiment_id=experiment.id if experiment else None,
        experiment_arm=experiment.arm if experiment else "",
    )
    arm = experiment.as_dict() if experiment else None
    return {
        "decisions": [
            DecisionOut.from_decision(
                decision_id=decision_id,
                router_slug=target.slug,
                decision=decision,
                explain=payload.explain,
                experiment=arm,
            )
            for decision_id, decision in zip(decision_ids, decisions, strict=True)
        ]
    }


@router.get(
    "/routers",
    response={200: list[RouterOut], **ERROR_RESPONSES},
    auth=APIKeyAuth(None),
    summary="The routers this key may use",
)
def routers(request: HttpRequest):
    visible = RouterModel.objects.order_by("slug")
    if request.auth.router_ids is not None:
        visible = visible.filter(pk__in=request.auth.router_ids)
    return visible


@router.get(
    "/routers/{slug}/config",
    response={200: ConfigDocument, **ERROR_RESPONSES},
    auth=APIKeyAuth("config:read"),
    summary="Export a router's whole configuration",
)
def config_export(request: HttpRequest, slug: str):
    document = router_config_export(router_for_key(slug=slug, principal=request.auth, fresh=True))
    # Not re-validated on the way out: a router stored before a rule tightened (a key variable no
    # longer allowed, a rank SQLite once took) still exports, and its import then names the problem.
    return Response(document)


# The body is read by config_document_read (a larger limit, gzip), not by ninja, so every problem
# is listed at once as a ConfigProblem; OpenAPI still shows the document's schema.
CONFIG_REQUEST_BODY = {
    "required": True,
    "description": "A configuration document as GET exports it; may be sent with "
    "Content-Encoding: gzip; at most SEMROUTE_MAX_CONFIG_BYTES (default 64 MB).",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ConfigDocument"}}},
}


@router.put(
    "/routers/{slug}/config",
    response={200: ConfigApplyOut, **ERROR_RESPONSES, 415: ErrorOut},
    auth=APIKeyAuth("config:write"),
    summary="Import a whole configuration as one new version (dry_run=true: diff and problems only)",
    openapi_extra={"requestBody": CONFIG_REQUEST_BODY},
)
def config_import(request: HttpRequest, slug: str, dry_run: bool = False):
    document = config_document_read(request)
    if not isinstance(document, dict):
        problems = [problem.as_dict() for problem in config_validate(document)]
        raise InvalidInput(
            "The configuration must be a JSON object.", details={"problems": problems}
        )
    target = router_for_import(slug=slug, document=document, principal=request.auth)
    result = router_config_apply(
        document=document,
        router=target,
        dry_run=dry_run,
        author_label=f"key {request.auth.name}",
    )
    router_by_slug(slug, fresh=True)  # this worker routes with the new version at once
    problems = [problem.as_dict() for problem in result.problems]
    if problems and not dry_run:
        raise InvalidInput(
            f"The configuration has {len(problems)} problem(s); nothing was applied.",
            details={"problems": problems},
        )
    return {
        "router": slug,
        "applied": result.applied,
        "dry_run": dry_run,
        "version": result.router.version if result.router else None,
        "changes": result.changes,
        "problems": problems,
    }
