"""What the hard-query stages cost a routing call on the demo router: engine latency p50 per query.

Run on this tree and on a tree without the stages, back to back (the script uses only what both
have; `routing` is imported from PYTHONPATH first):
    .venv/bin/python bench/hard_queries_overhead.py
    PYTHONPATH=/path/to/main .venv/bin/python bench/hard_queries_overhead.py
Single-clause queries (the negated set) and multi-sentence ones (single_intent.json), each routed
--repeat times, uncached (vectors come from the encoder's LRU after the first pass, so the figures
are the cascade around the encoder). With the stages present, also with every feature on.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.append(str(ROOT))  # after PYTHONPATH: the tree under test may be another one

import routing  # noqa: E402
from routing.engine import LocalOnnxEncoder, compile_router  # noqa: E402

# The demo snapshot builder, loaded by path so it comes from this tree whatever PYTHONPATH says.
_spec = importlib.util.spec_from_file_location("demo_engine", ROOT / "tests/engine/demo_engine.py")
demo_engine = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(demo_engine)
HARD_SETS, demo_snapshot = demo_engine.HARD_SETS, demo_engine.demo_snapshot


def p50_ms(router, encoder, queries, policy, repeat):
    samples = []
    for _ in range(repeat):
        for query in queries:
            samples.append(router.route(query, encoder=encoder, policy=policy).latency_ms)
    return statistics.median(samples), len(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    encoder = LocalOnnxEncoder(threads=1)
    router = compile_router(demo_snapshot(encoder))
    sets = {
        "single-clause": [i["query"] for i in json.loads((HARD_SETS / "negated.json").read_text())],
        "multi-sentence": [
            i["query"] for i in json.loads((HARD_SETS / "single_intent.json").read_text())
        ],
    }
    policies = {"demo policy": router.snapshot.policy}
    if hasattr(router.snapshot.policy, "detect_negation"):
        policies["features on"] = dataclasses.replace(
            router.snapshot.policy, detect_negation=True, split_intents=True, detect_language=True
        )
    print(f"routing from {Path(routing.__file__).parent.parent}")
    for name, queries in sets.items():
        for label, policy in policies.items():
            p50, n = p50_ms(router, encoder, queries, policy, args.repeat)
            print(f"{name:15s} {label:12s} p50 {p50:.3f} ms (n={n})")


if __name__ == "__main__":
    main()
