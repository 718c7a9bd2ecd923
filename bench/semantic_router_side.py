"""semantic-router 1.1.x side of the comparison; run by the benchmarks in the bench-only venv.

Usage: semantic_router_side.py {accuracy|latency} REQUEST.json -> one JSON line on stdout.
The routes are the CLINC150 training utterances; the encoder is a `DenseEncoder` subclass that
wraps the engine's own local encoder named by the request's "encoder" (float32 by default), so
both routers see identical vectors.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from semantic_router import Route  # noqa: E402
from semantic_router.encoders import DenseEncoder  # noqa: E402
from semantic_router.routers import IndexedRouter  # noqa: E402
from semantic_router.routers.base import run  # noqa: E402

from bench.common import (  # noqa: E402
    clinc_vectors,
    load_clinc,
    local_encoder,
    percentile,
    rss_mb,
)
from routing.engine import LOCAL_ENCODER_NAME  # noqa: E402

_local = None  # the engine's local encoder, chosen by the request
_known: dict[str, np.ndarray] = {}


class LocalMiniLMEncoder(DenseEncoder):
    """The engine's int8 MiniLM; texts whose vectors were precomputed skip the model."""

    name: str = "minilm-l6-v2-int8"
    type: str = "local"

    def __call__(self, docs):
        missing = [doc for doc in docs if doc not in _known]
        if missing:
            for doc, vector in zip(missing, _local.encode(missing), strict=True):
                if use_table:
                    _known[doc] = vector
        rows = [_known[doc] if doc in _known else _local.encode([doc])[0] for doc in docs]
        return [row.tolist() for row in rows]


use_table = True


def build_router(clinc, aggregation: str, top_k: int) -> IndexedRouter:
    by_intent: dict[str, list[str]] = {}
    for text, intent in clinc["train"]:
        by_intent.setdefault(intent, []).append(text)
    routes = [Route(name=name, utterances=texts) for name, texts in by_intent.items()]
    return IndexedRouter(
        encoder=LocalMiniLMEncoder(), routes=routes, top_k=top_k, aggregation=aggregation
    )


def accuracy(request: dict) -> dict:
    clinc = load_clinc()
    vectors = clinc_vectors(clinc, encoder_name=_local.name)
    for split in ("train", "val", "oos_train", "oos_val"):
        for (text, _), vector in zip(clinc[split], vectors[split], strict=True):
            _known[text] = vector
    results = {}
    fit_x = [t for t, _ in clinc["val"]] + [t for t, _ in clinc["oos_train"]]
    fit_y = [i for _, i in clinc["val"]] + [None] * len(clinc["oos_train"])
    eval_texts = [t for t, _ in clinc["val"]] + [t for t, _ in clinc["oos_val"]]
    for aggregation in request["aggregations"]:
        started = time.perf_counter()
        router = build_router(clinc, aggregation, request["top_k"])
        build_seconds = time.perf_counter() - started
        started = time.perf_counter()
        report = router.fit(fit_x, fit_y)
        fit_seconds = time.perf_counter() - started
        rows = []
        for scores in run(router._scores_many(eval_texts)):
            top = max(scores, key=scores.__getitem__)
            rows.append((top, float(router._probs(scores)[top])))
        results[aggregation] = {
            "top": [top for top, _ in rows],
            "confidence": [conf for _, conf in rows],
            "build_seconds": build_seconds,
            "fit_seconds": fit_seconds,
            "fit_accuracy": report.accuracy,
        }
    return results


def latency(request: dict) -> dict:
    global use_table
    clinc = load_clinc()
    vectors = clinc_vectors(clinc, encoder_name=_local.name)
    for (text, _), vector in zip(clinc["train"], vectors["train"], strict=True):
        _known[text] = vector
    rss_before = rss_mb()
    router = build_router(clinc, request["aggregation"], request["top_k"])
    rss_after = rss_mb()
    queries = request["queries"]
    use_table = False  # every query goes through the encoder, as in production
    for query in queries[:20]:
        router(query)
    timings = []
    for query in queries:
        started = time.perf_counter_ns()
        router(query)
        timings.append((time.perf_counter_ns() - started) / 1e6)
    return {
        "p50_ms": percentile(timings, 50),
        "p95_ms": percentile(timings, 95),
        "p99_ms": percentile(timings, 99),
        "n": len(timings),
        "router_rss_mb": rss_after - rss_before,
    }


if __name__ == "__main__":
    command, request_path = sys.argv[1], sys.argv[2]
    payload = json.loads(Path(request_path).read_text())
    _local = local_encoder(
        payload.get("encoder", LOCAL_ENCODER_NAME),
        threads=int(os.environ.get("SR_THREADS", "1")),
        cache_size=0,
    )
    output = accuracy(payload) if command == "accuracy" else latency(payload)
    print(json.dumps(output))
