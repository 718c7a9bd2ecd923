"""Evaluation workflows: labelled sets (preview, confirm, split, add as examples) and runs
(create, execute in batches with progress, cancel, apply the suggested thresholds)."""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

import numpy as np
from django.db import transaction
from django.utils import timezone

from analytics.evaluations import scoring
from analytics.evaluations.exceptions import EvaluationConflict, LabelledSetRefused
from analytics.evaluations.models import (
    SET_PARTS,
    EvaluationResult,
    EvaluationRun,
    LabelledRow,
    LabelledSet,
    RunState,
)
from analytics.evaluations.parsing import (
    LabelledParse,
    labelled_file_parse,
    labelled_rows_check,
)
from analytics.evaluations.versions import version_router
from routing.decide import intent_llm_for
from routing.engine import Decision
from routing.engine.classifiers import NEAR_DUPLICATE_SIMILARITY
from routing.exceptions import InvalidInput, NotFound
from routing.models import ExampleSource, Intent, Router
from routing.services.bulk_changes import examples_add_many, router_thresholds_update
from routing.services.versioning import user_or_none
from routing.snapshots import policy_with_changes
from routing.vectors import active_encoder

logger = logging.getLogger("semroute.evaluations")

BATCH_SIZE = 256
DEFAULT_MIN_IN_SCOPE = 0.95
DEFAULT_WEIGHT = 0.5
ROWS_CREATE_BATCH = 2_000


def _intent_names(router: Router) -> list[str]:
    return list(Intent.objects.for_router(router).values_list("name", flat=True))


def _set_save(
    *, router: Router, name: str, parse: LabelledParse, source: str, user, confirmed: bool
) -> LabelledSet:
    with transaction.atomic():
        labelled_set = LabelledSet.objects.create(
            router=router,
            name=name[:200] or "Labelled set",
            source=source,
            confirmed=confirmed,
            row_count=len(parse.rows),
            refusals=parse.report(),
            created_by=user_or_none(user),
        )
        LabelledRow.objects.bulk_create(
            (
                LabelledRow(labelled_set=labelled_set, position=i, text=row.text, intent=row.intent)
                for i, row in enumerate(parse.rows)
            ),
            batch_size=ROWS_CREATE_BATCH,
        )
    return labelled_set


def labelled_set_upload(
    *, router: Router, content: bytes | str, filename: str, name: str, user=None
) -> LabelledSet:
    """Parse an uploaded CSV/JSONL file into an unconfirmed set; its `refusals` is the report.

    Raises parsing.LabelledFileError when the file as a whole cannot be read.
    """
    parse = labelled_file_parse(content, filename=filename, intent_names=_intent_names(router))
    return _set_save(
        router=router,
        name=name or filename,
        parse=parse,
        source="upload",
        user=user,
        confirmed=False,
    )


def labelled_set_save(
    *, router: Router, parse: LabelledParse, name: str, source: str = "api", user=None
) -> LabelledSet:
    """A confirmed set of `parse`'s accepted rows (the caller has seen its refusals)."""
    if not parse.rows:
        raise InvalidInput("No row was accepted; nothing was saved.", details=parse.report())
    return _set_save(
        router=router, name=name, parse=parse, source=source, user=user, confirmed=True
    )


def labelled_set_confirm(*, labelled_set: LabelledSet) -> LabelledSet:
    if not labelled_set.row_count:
        raise InvalidInput("The set has no accepted rows; fix the file and upload it again.")
    LabelledSet.objects.filter(pk=labelled_set.pk).update(confirmed=True)
    labelled_set.confirmed = True
    return labelled_set


def labelled_set_from_examples(
    *, router: Router, examples: Iterable[tuple[str, str | None]], name: str, user=None
) -> LabelledSet:
    """A confirmed set from (text, intent) pairs; any refused row refuses all (nothing saved)."""
    parse = labelled_rows_check(
        ((i, text, intent) for i, (text, intent) in enumerate(examples)),
        intent_names=_intent_names(router),
    )
    if parse.refused:
        report = parse.report()
        raise LabelledSetRefused(
            f"{report['refused']} of {report['refused'] + report['accepted']} examples were "
            "refused; nothing was saved (details list them by index).",
            details=report,
        )
    if not parse.rows:
        raise InvalidInput("Send at least one example.")
    return _set_save(router=router, name=name, parse=parse, source="api", user=user, confirmed=True)


def labelled_set_from_review(*, router: Router, name: str = "", user=None) -> LabelledSet:
    """A confirmed set copied from the review queue's labels now (the latest review of each
    query; out of scope kept): a snapshot, so later reviews never move an old result. Labels of
    intents deleted since are refused, and listed in the set's report."""
    from analytics.review.selectors import reviewed_labels

    labels = reviewed_labels(router)
    parse = labelled_rows_check(
        ((i, label.text, label.intent) for i, label in enumerate(labels)),
        intent_names=_intent_names(router),
    )
    if not parse.rows:
        raise InvalidInput(
            "No reviewed label yet: label items in the review queue first.",
            details=parse.report(),
        )
    stamp = timezone.localtime().strftime("%Y-%m-%d %H:%M")
    return _set_save(
        router=router,
        name=name or f"Reviewed labels {stamp}",
        parse=parse,
        source="review",
        user=user,
        confirmed=True,
    )


def labelled_set_split(*, labelled_set: LabelledSet, fraction: float, seed: int = 0) -> int:
    """Hold out a seeded random `fraction` of the rows (never added as examples); how many."""
    if not 0.0 <= fraction < 1.0:
        raise InvalidInput("The held-out part is a fraction from 0 up to (not including) 1.")
    ids = np.array(
        list(labelled_set.rows.order_by("position").values_list("id", flat=True)), dtype=np.int64
    )
    count = int(round(fraction * len(ids)))
    chosen = np.random.default_rng(seed).permutation(len(ids))[:count]
    held = ids[chosen].tolist()
    with transaction.atomic():
        labelled_set.rows.update(held_out=False)
        for start in range(0, len(held), 500):
            LabelledRow.objects.filter(pk__in=held[start : start + 500]).update(held_out=True)
        LabelledSet.objects.filter(pk=labelled_set.pk).update(
            held_out_fraction=fraction, split_seed=seed
        )
    labelled_set.held_out_fraction, labelled_set.split_seed = fraction, seed
    return count


def labelled_rows_for(labelled_set: LabelledSet, part: str):
    if part not in SET_PARTS:
        raise InvalidInput(f"Unknown part {part!r}; use one of {', '.join(SET_PARTS)}.")
    rows = labelled_set.rows.order_by("position")
    if part == "held_out":
        return rows.filter(held_out=True)
    if part == "rest":
        return rows.filter(held_out=False)
    return rows


def labelled_set_examples_add(*, labelled_set: LabelledSet, user=None):
    """Add the rows outside the held-out part (in-scope ones) as examples, as one version."""
    texts: dict[str, list[str]] = defaultdict(list)
    rows = labelled_set.rows.filter(held_out=False, intent__isnull=False).order_by("position")
    for text, intent in rows.values_list("text", "intent"):
        texts[intent].append(text)
    router = Router.objects.get(pk=labelled_set.router_id)
    existing = set(_intent_names(router))
    return examples_add_many(
        router=router,
        texts_by_intent={name: values for name, values in texts.items() if name in existing},
        source=ExampleSource.IMPORT,
        user=user,
        summary=f"Added examples from labelled set {labelled_set.name!r}",
    )


# Runs ------------------------------------------------------------------------------------------


def _enqueue(run_id: int) -> None:
    from analytics.evaluations.tasks import evaluation_run_task

    transaction.on_commit(lambda: evaluation_run_task.delay(run_id))


def evaluation_run_create(
    *,
    labelled_set: LabelledSet,
    part: str = "all",
    version: int | None = None,
    policy_changes: dict | None = None,
    use_llm: bool = False,
    user=None,
    author_label: str = "",
    enqueue: bool = True,
) -> EvaluationRun:
    """A queued run of `labelled_set` (its `part`) against `version` (None: current); the task
    starts after commit. `policy_changes`: unsaved policy edits (Router.POLICY_FIELDS values)."""
    if not labelled_set.confirmed:
        raise InvalidInput("Confirm the labelled set before evaluating it.")
    router = Router.objects.get(pk=labelled_set.router_id)
    number = router.version if version is None else version
    if not router.versions.filter(number=number).exists():
        raise NotFound(
            f"Router {router.slug!r} has no version {number}.",
            details={"version": number, "current": router.version},
        )
    total = labelled_rows_for(labelled_set, part).count()
    if not total:
        raise InvalidInput(f"The {part.replace('_', '-')} part of this set has no rows.")
    run = EvaluationRun.objects.create(
        router=router,
        labelled_set=labelled_set,
        part=part,
        version_number=number,
        policy_changes=policy_changes or None,
        use_llm=use_llm,
        total=total,
        created_by=user_or_none(user),
        author_label=author_label[:200],
    )
    if enqueue:
        _enqueue(run.pk)
    return run


def _gated(decision: Decision) -> bool:
    """Turned away by the in-domain gate, whatever the threshold (as the engine's check)."""
    trace = decision.trace
    if "out of domain" in trace.fallback_reason:
        return True
    if decision.stage != "fallback" or trace.similarity is None or trace.similarity_floor is None:
        return False
    if trace.similarity >= trace.similarity_floor or not trace.top_intents:
        return False
    # Below the threshold the engine skips the gate; a near-duplicate of the top intent passes it.
    top = trace.top_intents[0].intent
    return not any(
        near.intent == top and near.similarity >= NEAR_DUPLICATE_SIMILARITY
        for near in trace.nearest_examples
    )


def _result(run: EvaluationRun, position: int, text: str, expected, decision: Decision):
    top = decision.trace.top_intents[0] if decision.trace.top_intents else None
    decided = decision.stage != "fallback" and not decision.blocked
    return EvaluationResult(
        run=run,
        position=position,
        text=text,
        expected=expected,
        predicted=decision.intent if decided else None,
        top_intent=top.intent if top else None,
        confidence=top.score if top else float(decision.confidence),
        gated=_gated(decision),
        stage=decision.stage,
        tier=decision.tier,
        estimated_cost_usd=decision.estimated_cost_usd,
        baseline_cost_usd=decision.baseline_cost_usd,
    )


def _progress(run_id: int, **values) -> bool:
    """Write progress if the run is still running; False means it was cancelled meanwhile."""
    return bool(EvaluationRun.objects.filter(pk=run_id, state=RunState.RUNNING).update(**values))


def evaluation_run_execute(*, run_id: int) -> EvaluationRun | None:
    """Route the run's queries in batches (no decision cache; LLM stage only when asked), writing
    progress after each batch and stopping when cancelled; then score it. Idempotent: only a
    queued run is claimed."""
    claimed = EvaluationRun.objects.filter(pk=run_id, state=RunState.QUEUED).update(
        state=RunState.RUNNING, started_at=timezone.now(), done=0, error=""
    )
    if not claimed:
        return EvaluationRun.objects.filter(pk=run_id).first()
    run = EvaluationRun.objects.select_related("router", "labelled_set").get(pk=run_id)
    try:
        run.results.all().delete()
        compiled = version_router(run.router, run.version_number)
        policy = (
            policy_with_changes(compiled.snapshot.policy, run.policy_changes)
            if run.policy_changes
            else None
        )
        encoder = active_encoder()
        llm = intent_llm_for(compiled.snapshot) if run.use_llm else None
        rows = list(labelled_rows_for(run.labelled_set, run.part).values_list("text", "intent"))
        done = 0
        for start in range(0, len(rows), BATCH_SIZE):
            batch = rows[start : start + BATCH_SIZE]
            decisions = compiled.route_batch(
                [text for text, _ in batch], encoder=encoder, llm=llm, cache=None, policy=policy
            )
            EvaluationResult.objects.bulk_create(
                _result(run, start + i, text, expected, decision)
                for i, ((text, expected), decision) in enumerate(zip(batch, decisions, strict=True))
            )
            done += len(batch)
            if not _progress(run_id, done=done):
                return EvaluationRun.objects.get(pk=run_id)
        effective = policy or compiled.snapshot.policy
        intent_thresholds = {
            intent.name: intent.threshold
            for intent in compiled.snapshot.intents
            if intent.threshold is not None
        }
        metrics, suggestions = evaluation_score(
            run_results(run_id), threshold=effective.threshold, intent_thresholds=intent_thresholds
        )
        _progress(
            run_id,
            state=RunState.DONE,
            finished_at=timezone.now(),
            metrics=metrics,
            suggestions=suggestions,
        )
    except Exception as exc:  # noqa: BLE001 - a failed run records why instead of vanishing
        logger.exception("evaluation run %s failed", run_id)
        _progress(
            run_id,
            state=RunState.FAILED,
            finished_at=timezone.now(),
            error=f"{type(exc).__name__}: {exc}"[:2000],
        )
    return EvaluationRun.objects.get(pk=run_id)


def evaluation_run_cancel(*, run: EvaluationRun) -> bool:
    """Cancel a queued or running run (the task stops after its current batch)."""
    cancelled = EvaluationRun.objects.filter(
        pk=run.pk, state__in=[RunState.QUEUED, RunState.RUNNING]
    ).update(state=RunState.CANCELLED, finished_at=timezone.now())
    run.refresh_from_db()
    return bool(cancelled)


RESULT_FIELDS = (
    "position",
    "text",
    "expected",
    "predicted",
    "top_intent",
    "confidence",
    "gated",
    "stage",
    "tier",
    "estimated_cost_usd",
    "baseline_cost_usd",
)


def run_results(run_id: int) -> list[dict]:
    return list(
        EvaluationResult.objects.filter(run_id=run_id).order_by("position").values(*RESULT_FIELDS)
    )


def run_scores(results: Sequence[dict], intent_thresholds: dict[str, float]) -> scoring.Scores:
    fixed = [row["stage"] in ("rule", "llm") for row in results]
    return scoring.Scores.build(
        expected=[row["expected"] for row in results],
        top=[row["top_intent"] for row in results],
        confidence=[row["confidence"] for row in results],
        gated=[row["gated"] for row in results],
        fixed=fixed,
        fixed_predicted=[row["predicted"] for row in results],
        intent_thresholds=intent_thresholds,
    )


def evaluation_suggestions(
    scores: scoring.Scores,
    *,
    threshold: float,
    min_in_scope: float = DEFAULT_MIN_IN_SCOPE,
    weight: float = DEFAULT_WEIGHT,
) -> dict:
    """Router threshold for the in-scope target (else the weighted best), per-intent thresholds."""

    def point(value: float | None) -> dict | None:
        if value is None:
            return None
        predicted = scoring.predictions_at(scores, value)
        headline = scoring.headline_metrics(scores.expected, predicted, scores.top)
        return {
            "threshold": value,
            "in_scope_accuracy": headline["in_scope_accuracy"]["value"],
            "oos_recall": headline["oos_recall"]["value"],
        }

    target = scoring.threshold_for_target(scores, min_in_scope)
    weighted = scoring.threshold_weighted(scores, weight)
    chosen = target if target is not None else weighted
    return {
        "threshold": chosen,
        "per_intent_thresholds": scoring.per_intent_thresholds(
            scores, threshold=chosen, weight=weight
        ),
        "target": {"min_in_scope": min_in_scope, **(point(target) or {"threshold": None})},
        "weighted": {"weight": weight, **point(weighted)},
        "current": point(threshold),
    }


def evaluation_score(
    results: Sequence[dict], *, threshold: float, intent_thresholds: dict[str, float]
) -> tuple[dict, dict]:
    """The run's metrics (as decided) and its threshold suggestions, JSON-ready."""
    scores = run_scores(results, intent_thresholds)
    predicted = np.array([row["predicted"] for row in results], dtype=object)
    headline = scoring.headline_metrics(scores.expected, predicted, scores.top)
    metrics = {
        **{key: value["value"] for key, value in headline.items() if isinstance(value, dict)},
        "rates": {key: value for key, value in headline.items() if isinstance(value, dict)},
        "queries": headline["queries"],
        "in_scope_queries": headline["in_scope_queries"],
        "oos_queries": headline["oos_queries"],
        "per_intent": scoring.per_intent_metrics(scores.expected, predicted),
        "stages": dict(Counter(row["stage"] for row in results)),
        "estimated_cost_usd": float(sum(row["estimated_cost_usd"] for row in results)),
        "baseline_cost_usd": float(sum(row["baseline_cost_usd"] for row in results)),
        "threshold": threshold,
        "intent_thresholds": intent_thresholds,
    }
    return metrics, evaluation_suggestions(scores, threshold=threshold)


def evaluation_apply(
    *,
    run: EvaluationRun,
    threshold: float | None,
    intent_thresholds: dict[str, float] | None = None,
    user=None,
) -> int:
    """Write the chosen thresholds as one new router version; the run records its number."""
    if run.state != RunState.DONE:
        raise EvaluationConflict("Only a finished run's suggestions can be applied.")
    router = Router.objects.get(pk=run.router_id)
    number = router_thresholds_update(
        router=router,
        threshold=threshold,
        intent_thresholds=intent_thresholds or {},
        user=user,
        summary=f"Applied thresholds from evaluation {run.pk}",
    )
    EvaluationRun.objects.filter(pk=run.pk).update(produced_version=number)
    run.produced_version = number
    return number
