"""CLINC150 through the evaluation feature itself: the same data, engine and rule as
bench/engine_accuracy.py's "linear (default)" row, but as a router in the database, a labelled set
and an evaluation run (the Celery task's code, in-process), with the threshold it suggests.

Run: .venv/bin/python bench/evaluation_clinc150.py [--no-compare]
Examples: the 15,000 training queries (vectors from the bench cache, as engine_accuracy.py uses).
Labelled set: the 3,000 in-scope validation queries and the 100 out-of-scope ones (intent null).
Policy: linear, threshold 0.0 (engine_accuracy's row), so the stored scores carry every decision
and the suggested threshold (in-scope accuracy >= 95%) is that script's operating point.
Query vectors come from the encoder's LRU, pre-filled as engine_accuracy.py does: the run time
measures routing and scoring, not the encoder. A throwaway SQLite database in the bench cache.
--no-compare skips engine_accuracy's own computation on the same data in this process.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import CACHE_DIR, TIERS, clinc_snapshot, clinc_vectors, load_clinc  # noqa: E402

DATABASE = CACHE_DIR / "evaluation_clinc150.sqlite3"
IN_SCOPE_FLOOR = 0.95


def django_setup() -> None:
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    DATABASE.unlink(missing_ok=True)
    os.environ["DATABASE_URL"] = f"sqlite:///{DATABASE}"
    for name in ("CELERY_BROKER_URL", "REDIS_URL"):
        os.environ.pop(name, None)  # eager tasks, local cache: nothing shared is touched
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "semroute_site.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def clinc_document(clinc) -> dict:
    names = sorted({intent for _, intent in clinc["train"]})
    examples: dict[str, list[str]] = {name: [] for name in names}
    for text, intent in clinc["train"]:
        examples[intent].append(text)
    return {
        "format": "semroute.router/1",
        "slug": "clinc150",
        "name": "CLINC150",
        "policy": {"method": "linear", "threshold": 0.0},
        "tiers": [
            {
                "name": tier.name,
                "rank": tier.rank,
                "provider": tier.provider,
                "model": tier.model,
                "price_in_per_mtok": tier.price_in_per_mtok,
                "price_out_per_mtok": tier.price_out_per_mtok,
                "quality": tier.quality,
                "latency_ms": tier.latency_ms,
            }
            for tier in TIERS
        ],
        "intents": [
            {
                "name": name,
                "handler": f"handlers.{name}",
                "description": name.replace("_", " "),
                "examples": examples[name],
            }
            for name in names
        ],
    }


def grouped_by_intent(clinc, vectors):
    """The training split in the order the database returns it: by intent, file order within."""
    order = sorted(range(len(clinc["train"])), key=lambda i: clinc["train"][i][1])
    return {**clinc, "train": [clinc["train"][i] for i in order]}, {
        **vectors,
        "train": vectors["train"][order],
    }


def engine_accuracy_numbers(clinc, vectors, encoder) -> dict:
    """bench/engine_accuracy.py's "linear (default)" row, computed by its own functions."""
    from bench.engine_accuracy import gated_confidence, operating_point
    from routing.engine import Policy, compile_router

    router = compile_router(
        clinc_snapshot(
            clinc, vectors, Policy(method="linear", threshold=0.0), encoder_name=encoder.name
        )
    )
    texts = [text for text, _ in clinc["val"]] + [text for text, _ in clinc["oos_val"]]
    decisions = router.route_batch(texts, encoder=encoder)
    n_val = len(clinc["val"])
    predicted = np.array([d.trace.top_intents[0].intent for d in decisions[:n_val]])
    correct = predicted == np.array([intent for _, intent in clinc["val"]])
    confidence = gated_confidence(decisions)
    val_conf, oos_conf = confidence[:n_val], confidence[n_val:]
    threshold = operating_point(correct, val_conf)
    return {
        "top1": float(correct.mean()),
        "threshold": threshold,
        "in_scope": float((correct & (val_conf >= threshold)).mean()),
        "oos_recall": float((oos_conf < threshold).mean()),
    }


def main() -> None:
    django_setup()
    from django.test.utils import CaptureQueriesContext  # noqa: F401 - Django is ready

    from analytics.evaluations.services import (
        evaluation_run_create,
        evaluation_run_execute,
        labelled_set_from_examples,
    )
    from routing.services.config_apply import router_config_apply
    from routing.vectors import active_encoder

    clinc = load_clinc()
    encoder = active_encoder()
    vectors = clinc_vectors(clinc, encoder_name=encoder.name)
    # Pre-fill the encoder's LRU (as engine_accuracy.py does): examples and queries skip the model.
    encoder._cache.max_entries = 25_000
    for split in ("train", "val", "oos_train", "oos_val"):
        for (text, _), vector in zip(clinc[split], vectors[split], strict=True):
            encoder._cache.put(text, vector)

    started = time.perf_counter()
    result = router_config_apply(document=clinc_document(clinc), summary="CLINC150 train")
    assert result.applied, result.problems[:5]
    router = result.router
    print(
        f"router: {len(clinc['train']):,} examples, 150 intents, {time.perf_counter() - started:.1f}s"
    )
    labelled = [(text, intent) for text, intent in clinc["val"]] + [
        (text, None) for text, _ in clinc["oos_val"]
    ]
    labelled_set = labelled_set_from_examples(router=router, examples=labelled, name="CLINC150 val")
    run = evaluation_run_create(labelled_set=labelled_set, enqueue=False)
    from routing.snapshots import compiled_router

    started = time.perf_counter()
    compiled_router(router)
    compile_seconds = time.perf_counter() - started
    started = time.perf_counter()
    run = evaluation_run_execute(run_id=run.pk)
    seconds = time.perf_counter() - started
    assert run.state == "done", run.error
    m, s = run.metrics, run.suggestions
    target = s["target"]
    print(
        f"evaluation run #{run.pk}: {run.total:,} queries in {seconds:.2f}s "
        f"(compile {compile_seconds:.1f}s before it; batches of 256, no decision cache)"
    )
    print(f"  as decided (threshold {m['threshold']}):")
    for key in ("in_scope_accuracy", "oos_recall", "oos_precision", "top1_accuracy"):
        print(f"    {key:20} {m[key]:.4f}")
    print(
        f"  suggested threshold (in-scope >= {IN_SCOPE_FLOOR:.0%}): {target['threshold']:.4f} "
        f"-> in-scope {target['in_scope_accuracy']:.4f}, out-of-scope recall {target['oos_recall']:.4f}"
    )
    weighted = s["weighted"]
    print(
        f"  best weighted sum (weight 0.5): {weighted['threshold']:.4f} -> in-scope "
        f"{weighted['in_scope_accuracy']:.4f}, out-of-scope recall {weighted['oos_recall']:.4f}"
    )
    print(f"  per-intent thresholds suggested: {len(s['per_intent_thresholds'])}")
    print(f"  stages: {m['stages']}")
    if "--no-compare" in sys.argv:
        return
    expected = engine_accuracy_numbers(clinc, vectors, encoder)
    grouped = engine_accuracy_numbers(*grouped_by_intent(clinc, vectors), encoder)
    ours = {
        "top1": m["top1_accuracy"],
        "threshold": target["threshold"],
        "in_scope": target["in_scope_accuracy"],
        "oos_recall": target["oos_recall"],
    }
    print("\nengine_accuracy.py 'linear (default)' on the same data, this process:")
    print(f"  {'':12} {'evaluation':>11} {'engine_accuracy':>16} {'same, by intent':>16}")
    for key in ours:
        print(f"  {key:12} {ours[key]:11.6f} {expected[key]:16.6f} {grouped[key]:16.6f}")
    for label, other in (("file order", expected), ("examples grouped by intent", grouped)):
        gap = max(abs(ours[key] - other[key]) for key in ours)
        rates = all(ours[key] == other[key] for key in ("top1", "in_scope", "oos_recall"))
        print(
            f"  vs engine_accuracy, {label}: rates {'identical' if rates else 'DIFFERENT'}, "
            f"largest difference {gap:.2g}"
        )
    if any(ours[key] != expected[key] for key in ("top1", "in_scope", "oos_recall")):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
