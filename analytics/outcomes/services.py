"""Outcome workflows: record one (the judge, the review queue), import many (console, API),
collect them from the decision log (thumbs, gateway escalations, re-asks), and fit the quality
predictor from them (a Celery task with progress) and hand the fitted head to routing."""

from __future__ import annotations

import logging
from collections import defaultdict

import numpy as np
from django.db import transaction
from django.utils import timezone

from analytics.models import DecisionLog, Feedback
from analytics.outcomes.models import OUTCOME_SOURCES, Outcome, QualityTraining, TrainingState
from analytics.outcomes.parsing import OutcomeIn, outcome_rows_check
from analytics.outcomes.training import quality_head_fit
from routing.engine.quality import quality_head_document
from routing.engine.tier_policy import tier_cost_usd
from routing.models import ModelTier, Router
from routing.services.quality_heads import quality_head_install
from routing.snapshots import tier_spec
from routing.vectors import active_encoder

logger = logging.getLogger("semroute.outcomes")

ENCODE_BATCH = 64
WRITE_BATCH = 2000
# A gateway attempt whose answer failed a quality check (not a transport failure: a timeout or a
# 5xx says nothing about the tier's answers).
QUALITY_FAILURES = frozenset(
    {"empty", "truncated", "refusal", "invalid_json", "unusable", "bad_answer", "quality_failed"}
)
TRAINING_METHODS = ("logistic", "knn")


class OutcomeRefused(ValueError):
    """An outcome that cannot be stored; the message says why (and how to fix it)."""


def router_tier_names(router: Router) -> set[str]:
    return set(ModelTier.objects.filter(router=router).values_list("name", flat=True))


def outcome_record(
    *,
    router: Router,
    query: str,
    tier: str,
    good: bool | None = None,
    score: float | None = None,
    source: str,
    decision_id=None,
) -> Outcome:
    """Record how well `tier` answered `query` (good/bad, or a score in 0-1).

    The one entry point for automatic sources (the LLM judge: source "judge"; the review queue:
    "review"). With a `decision_id` it is an upsert: recording the same decision, tier and source
    again updates the outcome. Raises OutcomeRefused for an unknown tier, a blank or unstorable
    query, or a value that is neither a boolean nor a number in 0-1.
    """
    if source not in OUTCOME_SOURCES:
        raise OutcomeRefused(f"Unknown source {source!r}; use one of {', '.join(OUTCOME_SOURCES)}.")
    parse = outcome_rows_check(
        [(1, {"query": query, "tier": tier, "good": good, "score": score})],
        tiers=router_tier_names(router),
    )
    if parse.refused:
        raise OutcomeRefused(f"Outcome refused: {parse.refused[0].as_dict()['reason']}.")
    row = parse.rows[0]
    values = {"query": row.query, "score": row.score, "good": row.good}
    if decision_id is None:
        return Outcome.objects.create(router=router, tier=row.tier, source=source, **values)
    outcome, _ = Outcome.objects.update_or_create(
        router=router, decision_id=decision_id, tier=row.tier, source=source, defaults=values
    )
    return outcome


def outcomes_import(*, router: Router, rows: list[OutcomeIn], source: str = "import") -> int:
    """Store checked rows (from outcome_file_parse / outcome_rows_check) in one transaction."""
    with transaction.atomic():
        for start in range(0, len(rows), WRITE_BATCH):
            Outcome.objects.bulk_create(
                Outcome(
                    router=router,
                    query=row.query,
                    tier=row.tier,
                    score=row.score,
                    good=row.good,
                    source=source,
                )
                for row in rows[start : start + WRITE_BATCH]
            )
    return len(rows)


def _upsert_automatic(router: Router, source: str, found: dict[tuple, tuple]) -> int:
    """found: (decision_id, tier) -> (query, good). Creates new rows, updates changed ones."""
    if not found:
        return 0
    existing = {
        (decision_id, tier): (pk, good)
        for pk, decision_id, tier, good in Outcome.objects.filter(
            router=router, source=source, decision_id__in={key[0] for key in found}
        ).values_list("pk", "decision_id", "tier", "good")
    }
    new = []
    for (decision_id, tier), (query, good) in found.items():
        before = existing.get((decision_id, tier))
        if before is None:
            new.append(
                Outcome(
                    router=router,
                    query=query,
                    tier=tier,
                    score=float(good),
                    good=good,
                    source=source,
                    decision_id=decision_id,
                )
            )
        elif before[1] != good:
            Outcome.objects.filter(pk=before[0]).update(good=good, score=float(good))
    Outcome.objects.bulk_create(new, batch_size=WRITE_BATCH, ignore_conflicts=True)
    return len(new)


def outcomes_collect(*, router: Router) -> dict[str, int]:
    """Turn what the decision log knows into outcomes; idempotent (run before every fit).

    - thumbs: feedback up/down on a decision -> good/bad for the tier that answered it;
    - escalation: a gateway attempt whose answer failed a quality check -> bad for its tier;
    - reask: a decision re-asked soon after (likely unhelpful) -> bad for the tier that answered.
    """
    tiers = router_tier_names(router)
    decisions = DecisionLog.objects.for_router(router)
    thumbs: dict[tuple, tuple] = {}
    ratings = Feedback.objects.filter(
        decision_id__in=decisions.values("id"), rating__in=("up", "down")
    ).order_by("updated_at")
    latest = {rating.decision_id: rating.rating == "up" for rating in ratings}
    for decision_id, query, tier, answer_tier in decisions.filter(id__in=list(latest)).values_list(
        "id", "query", "tier", "answer_tier"
    ):
        answered = answer_tier or tier
        if answered in tiers:
            thumbs[(decision_id, answered)] = (query, latest[decision_id])
    escalations: dict[tuple, tuple] = {}
    for decision_id, query, attempts in decisions.filter(escalations__gt=0).values_list(
        "id", "query", "attempts"
    ):
        for attempt in attempts or []:
            if (
                isinstance(attempt, dict)
                and attempt.get("outcome") in QUALITY_FAILURES
                and attempt.get("tier") in tiers
            ):
                escalations[(decision_id, attempt["tier"])] = (query, False)
    reasks: dict[tuple, tuple] = {}
    for decision_id, query, tier, answer_tier in decisions.filter(reasked=True).values_list(
        "id", "query", "tier", "answer_tier"
    ):
        answered = answer_tier or tier
        if answered in tiers:
            reasks[(decision_id, answered)] = (query, False)
    with transaction.atomic():
        return {
            "thumbs": _upsert_automatic(router, "thumbs", thumbs),
            "escalation": _upsert_automatic(router, "escalation", escalations),
            "reask": _upsert_automatic(router, "reask", reasks),
        }


# -- fitting -----------------------------------------------------------------------------------


def ranked_tiers(router: Router) -> list[str]:
    """Enabled tiers from the cheapest to the best (by quality, then cost, then rank)."""
    specs = [tier_spec(tier) for tier in ModelTier.objects.filter(router=router, enabled=True)]
    specs.sort(key=lambda spec: (spec.quality, tier_cost_usd(spec, 100, 400), spec.rank))
    return [spec.name for spec in specs]


def quality_training_start(
    *,
    router: Router,
    method: str = "logistic",
    held_out_fraction: float = 0.3,
    seed: int = 0,
    user=None,
) -> QualityTraining:
    """Queue a fit (a Celery task after commit; eager in the embedded default)."""
    from analytics.outcomes.tasks import quality_training_task

    if method not in TRAINING_METHODS:
        raise OutcomeRefused(f"Unknown method {method!r}; use {' or '.join(TRAINING_METHODS)}.")
    if not 0.05 <= held_out_fraction <= 0.8:
        raise OutcomeRefused("The held-out part must be between 5% and 80% of the outcomes.")
    training = QualityTraining.objects.create(
        router=router,
        method=method,
        held_out_fraction=held_out_fraction,
        seed=seed,
        created_by=user if getattr(user, "is_authenticated", False) else None,
    )
    transaction.on_commit(lambda: quality_training_task.delay(training.pk))
    return training


def _progress(training_id: int, **values) -> None:
    QualityTraining.objects.filter(pk=training_id).update(**values)


def outcome_vectors_compute(*, router: Router, training_id: int | None = None) -> int:
    """Vectors for the router's outcomes that have none (one encoding per distinct query)."""
    encoder = active_encoder()
    pending = defaultdict(list)
    for pk, query in (
        Outcome.objects.for_router(router).needing_vectors(encoder.name).values_list("pk", "query")
    ):
        pending[query].append(pk)
    queries = list(pending)
    if training_id:
        _progress(training_id, phase="encoding queries", done=0, total=len(queries))
    for start in range(0, len(queries), ENCODE_BATCH):
        batch = queries[start : start + ENCODE_BATCH]
        matrix = encoder.encode(batch)
        with transaction.atomic():
            for query, vector in zip(batch, matrix, strict=True):
                Outcome.objects.filter(pk__in=pending[query]).update(
                    vector=np.asarray(vector, dtype=np.float32).tobytes(), encoder=encoder.name
                )
        if training_id:
            _progress(training_id, done=min(start + ENCODE_BATCH, len(queries)))
    return len(queries)


def _training_inputs(router: Router, tier_order: list[str]):
    """Distinct queries, their vectors, and per tier the mean score of each query's outcomes."""
    encoder = active_encoder()
    index: dict[str, int] = {}
    vectors: list[bytes] = []
    sums: dict[str, dict[int, list[float]]] = {tier: defaultdict(list) for tier in tier_order}
    rows = (
        Outcome.objects.for_router(router)
        .filter(tier__in=tier_order, encoder=encoder.name)
        .order_by("id")
        .values_list("query", "tier", "score", "vector")
    )
    for query, tier, score, vector in rows.iterator(chunk_size=5000):
        position = index.get(query)
        if position is None:
            position = index[query] = len(vectors)
            vectors.append(bytes(vector))
        sums[tier][position].append(score)
    matrix = (
        np.frombuffer(b"".join(vectors), dtype=np.float32).reshape(len(vectors), -1)
        if vectors
        else np.zeros((0, encoder.dim), dtype=np.float32)
    )
    scores = {
        tier: {position: float(np.mean(values)) for position, values in by_query.items()}
        for tier, by_query in sums.items()
    }
    return list(index), matrix, scores, encoder.name


def quality_training_execute(*, training_id: int) -> QualityTraining | None:
    """Collect, encode, fit and install; idempotent (only a queued training is claimed)."""
    claimed = QualityTraining.objects.filter(pk=training_id, state=TrainingState.QUEUED).update(
        state=TrainingState.RUNNING, phase="collecting outcomes", error=""
    )
    if not claimed:
        return QualityTraining.objects.filter(pk=training_id).first()
    training = QualityTraining.objects.select_related("router").get(pk=training_id)
    router = training.router
    try:
        collected = outcomes_collect(router=router)
        outcome_vectors_compute(router=router, training_id=training_id)
        tier_order = ranked_tiers(router)
        if len(tier_order) < 2:
            raise OutcomeRefused("Needs at least two enabled tiers (a cheaper one and the best).")
        queries, vectors, scores, encoder_name = _training_inputs(router, tier_order)
        if not queries:
            raise OutcomeRefused(
                "Not enough outcomes to fit any tier: the router has no outcome records for its "
                "enabled tiers yet (import some, or collect thumbs and escalations first)."
            )
        _progress(training_id, phase="fitting", done=0, total=len(tier_order) - 1)
        fit = quality_head_fit(
            queries=queries,
            vectors=vectors,
            scores=scores,
            tier_order=tier_order,
            encoder_name=encoder_name,
            method=training.method,
            held_out_fraction=training.held_out_fraction,
            seed=training.seed,
            progress=lambda step: _progress(training_id, done=step),
        )
        metrics = {
            "best_tier": tier_order[-1],
            "queries": len(queries),
            "outcomes": sum(len(by_query) for by_query in scores.values()),
            "collected": collected,
            "tiers": fit.metrics,
        }
        if fit.head is None:
            reasons = "; ".join(
                f"{tier}: {entry.get('skipped', 'no model')}" for tier, entry in fit.metrics.items()
            )
            raise OutcomeRefused(f"Not enough outcomes to fit any tier ({reasons}).")
        document = quality_head_document(fit.head)
        document["trained_at"] = timezone.now().isoformat()
        document["label"] = f"training {training_id}"
        head = quality_head_install(router=router, document=document, summary=metrics)
        _progress(
            training_id,
            state=TrainingState.DONE,
            phase="",
            metrics=metrics,
            head_id=head.pk,
            finished_at=timezone.now(),
        )
    except Exception as exc:  # noqa: BLE001 - a failed fit records why instead of vanishing
        if not isinstance(exc, OutcomeRefused):
            logger.exception("quality training %s failed", training_id)
        _progress(
            training_id,
            state=TrainingState.FAILED,
            phase="",
            error=str(exc)[:2000]
            if isinstance(exc, OutcomeRefused)
            else f"{type(exc).__name__}: {exc}"[:2000],
            finished_at=timezone.now(),
        )
    return QualityTraining.objects.get(pk=training_id)
