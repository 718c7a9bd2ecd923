"""Decision log and feedback workflows used by the API (and, later, the console)."""

from __future__ import annotations

import base64
import binascii
import json
import time
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from analytics.decision_log import decision_log
from analytics.metrics import decision_observe
from analytics.models import CONSOLE_CHANNELS, DecisionLog, Feedback
from routing.auth import KeyPrincipal, router_for_key
from routing.engine.decision import Decision
from routing.exceptions import InvalidInput, NotFound, PermissionDenied
from routing.models import Intent, Router
from routing.schemas import DECISION_PUBLIC_FIELDS
from routing.vectors import active_encoder

GATEWAY_FACT_FIELDS = frozenset(
    {
        "attempts",
        "answer_tier",
        "escalations",
        "actual_cost_usd",
        "provider_latency_ms",
        "ttft_ms",
        "prompt_tokens",
        "completion_tokens",
    }
)

# A decision routed by another worker becomes visible once that worker's buffer is flushed.
FEEDBACK_WAIT_EXTRA_SECONDS = 0.5
FEEDBACK_POLL_SECONDS = 0.1


def decision_record(
    *,
    router: Router,
    query: str,
    decision: Decision,
    principal: KeyPrincipal | None,
    user_ref: str | None = None,
    session_ref: str | None = None,
    metadata: dict[str, Any] | None = None,
    channel: str = "api",
    experiment_arm: str = "",
    experiment_id: int | None = None,
    decision_id: uuid.UUID | None = None,
    gateway_facts: dict[str, Any] | None = None,
) -> uuid.UUID:
    """Queue the decision for the log and return its id (the row is written in the background).

    `decision_id`: an id made earlier (the gateway sends it in headers before the answer ends).
    `gateway_facts`: what the gateway did, by DecisionLog field (GATEWAY_FACT_FIELDS).
    """
    facts = gateway_facts or {}
    unknown = set(facts) - GATEWAY_FACT_FIELDS
    if unknown:
        raise ValueError(f"Not gateway facts: {sorted(unknown)}")
    row = DecisionLog(
        id=decision_id or uuid.uuid4(),
        router_id=router.pk,
        query=query,
        user_ref=user_ref or "",
        session_ref=session_ref or "",
        metadata=metadata or {},
        trace=decision.trace,  # made JSON-ready by the flusher, off the request path
        channel=channel,
        experiment_arm=experiment_arm,
        experiment_id=experiment_id,
        api_key_id=principal.key_id if principal else None,
        created_at=timezone.now(),
        **{name: getattr(decision, name) for name in DECISION_PUBLIC_FIELDS},
        **facts,
    )
    decision_log.append(row)
    decision_observe(
        router_slug=router.slug, decision=decision, channel=channel, gateway_facts=facts
    )
    return row.id


def decisions_record(
    *,
    router: Router,
    queries: Sequence[str],
    decisions: Sequence[Decision],
    principal: KeyPrincipal | None,
    user_ref: str | None = None,
    session_ref: str | None = None,
    metadata: dict[str, Any] | None = None,
    channel: str = "batch",
    experiment_arm: str = "",
    experiment_id: int | None = None,
    decision_ids: Sequence[uuid.UUID] | None = None,
    gateway_facts: dict[str, Any] | None = None,
) -> list[uuid.UUID]:
    ids = decision_ids or [None] * len(decisions)
    return [
        decision_record(
            router=router,
            query=query,
            decision=decision,
            principal=principal,
            user_ref=user_ref,
            session_ref=session_ref,
            metadata=metadata,
            channel=channel,
            experiment_arm=experiment_arm,
            experiment_id=experiment_id,
            decision_id=decision_id,
            gateway_facts=gateway_facts,
        )
        for query, decision, decision_id in zip(queries, decisions, ids, strict=True)
    ]


def decision_id_parse(raw: str) -> uuid.UUID:
    """A decision id from a URL; anything that is not a UUID names no decision (404)."""
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise NotFound(f"No decision {raw[:64]!r}.", details={"decision_id": raw[:64]}) from None


def _decision_lookup(decision_id: uuid.UUID) -> DecisionLog | None:
    row = decision_log.get(decision_id)
    if row is not None:
        return row
    return DecisionLog.objects.select_related("router").filter(pk=decision_id).first()


def decision_for_key(
    *, decision_id: uuid.UUID, principal: KeyPrincipal, wait: bool = False
) -> DecisionLog:
    """The decision if this key may see it: 404 when unknown, 403 for a router the key may not use.

    With `wait`, a decision not found yet is looked for again until other workers' buffers have
    been flushed (feedback can arrive before the row is written).
    """
    row = _decision_lookup(decision_id)
    if row is None and wait:
        deadline = time.monotonic() + decision_log.flush_seconds * 2 + FEEDBACK_WAIT_EXTRA_SECONDS
        while row is None and time.monotonic() < deadline:
            time.sleep(FEEDBACK_POLL_SECONDS)
            row = _decision_lookup(decision_id)
    if row is None:
        raise NotFound(f"No decision {decision_id}.", details={"decision_id": str(decision_id)})
    if principal.router_ids is not None and row.router_id not in principal.router_ids:
        raise PermissionDenied("This API key may not read decisions of that router.")
    return row


def feedback_record(
    *,
    decision_id: uuid.UUID,
    principal: KeyPrincipal,
    rating: str,
    comment: str = "",
    expected_intent: str | None = None,
) -> tuple[Feedback, bool]:
    """Record (or update) this key's feedback on a decision; a second call never duplicates."""
    decision = decision_for_key(decision_id=decision_id, principal=principal, wait=True)
    if (
        expected_intent
        and not Intent.objects.filter(router_id=decision.router_id, name=expected_intent).exists()
    ):
        raise InvalidInput(
            f"Unknown intent {expected_intent!r} for this router.",
            details=[
                {"field": "expected_intent", "message": "not an intent of the decision's router"}
            ],
        )
    with transaction.atomic():
        feedback, created = Feedback.objects.update_or_create(
            decision_id=decision_id,
            api_key_id=principal.key_id,
            defaults={
                "rating": rating,
                "comment": comment,
                "expected_intent": expected_intent or "",
            },
        )
        _feedback_to_review(decision, feedback)
    return feedback, created


def feedback_from_user(
    *,
    decision: DecisionLog,
    user,
    rating: str,
    comment: str = "",
    expected_intent: str | None = None,
) -> tuple[Feedback, bool]:
    """The console's thumbs up/down on a decision: one per user, a second call updates it."""
    if rating not in ("up", "down"):
        raise InvalidInput("Rate a decision up or down.")
    if (
        expected_intent
        and not Intent.objects.filter(router_id=decision.router_id, name=expected_intent).exists()
    ):
        raise InvalidInput(f"Unknown intent {expected_intent!r} for this router.")
    with transaction.atomic():
        feedback, created = Feedback.objects.update_or_create(
            decision_id=decision.id,
            user=user,
            defaults={
                "rating": rating,
                "comment": comment[:5000],
                "expected_intent": expected_intent or "",
            },
        )
        _feedback_to_review(decision, feedback)
    return feedback, created


def _feedback_to_review(decision: DecisionLog, feedback: Feedback) -> None:
    # A thumbs-down is in the review queue at once, with the expected intent as its suggestion.
    if feedback.rating == "down":
        from analytics.review.services import review_feedback_received

        review_feedback_received(decision=decision, expected_intent=feedback.expected_intent)


# Re-asks -----------------------------------------------------------------------------------------


def decisions_reask_detect(*, rows: Sequence[DecisionLog]) -> list[uuid.UUID]:
    """Mark as re-asked each decision whose session asked a similar query next, soon after.

    For every row with a session, its session's previous decision (same router, at most
    SEMROUTE_REASK_WINDOW_SECONDS earlier) is re-asked when the two queries' vectors (the active
    encoder's) have cosine >= SEMROUTE_REASK_SIMILARITY: the user did not get what they asked for.
    The row itself is re-asked the same way when its session's next decision is already written:
    with several workers, the later decision's batch can reach the log first.
    Returns the ids newly marked.
    """
    asked = [row for row in rows if row.session_ref and row.channel not in CONSOLE_CHANNELS]
    if not asked:
        return []
    window = timedelta(seconds=settings.SEMROUTE_REASK_WINDOW_SECONDS)
    session_rows = (
        DecisionLog.objects.traffic()
        .filter(
            router_id__in={row.router_id for row in asked},
            session_ref__in={row.session_ref for row in asked},
            created_at__gte=min(row.created_at for row in asked) - window,
            created_at__lte=max(row.created_at for row in asked) + window,
        )
        .only("id", "router_id", "session_ref", "query", "created_at", "reasked")
        .order_by("created_at", "id")
    )
    sessions: dict[tuple[int, str], list[DecisionLog]] = {}
    for row in session_rows:
        sessions.setdefault((row.router_id, row.session_ref), []).append(row)
    pairs = {}  # (asked, asked next) by the first one's id
    for row in asked:
        session = sessions.get((row.router_id, row.session_ref), [])
        before = [o for o in session if o.created_at < row.created_at <= o.created_at + window]
        after = [o for o in session if row.created_at < o.created_at <= row.created_at + window]
        if before and not before[-1].reasked:
            pairs[before[-1].id] = (before[-1], row)
        if after and not row.reasked:
            pairs.setdefault(row.id, (row, after[0]))
    if not pairs:
        return []
    pairs = list(pairs.values())
    texts = list(dict.fromkeys(text for pair in pairs for text in (pair[0].query, pair[1].query)))
    vectors = np.asarray(active_encoder().encode(texts), dtype=np.float32)
    index = {text: i for i, text in enumerate(texts)}
    threshold = settings.SEMROUTE_REASK_SIMILARITY
    marked = list(
        dict.fromkeys(
            previous.id
            for previous, row in pairs
            if float(vectors[index[previous.query]] @ vectors[index[row.query]]) >= threshold
        )
    )
    if marked:
        DecisionLog.objects.filter(pk__in=marked).update(reasked=True)
    return marked


# Listing ----------------------------------------------------------------------------------------


def cursor_encode(row: DecisionLog) -> str:
    raw = json.dumps([row.created_at.isoformat(), str(row.id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def cursor_decode(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_at, decision_id = json.loads(raw)
        position = datetime.fromisoformat(created_at), uuid.UUID(decision_id)
        # Only this API's own cursors: UTC times (a crafted offset or year PostgreSQL refuses).
        if position[0].utcoffset() != timedelta(0):
            raise ValueError("not a UTC time")
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise InvalidInput(
            "The cursor is not one this API returned.",
            details=[{"field": "cursor", "message": "invalid cursor"}],
        ) from None
    return position


def cursor_page(
    decisions: QuerySet[DecisionLog], *, cursor: str | None, limit: int
) -> tuple[list[DecisionLog], str | None]:
    """One page of `decisions`, newest first, after `cursor`, and the next page's cursor."""
    if cursor:
        created_at, decision_id = cursor_decode(cursor)
        decisions = decisions.filter(
            Q(created_at__lt=created_at) | Q(created_at=created_at, id__lt=decision_id)
        )
    page = list(decisions.order_by("-created_at", "-id")[: limit + 1])
    next_cursor = cursor_encode(page[limit - 1]) if len(page) > limit else None
    return page[:limit], next_cursor


def decisions_for_key(
    *,
    principal: KeyPrincipal,
    router_slug: str | None = None,
    intent: str | None = None,
    tier: str | None = None,
    stage: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[DecisionLog], str | None]:
    """One page of logged decisions, newest first, and the cursor of the next page (None at the end)."""
    decisions: QuerySet[DecisionLog] = DecisionLog.objects.select_related("router")
    if principal.router_ids is not None:
        decisions = decisions.filter(router_id__in=principal.router_ids)
    if router_slug is not None:
        router = router_for_key(slug=router_slug, principal=principal, fresh=True)
        decisions = decisions.filter(router=router)
    if intent is not None:
        decisions = decisions.filter(intent=intent)
    if tier is not None:
        decisions = decisions.filter(tier=tier)
    if stage is not None:
        decisions = decisions.filter(stage=stage)
    if since is not None:
        decisions = decisions.filter(created_at__gte=since)
    if until is not None:
        decisions = decisions.filter(created_at__lt=until)
    return cursor_page(decisions, cursor=cursor, limit=limit)
