"""How decisions enter the review queue: why a decision needs a look, and collapsing duplicates.

Written decisions reach `review_intake` through the decision log's after-write hook (a Celery task,
eager in the embedded default); thumbs-down and "send to review" call `items_collect` directly.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, OuterRef, Subquery
from django.utils import timezone

from analytics.models import CONSOLE_CHANNELS, DecisionLog
from analytics.review.models import ReviewDecision, ReviewItem, ReviewReason
from routing.gateway.answers import UNUSABLE_OUTCOMES
from routing.models import Router
from routing.vectors import active_encoder

# Open items a new query is compared with (the most recently seen): bounds the vectors read
# per intake batch (2,000 x 1.5 kB); a near-duplicate of an older open item opens a new one.
OPEN_COMPARE_LIMIT = 2_000
SAMPLE_SCALE = 1_000_000


def query_key(query: str) -> str:
    """sha256 of the query lower-cased with runs of whitespace collapsed (exact-duplicate key)."""
    return hashlib.sha256(" ".join(query.lower().split()).encode()).hexdigest()


def decision_sampled(decision_id: uuid.UUID, rate: float | None = None) -> bool:
    """In the uniform random sample? Decided by the (random) id, so the same on every run."""
    rate = settings.SEMROUTE_REVIEW_SAMPLE_RATE if rate is None else rate
    return decision_id.int % SAMPLE_SCALE < round(rate * SAMPLE_SCALE)


def llm_answer(trace: dict) -> tuple[bool, str | None]:
    """(asked, the LLM stage's intent) from a logged trace; asked is False when it never answered."""
    for stage in trace.get("stages") or []:
        outcome = stage.get("outcome") or ""
        if stage.get("stage") == "llm" and outcome.startswith("chose "):
            answer = outcome.removeprefix("chose ")
            return True, None if answer == "none" else answer
    return False, None


def decision_reasons(
    row: DecisionLog, *, band: tuple[float, float], margin: float, sample_rate: float
) -> list[str]:
    """Why this decision belongs in the queue (empty: it does not)."""
    trace = row.trace if isinstance(row.trace, dict) else {}
    top = trace.get("top_intents") or []
    reasons = []
    if row.reasked:
        reasons.append(ReviewReason.REASKED)
    if any(attempt.get("outcome") in UNUSABLE_OUTCOMES for attempt in row.attempts or ()):
        # A tier answered and its answer was not good enough: routed too low. Escalations past a
        # tier that was down or had no key say nothing about the routing.
        reasons.append(ReviewReason.ESCALATED)
    if row.intent is None and not row.blocked:
        reasons.append(ReviewReason.OUT_OF_SCOPE)
    if row.stage in ("embedding", "llm") and top:
        low, high = band
        in_band = high > low and low <= row.confidence < high
        if in_band or abs(row.confidence - float(top[0]["threshold"])) < margin:
            reasons.append(ReviewReason.LOW_CONFIDENCE)
    asked, answer = llm_answer(trace)
    if asked and top and answer != top[0]["intent"]:
        reasons.append(ReviewReason.DISAGREEMENT)
    if decision_sampled(row.id, sample_rate):
        reasons.append(ReviewReason.SAMPLE)
    return reasons


def suggestion(row: DecisionLog) -> tuple[str | None, str]:
    """The suggested label: the LLM stage's answer where it gave one, else the nearest examples'."""
    trace = row.trace if isinstance(row.trace, dict) else {}
    asked, answer = llm_answer(trace)
    if asked and answer:
        return answer, "llm"
    nearest = trace.get("nearest_examples") or []
    if not nearest:
        return None, ""
    votes = Counter(example["intent"] for example in nearest)
    best = max(votes.values())
    # Ties go to the intent of the most similar example (the list is best first).
    return next(ex["intent"] for ex in nearest if votes[ex["intent"]] == best), "nearest"


@dataclass(slots=True)
class Incoming:
    """A decision on its way into the queue (from the log, feedback or an operator)."""

    decision_id: uuid.UUID
    query: str
    decided_intent: str | None
    confidence: float
    created_at: datetime
    reasons: list[str] = field(default_factory=list)
    suggested_intent: str | None = None
    suggestion_source: str = ""
    sampled: bool = False


def incoming_from(row: DecisionLog, reasons: Sequence[str]) -> Incoming:
    suggested, source = suggestion(row)
    return Incoming(
        decision_id=row.id,
        query=row.query,
        decided_intent=row.intent,
        confidence=row.confidence,
        created_at=row.created_at,
        reasons=list(reasons),
        suggested_intent=suggested,
        suggestion_source=source,
        sampled=ReviewReason.SAMPLE in reasons,
    )


def _merged(old: Sequence[str], new: Sequence[str]) -> list[str]:
    return list(dict.fromkeys([*old, *new]))


def items_collect(*, router: Router, incoming: Sequence[Incoming]) -> list[ReviewItem]:
    """Put decisions in the queue: a decision already there only adds its new reasons; a query
    equal or near (cosine >= SEMROUTE_REVIEW_DUPLICATE_SIMILARITY) to an open item joins it
    (count + 1); anything else opens a new item. Returns each decision's item, in order."""
    if not incoming:
        return []
    attached = {
        link.decision_id: link
        for link in ReviewDecision.objects.filter(
            decision_id__in=[entry.decision_id for entry in incoming]
        ).select_related("item")
    }
    fresh = [entry for entry in incoming if entry.decision_id not in attached]
    encoder = active_encoder()
    vectors = (
        np.asarray(encoder.encode([entry.query for entry in fresh]), dtype=np.float32)
        if fresh
        else np.zeros((0, 0), dtype=np.float32)
    )
    items_by_decision: dict[uuid.UUID, ReviewItem] = {}
    now = timezone.now()
    with transaction.atomic():
        for entry in incoming:
            link = attached.get(entry.decision_id)
            if link is None:
                continue
            new = [reason for reason in entry.reasons if reason not in link.reasons]
            item = link.item
            if new:
                link.reasons = _merged(link.reasons, new)
                link.save(update_fields=["reasons"])
                item.reasons = _merged(item.reasons, new)
                if entry.suggestion_source == "feedback":
                    item.suggested_intent = entry.suggested_intent
                    item.suggestion_source = "feedback"
                item.save(update_fields=["reasons", "suggested_intent", "suggestion_source"])
            items_by_decision[entry.decision_id] = item
        if fresh:
            items_by_decision.update(_fresh_collect(router, fresh, vectors, encoder.name, now))
    return [items_by_decision[entry.decision_id] for entry in incoming]


def _fresh_collect(
    router: Router, fresh: Sequence[Incoming], vectors: np.ndarray, encoder: str, now: datetime
) -> dict[uuid.UUID, ReviewItem]:
    """Queue decisions not yet in the queue: each joins an open item with the same query key or a
    near vector, else opens one. A few statements per batch, never one per decision: the open
    items' vectors are read as one array, new items and links are bulk-inserted, and the items
    joined n times whose reasons stay the same get count + n in one UPDATE per n."""
    similar = settings.SEMROUTE_REVIEW_DUPLICATE_SIMILARITY
    known = list(
        ReviewItem.objects.for_router(router)
        .open()
        .filter(encoder=encoder)
        .exclude(vector=None)
        .order_by("-last_seen_at")
        .values_list("id", "query_key", "vector", "reasons")[:OPEN_COMPARE_LIMIT]
    )
    dim = vectors.shape[1]
    matrix = np.zeros((len(known) + len(fresh), dim), dtype=np.float32)
    if known:
        matrix[: len(known)] = np.frombuffer(
            b"".join(bytes(vector) for _, _, vector, _ in known), dtype=np.float32
        ).reshape(len(known), dim)
    # Row i of `matrix` is an open item: an existing one's pk, or an item this batch opens.
    targets: list[int | ReviewItem] = [pk for pk, _, _, _ in known]
    keys = {key: row for row, (_, key, _, _) in reversed(list(enumerate(known)))}
    reasons_known = {pk: reasons for pk, _, _, reasons in known}
    opened: list[ReviewItem] = []
    joining: dict[int, list[Incoming]] = {}  # existing open item pk -> the decisions joining it
    target_of: dict[uuid.UUID, int | ReviewItem] = {}
    for entry, vector in zip(fresh, vectors, strict=True):
        key = query_key(entry.query)
        row = keys.get(key)
        if row is None and targets:
            similarities = matrix[: len(targets)] @ vector
            best = int(np.argmax(similarities))
            if similarities[best] >= similar:
                row = best
        if row is None:
            item = ReviewItem(
                router=router,
                decision_id=entry.decision_id,
                query=entry.query,
                query_key=key,
                vector=vector.tobytes(),
                encoder=encoder,
                reasons=list(entry.reasons),
                decided_intent=entry.decided_intent,
                confidence=entry.confidence,
                suggested_intent=entry.suggested_intent,
                suggestion_source=entry.suggestion_source,
            )
            keys[key] = len(targets)
            matrix[len(targets)] = vector
            targets.append(item)
            opened.append(item)
            target = item
        else:
            target = targets[row]
            if isinstance(target, ReviewItem):
                _joined(target, entry)
            else:
                joining.setdefault(target, []).append(entry)
        target_of[entry.decision_id] = target
    ReviewItem.objects.bulk_create(opened)
    # n -> the items joined n times whose reasons stay as they were: one UPDATE for them all
    same_reasons: dict[int, list[int]] = {}
    for pk, entries in joining.items():
        reasons = _merged(reasons_known[pk], [r for entry in entries for r in entry.reasons])
        feedback = [entry for entry in entries if entry.suggestion_source == "feedback"]
        if reasons == reasons_known[pk] and not feedback:
            same_reasons.setdefault(len(entries), []).append(pk)
            continue
        changes = {"reasons": reasons, "count": F("count") + len(entries), "last_seen_at": now}
        if feedback:
            changes.update(
                suggested_intent=feedback[-1].suggested_intent, suggestion_source="feedback"
            )
        ReviewItem.objects.filter(pk=pk).update(**changes)
    for added, pks in same_reasons.items():
        ReviewItem.objects.filter(pk__in=pks).update(count=F("count") + added, last_seen_at=now)
    joined = ReviewItem.objects.defer("vector").in_bulk(list(joining))
    items = {
        decision_id: target if isinstance(target, ReviewItem) else joined[target]
        for decision_id, target in target_of.items()
    }
    ReviewDecision.objects.bulk_create(
        ReviewDecision(
            item=items[entry.decision_id],
            decision_id=entry.decision_id,
            decided_intent=entry.decided_intent,
            reasons=list(entry.reasons),
            sampled=entry.sampled,
            created_at=entry.created_at,
        )
        for entry in fresh
    )
    return items


def _joined(item: ReviewItem, entry: Incoming) -> None:
    """`entry` joins `item`: one more decision, its reasons added, feedback's label replacing."""
    item.count += 1
    item.reasons = _merged(item.reasons, entry.reasons)
    if entry.suggestion_source == "feedback":
        item.suggested_intent = entry.suggested_intent
        item.suggestion_source = "feedback"


def review_intake(*, decision_ids: Sequence[uuid.UUID | str]) -> int:
    """Queue the logged decisions among `decision_ids` that need a look; how many went in."""
    return rows_intake(DecisionLog.objects.filter(pk__in=list(decision_ids)))


def rows_intake(
    rows: Iterable[DecisionLog], *, extra_reasons: dict[uuid.UUID, list[str]] | None = None
) -> int:
    """Queue the decisions among `rows` that need a look; how many went in.

    `extra_reasons`: reasons known from elsewhere, by decision id (demo traffic's thumbs-down).
    Console decisions (playground, console batch) never enter the queue on their own.
    """
    extra_reasons = extra_reasons or {}
    rows = sorted(
        (row for row in rows if row.channel not in CONSOLE_CHANNELS),
        key=lambda row: (row.created_at, row.id),
    )
    routers = {
        router.pk: router for router in Router.objects.filter(pk__in={r.router_id for r in rows})
    }
    margin = settings.SEMROUTE_REVIEW_CONFIDENCE_MARGIN
    rate = settings.SEMROUTE_REVIEW_SAMPLE_RATE
    queued = 0
    for router_id, router in routers.items():
        band = (router.ambiguity_low, router.ambiguity_high)
        incoming = []
        for row in rows:
            if row.router_id != router_id:
                continue
            reasons = [
                *extra_reasons.get(row.id, []),
                *decision_reasons(row, band=band, margin=margin, sample_rate=rate),
            ]
            if reasons:
                incoming.append(incoming_from(row, reasons))
        queued += len(items_collect(router=router, incoming=incoming))
    return queued


def review_decisions_remove(*, decision_ids) -> int:
    """Take decisions out of the queue (their rows are being deleted): their links go, an item
    left without decisions goes, and the others' counts drop to the decisions they still hold.
    `decision_ids`: ids or a subquery of them. Returns how many items were deleted."""
    links = ReviewDecision.objects.filter(decision_id__in=decision_ids)
    touched = list(links.values_list("item_id", flat=True).distinct())
    links.delete()
    items = ReviewItem.objects.filter(pk__in=touched)
    deleted = items.filter(decisions__isnull=True).delete()[1].get(ReviewItem._meta.label, 0)
    remaining = ReviewDecision.objects.filter(item=OuterRef("pk"))
    items.update(
        count=Subquery(remaining.order_by().values("item").annotate(n=Count("pk")).values("n")),
        decision_id=Subquery(remaining.order_by("created_at").values("decision_id")[:1]),
    )
    return deleted
