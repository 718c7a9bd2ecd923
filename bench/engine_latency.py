"""Per-decision latency of the 150-intent CLINC router on one core, and semantic-router's.

Run: taskset -c 0 .venv/bin/python bench/engine_latency.py
onnxruntime runs with one intra-op thread; every query is distinct and the encoder's LRU is off,
so "uncached" means the full path: rules, encoding, classification, complexity, tier policy.
Everything uses the default local encoder (int8 arithmetic), semantic-router included; the
uncached decision is also measured with the float32 encoder as a baseline, the two taking turns
in blocks of 50 queries so both see the same machine.

Short configuration (to compare two trees back to back): SEMROUTE_BENCH_SHORT=1 measures only the
linear router (no centroid/kNN compile, no float32 baseline, no semantic-router), and
SEMROUTE_BENCH_QUERIES=N routes N queries instead of 1000.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (  # noqa: E402
    clinc_snapshot,
    clinc_vectors,
    load_clinc,
    local_encoder,
    percentile,
    rss_mb,
    run_semantic_router_side,
)
from routing.engine import (  # noqa: E402
    LOCAL_ENCODER_NAME,
    LOCAL_FAST_ENCODER_NAME,
    LocalDecisionCache,
    Policy,
    compile_router,
)

N_QUERIES = int(os.environ.get("SEMROUTE_BENCH_QUERIES", "1000"))
SHORT = os.environ.get("SEMROUTE_BENCH_SHORT") == "1"
BLOCK = 50


class PrecomputedEncoder:
    """The queries' vectors looked up, not computed: isolates the cascade from the encoder."""

    def __init__(self, name: str, texts, vectors):
        self.name, self.dim = name, vectors.shape[1]
        self.rows = {text: vectors[i] for i, text in enumerate(texts)}

    def encode(self, texts):
        return np.vstack([self.rows[text] for text in texts])


def summarise(name: str, values_ms) -> dict:
    return {
        "name": name,
        "p50": percentile(values_ms, 50),
        "p95": percentile(values_ms, 95),
        "p99": percentile(values_ms, 99),
        "n": len(values_ms),
    }


def main() -> None:
    clinc = load_clinc()
    # The product's default encoder (int8 arithmetic) is measured throughout; the float32 one
    # is the baseline for the uncached decision, in the same run.
    vectors = clinc_vectors(clinc, encoder_name=LOCAL_FAST_ENCODER_NAME)
    queries = [text for text, _ in clinc["val"]][:N_QUERIES]
    encoder = local_encoder(LOCAL_FAST_ENCODER_NAME, threads=1, cache_size=0)
    encoder.encode(["warm up"])

    results = []
    compile_rows = []
    default_router = None
    for method in ("linear",) if SHORT else ("linear", "centroid", "knn"):
        rss_before = rss_mb()
        started = time.perf_counter()
        router = compile_router(
            clinc_snapshot(
                clinc, vectors, Policy(method=method, threshold=0.3), encoder_name=encoder.name
            )
        )
        compile_seconds = time.perf_counter() - started
        compile_rows.append((method, compile_seconds, rss_mb() - rss_before))
        for query in queries[:20]:
            router.route(query, encoder=encoder)
        stage_micros = []
        query_vectors = vectors["val"][:N_QUERIES]
        classifier = router.classifier_for(router.snapshot.policy)
        # Classification alone: the classifier on a precomputed query vector, one at a time.
        for row in query_vectors:
            started_ns = time.perf_counter_ns()
            if method == "knn":
                classifier.confidences(row[None, :], row[None, :] @ router.example_vectors.T)
            else:
                classifier.confidences(row[None, :])
            stage_micros.append((time.perf_counter_ns() - started_ns) / 1000)
        results.append(summarise(f"{method}: classifier only", np.array(stage_micros) / 1000))
        if method == "linear":
            default_router = router
        else:
            del router

    router = default_router
    contenders = [("linear", router, encoder)]
    float_router = None
    if not SHORT:
        float_encoder = local_encoder(LOCAL_ENCODER_NAME, threads=1, cache_size=0)
        float_router = compile_router(
            clinc_snapshot(
                clinc,
                clinc_vectors(clinc, encoder_name=float_encoder.name),
                Policy(method="linear", threshold=0.3),
                encoder_name=float_encoder.name,
            )
        )
        contenders.append(("linear, float32 encoder (baseline)", float_router, float_encoder))
        for query in queries[:20]:
            float_router.route(query, encoder=float_encoder)
    # The two take turns in blocks of BLOCK queries, so both see the same machine, each with its
    # own model warm in the CPU caches (as in a worker, which runs one encoder).
    timings = {label: ([], [], []) for label, _, _ in contenders}
    for block in range(0, len(queries), BLOCK):
        for (label, contender, contender_encoder), query in (
            (contender, query)
            for contender in contenders
            for query in queries[block : block + BLOCK]
        ):
            started_ns = time.perf_counter_ns()
            decision = contender.route(query, encoder=contender_encoder)
            elapsed_ms = (time.perf_counter_ns() - started_ns) / 1e6
            stages = {stage.stage: stage.micros for stage in decision.trace.stages}
            wall, encode_stage, embedding_stage = timings[label]
            wall.append(elapsed_ms)
            encode_stage.append(stages["encode"] / 1000)
            embedding_stage.append(stages["embedding"] / 1000)
    for label, (wall, encode_stage, embedding_stage) in timings.items():
        results.append(summarise(f"{label}: uncached decision (wall clock)", wall))
        results.append(summarise(f"{label}: trace 'encode' stage", encode_stage))
        results.append(summarise(f"{label}: trace 'embedding' stage", embedding_stage))
    uncached = timings["linear"][0]
    # The engine's own work per decision (rules, classifier, trace, complexity, tier policy).
    lookup = PrecomputedEncoder(encoder.name, queries, vectors["val"][: len(queries)])
    cascade = []
    for _ in range(3):
        for query in queries:
            started_ns = time.perf_counter_ns()
            router.route(query, encoder=lookup)
            cascade.append((time.perf_counter_ns() - started_ns) / 1e6)
    results.append(summarise("linear: uncached decision without encoding", cascade))
    del float_router

    cache = LocalDecisionCache()
    for query in queries:
        router.route(query, encoder=encoder, cache=cache)
    hits = []
    for query in queries:
        started_ns = time.perf_counter_ns()
        decision = router.route(query, encoder=encoder, cache=cache)
        hits.append((time.perf_counter_ns() - started_ns) / 1e6)
        assert decision.cached
    results.append(summarise("linear: cache hit (wall clock)", hits))

    batch = queries[:256]
    started_ns = time.perf_counter_ns()
    router.route_batch(batch, encoder=encoder)
    batch_ms = (time.perf_counter_ns() - started_ns) / 1e6 / len(batch)

    sr = None
    if not SHORT:
        sr = run_semantic_router_side(
            "latency",
            {"aggregation": "mean", "top_k": 5, "queries": queries[:300], "encoder": encoder.name},
        )

    print(f"CPU affinity: {sorted(os.sched_getaffinity(0))}; onnxruntime threads: 1")
    print()
    print(f"{'measurement':50} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'n':>6}")
    for row in results:
        print(
            f"{row['name']:50} {row['p50']:8.3f} {row['p95']:8.3f} {row['p99']:8.3f} {row['n']:6d}"
        )
    print(f"{'linear: route_batch of 256, per query':50} {batch_ms:8.3f}")
    if sr:
        print(
            f"{'semantic-router IndexedRouter k=5 mean':50} {sr['p50_ms']:8.3f} "
            f"{sr['p95_ms']:8.3f} {sr['p99_ms']:8.3f} {sr['n']:6d}"
        )
        engine_p50 = percentile(uncached, 50)
        print(
            f"\nsemroute uncached p50 is {sr['p50_ms'] / engine_p50:.1f}x faster than semantic-router"
        )
    print()
    print(f"{'method':10} {'compile s':>10} {'RSS delta MiB':>14}")
    for method, seconds, rss in compile_rows:
        print(f"{method:10} {seconds:10.2f} {rss:14.1f}")
    if sr:
        print(f"{'sem-router':10} {'':>10} {sr['router_rss_mb']:14.1f}")
    print(f"\nprocess RSS at the end: {rss_mb():.0f} MiB")


if __name__ == "__main__":
    main()
