"""CLINC150 accuracy of each classification method, and semantic-router 1.1.x side by side.

Run: .venv/bin/python bench/engine_accuracy.py  [--no-semantic-router] [--encoder NAME]
NAME is the local encoder: minilm-l6-v2-int8-fast (int8 arithmetic, the product's default) or
minilm-l6-v2-int8 (float32 arithmetic). semantic-router gets the same encoder's vectors.
Examples: the 15,000 training queries. Scoring: the 3,000 in-scope validation queries and the
100 out-of-scope validation queries. The operating threshold of each system is the same rule:
the highest confidence threshold that keeps in-scope validation accuracy >= 95% (so the best
out-of-scope recall that floor allows; recall can only grow with the threshold). A query the
in-domain gate turns away (intent None at threshold 0) counts as rejected at every threshold.
Every decision goes through `CompiledRouter.route_batch` (query vectors come from the encoder's
LRU, pre-filled).

--tune-floor: choose the gate's percentile without touching validation: a router compiled on 4/5
of the training queries scores the held-out 1/5 plus the 100 `oos_train` queries.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (  # noqa: E402
    clinc_snapshot,
    clinc_vectors,
    load_clinc,
    local_encoder,
    run_semantic_router_side,
)
from routing.engine import LOCAL_FAST_ENCODER_NAME, Policy, compile_router  # noqa: E402
from routing.engine.classifiers import learn_similarity_floor, stratified_folds  # noqa: E402

IN_SCOPE_FLOOR = 0.95
ENGINE_CONFIGS = [
    ("linear (default)", Policy(method="linear", threshold=0.0)),
    ("linear, gate off", Policy(method="linear", threshold=0.0, similarity_floor=-1.0)),
    ("centroid", Policy(method="centroid", threshold=-1.0)),
    ("knn k=5 mean", Policy(method="knn", top_k=5, aggregation="mean", threshold=-1.0)),
    ("knn k=5 max", Policy(method="knn", top_k=5, aggregation="max", threshold=-1.0)),
    ("knn k=5 sum", Policy(method="knn", top_k=5, aggregation="sum", threshold=-1.0)),
    ("knn k=10 sum", Policy(method="knn", top_k=10, aggregation="sum", threshold=-1.0)),
]
SR_AGGREGATIONS = ["mean", "max", "sum"]
SR_TOP_K = 5
TUNE_PERCENTILES = (0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0)
# Scores of gated decisions: below any threshold the sweep can choose.
GATED = -2.0


def operating_point(correct, confidence):
    """The highest threshold keeping in-scope accuracy (correct and confident) >= the floor.

    Gated decisions stay rejected at every threshold, including the lowest.
    """
    thresholds = np.unique(confidence[confidence > GATED])
    best = float(thresholds[0])
    for threshold in thresholds:
        if (correct & (confidence >= threshold)).mean() < IN_SCOPE_FLOOR:
            break
        best = float(threshold)
    return best


def in_scope_at_recall(correct, confidence, oos_confidence, target_recall):
    """In-scope accuracy at the lowest threshold reaching `target_recall` on out-of-scope queries."""
    every = np.concatenate([confidence, oos_confidence])
    for threshold in np.unique(every[every > GATED]):
        if (oos_confidence < threshold).mean() >= target_recall:
            return float((correct & (confidence >= threshold)).mean())
    return 0.0


def gated_confidence(decisions) -> np.ndarray:
    """Confidence per decision, GATED where the in-domain gate said "no intent"."""
    return np.array(
        [
            GATED
            if d.intent is None and "out of domain" in d.trace.fallback_reason
            else d.confidence
            for d in decisions
        ]
    )


def option(name: str, default: str) -> str:
    """The value after `name` on the command line, or `default`."""
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


def tune_floor(clinc, vectors, encoder) -> None:
    """Out-of-scope recall at the operating point per floor percentile, on the train split only."""
    labels = np.array([intent for _, intent in clinc["train"]])
    held_out = stratified_folds(np.unique(labels, return_inverse=True)[1], 5)[0]
    keep = np.ones(len(labels), dtype=bool)
    keep[held_out] = False
    train = {**clinc, "train": [clinc["train"][i] for i in np.flatnonzero(keep)]}
    train_vectors = {**vectors, "train": vectors["train"][keep]}
    for (text, _), vector in zip(clinc["train"], vectors["train"], strict=True):
        encoder._cache.put(text, vector)
    router = compile_router(
        clinc_snapshot(train, train_vectors, Policy(threshold=0.0), encoder_name=encoder.name)
    )
    texts = [clinc["train"][i][0] for i in held_out] + [text for text, _ in clinc["oos_train"]]
    gold = labels[held_out]
    print(
        f"floor tuning: {len(keep) - len(held_out)} examples, {len(held_out)} held out + "
        f"{len(clinc['oos_train'])} oos_train"
    )
    print(f"{'percentile':>10} {'floor':>7} {'in-scope':>9} {'oos rec':>8}")
    for percentile in TUNE_PERCENTILES:
        floor = (
            learn_similarity_floor(
                router.example_vectors,
                router.example_labels,
                len(router.intents),
                percentile=percentile,
            ).value
            if percentile
            else -1.0
        )
        policy = Policy(threshold=0.0, similarity_floor=floor)
        decisions = router.route_batch(texts, encoder=encoder, policy=policy)
        confidence = gated_confidence(decisions)
        predicted = np.array([d.trace.top_intents[0].intent for d in decisions[: len(gold)]])
        correct = predicted == gold
        val_conf, oos_conf = confidence[: len(gold)], confidence[len(gold) :]
        threshold = operating_point(correct, val_conf)
        in_scope = (correct & (val_conf >= threshold)).mean()
        recall = (oos_conf < threshold).mean() if in_scope >= IN_SCOPE_FLOOR else 0.0
        print(f"{percentile:10.2f} {floor:7.3f} {in_scope * 100:8.2f}% {recall * 100:7.1f}%")
    print()


def main() -> None:
    clinc = load_clinc()
    encoder_name = option("--encoder", LOCAL_FAST_ENCODER_NAME)
    started = time.perf_counter()
    vectors = clinc_vectors(clinc, encoder_name=encoder_name)
    print(f"encoder {encoder_name}: vectors ready in {time.perf_counter() - started:.1f}s")
    encoder = local_encoder(encoder_name, threads=1, cache_size=20_000)
    # Pre-fill the encoder's LRU so this script measures the classifiers, not the encoder.
    for split in ("val", "oos_train", "oos_val"):
        for (text, _), vector in zip(clinc[split], vectors[split], strict=True):
            encoder._cache.put(text, vector)
    encoder._ensure_loaded()
    if "--tune-floor" in sys.argv:
        tune_floor(clinc, vectors, encoder)

    val_texts = [text for text, _ in clinc["val"]]
    val_gold = [intent for _, intent in clinc["val"]]
    oos_texts = [text for text, _ in clinc["oos_val"]]

    rows = []
    curves = {}
    for label, policy in ENGINE_CONFIGS:
        started = time.perf_counter()
        router = compile_router(clinc_snapshot(clinc, vectors, policy, encoder_name=encoder_name))
        compile_seconds = time.perf_counter() - started
        decisions = router.route_batch(val_texts + oos_texts, encoder=encoder)
        n_val = len(val_texts)
        predicted = [d.trace.top_intents[0].intent for d in decisions[:n_val]]
        confidence = gated_confidence(decisions)
        val_conf = confidence[:n_val]
        oos_conf = confidence[n_val:]
        correct = np.array(predicted) == np.array(val_gold)
        threshold = operating_point(correct, val_conf)
        curves[label] = (correct, val_conf, oos_conf)
        rows.append(
            {
                "system": f"semroute {label}",
                "top1": correct.mean(),
                "threshold": threshold,
                "in_scope": (correct & (val_conf >= threshold)).mean(),
                "oos_recall": (oos_conf < threshold).mean(),
                "calibrated": decisions[0].calibrated,
                "compile_s": compile_seconds,
            }
        )
        print(
            f"  {label}: compiled in {compile_seconds:.1f}s, top-1 {correct.mean():.4f}, "
            f"similarity floor {decisions[0].trace.similarity_floor:.3f}, "
            f"gated: in-scope {(val_conf == GATED).mean() * 100:.2f}%, "
            f"out-of-scope {(oos_conf == GATED).mean() * 100:.0f}%"
        )

    sr = None
    if "--no-semantic-router" not in sys.argv:
        sr = run_semantic_router_side(
            "accuracy",
            {"aggregations": SR_AGGREGATIONS, "top_k": SR_TOP_K, "encoder": encoder_name},
        )
    if sr:
        n_val = len(val_texts)
        for aggregation, result in sr.items():
            top = np.array(result["top"])
            confidence = np.array(result["confidence"])
            correct = top[:n_val] == np.array(val_gold)
            val_conf, oos_conf = confidence[:n_val], confidence[n_val:]
            threshold = operating_point(correct, val_conf)
            curves[f"semantic-router {aggregation}"] = (correct, val_conf, oos_conf)
            rows.append(
                {
                    "system": f"semantic-router IndexedRouter k={SR_TOP_K} {aggregation}",
                    "top1": correct.mean(),
                    "threshold": threshold,
                    "in_scope": (correct & (val_conf >= threshold)).mean(),
                    "oos_recall": (oos_conf < threshold).mean(),
                    "calibrated": True,
                    "compile_s": result["build_seconds"] + result["fit_seconds"],
                }
            )

    print()
    print(
        f"{'system':48} {'top-1':>7} {'thresh':>8} {'in-scope':>9} {'oos rec':>8} "
        f"{'calib':>6} {'build s':>8}"
    )
    for row in rows:
        print(
            f"{row['system']:48} {row['top1'] * 100:6.2f}% {row['threshold']:8.4f} "
            f"{row['in_scope'] * 100:8.2f}% {row['oos_recall'] * 100:7.1f}% "
            f"{'yes' if row['calibrated'] else 'no':>6} {row['compile_s']:8.1f}"
        )

    default = rows[0]
    print()
    print(f"in-scope accuracy at equal out-of-scope recall ({default['oos_recall'] * 100:.0f}%):")
    for name, (correct, val_conf, oos_conf) in curves.items():
        accuracy = in_scope_at_recall(correct, val_conf, oos_conf, default["oos_recall"])
        print(f"  {name:44} {accuracy * 100:6.2f}%")


if __name__ == "__main__":
    main()
