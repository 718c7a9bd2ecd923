"""Hard queries on the demo router: negation, two requests in one message, other languages,
retrieved context (issue 17). Labelled set: bench/hard_queries/*.json (origin in its README).

Run: .venv/bin/python bench/hard_queries.py [--repeat N]

Each set is routed by the demo router (routing/demo/support.json, local MiniLM encoder, no LLM
stage: the embedded default) twice: with the hard-query features off (the demo's policy as it
is) and on (detect_negation, split_intents, detect_language). Reported per kind:
- negated: right "not this intent" (the decision is not the negated intent), and controls
  (negations that describe the problem: "I can't log in") that keep their intent;
- two intents: right primary (one of the labelled intents), right secondary (the other one,
  and nothing else);
- single intent (multi-sentence, one request): right intent, and false splits (any secondary);
- languages: language detected right, and how many got a (wrong-language) embedding intent
  vs the unsupported-language policy;
- context: right complexity level with the context vs without it.
Latency: p50 per stage of the traces, and the detectors timed directly on single-clause
queries (goal: negation + split <= 0.3 ms, language <= 0.2 ms).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from routing.engine import (  # noqa: E402
    LocalOnnxEncoder,
    compile_router,
)
from routing.engine.clauses import split_parts  # noqa: E402
from routing.engine.context import RetrievedContext  # noqa: E402
from routing.engine.hard_queries import evidence_index  # noqa: E402
from routing.engine.language import detect_language  # noqa: E402
from tests.engine.demo_engine import demo_snapshot  # noqa: E402  (the demo as a snapshot)

SETS = ROOT / "bench" / "hard_queries"


def load(name: str) -> list[dict]:
    return json.loads((SETS / f"{name}.json").read_text())


def pct(count: int, total: int) -> str:
    return f"{count}/{total} ({100 * count / max(total, 1):.0f}%)"


def route(router, encoder, queries, policy, contexts=None):
    return router.route_batch(queries, encoder=encoder, policy=policy, contexts=contexts)


def context_of(item: dict) -> RetrievedContext:
    documents = item["context"]["documents"]
    if isinstance(documents, list):
        return RetrievedContext.from_documents(documents)
    return RetrievedContext(documents, item["context"]["tokens"])


def p50_micros(samples: list[int]) -> str:
    return f"{statistics.median(samples):.1f} us (n={len(samples)})" if samples else "n/a"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=200, help="timing repetitions per query")
    args = parser.parse_args()
    encoder = LocalOnnxEncoder(threads=1)
    router = compile_router(demo_snapshot(encoder))
    off = router.snapshot.policy
    on = dataclasses.replace(off, detect_negation=True, split_intents=True, detect_language=True)
    lines = [
        f"### {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: hard queries on the demo router "
        f"({platform.machine()}, {platform.python_version()}; other helpers were loading the machine)",
        "",
        "`.venv/bin/python bench/hard_queries.py` — local MiniLM encoder, no LLM stage; "
        "features off (demo policy) vs on (detect_negation, split_intents, detect_language).",
        "",
        "| kind | measure | off | on |",
        "|---|---|---|---|",
    ]
    stage_micros: dict[str, list[int]] = {}

    def collect(decisions):
        for decision in decisions:
            for stage in decision.trace.stages:
                stage_micros.setdefault(stage.stage, []).append(stage.micros)

    # negated
    negated = load("negated")
    queries = [item["query"] for item in negated]
    results = {
        name: route(router, encoder, queries, policy) for name, policy in (("off", off), ("on", on))
    }
    collect(results["on"])
    for label, keep in (
        ("negated: not the negated intent", False),
        ("controls: intent kept", True),
    ):
        cells = []
        for name in ("off", "on"):
            rows = [
                (i, d)
                for i, d in zip(negated, results[name], strict=True)
                if bool(i.get("control")) == keep
            ]
            right = sum(
                d.intent == i["intent"] if keep else d.intent != i["not_intent"] for i, d in rows
            )
            cells.append(pct(right, len(rows)))
        lines.append(f"| negated | {label} | {cells[0]} | {cells[1]} |")

    # two intents and single intents
    two = load("two_intents")
    results = {
        n: route(router, encoder, [i["query"] for i in two], p)
        for n, p in (("off", off), ("on", on))
    }
    collect(results["on"])
    primary, secondary = [], []
    for name in ("off", "on"):
        rows = list(zip(two, results[name], strict=True))
        primary.append(pct(sum(d.intent in i["intents"] for i, d in rows), len(rows)))
        secondary.append(
            pct(
                sum(
                    d.intent in i["intents"]
                    and {s.intent for s in d.secondary_intents} == set(i["intents"]) - {d.intent}
                    for i, d in rows
                ),
                len(rows),
            )
        )
    lines.append(f"| two intents | right primary | {primary[0]} | {primary[1]} |")
    lines.append(
        f"| two intents | right secondary (and no extra) | {secondary[0]} | {secondary[1]} |"
    )
    single = load("single_intent")
    results = {
        n: route(router, encoder, [i["query"] for i in single], p)
        for n, p in (("off", off), ("on", on))
    }
    collect(results["on"])
    rows_on = list(zip(single, results["on"], strict=True))
    right = [
        pct(
            sum(d.intent == i["intent"] for i, d in zip(single, results[n], strict=True)),
            len(single),
        )
        for n in ("off", "on")
    ]
    lines.append(f"| single intent | right intent | {right[0]} | {right[1]} |")
    lines.append(
        f"| single intent | false splits (a secondary intent) | 0/{len(single)} | "
        f"{pct(sum(bool(d.secondary_intents) for _, d in rows_on), len(single))} |"
    )
    lines.append(
        f"| single intent | split into parts | 0/{len(single)} | "
        f"{pct(sum(bool(d.trace.parts) for _, d in rows_on), len(single))} |"
    )

    # languages
    languages = load("languages")
    results = {
        n: route(router, encoder, [i["query"] for i in languages], p)
        for n, p in (("off", off), ("on", on))
    }
    collect(results["on"])
    rows = {n: list(zip(languages, results[n], strict=True)) for n in ("off", "on")}
    lines.append(
        f"| languages | language detected right | n/a | {pct(sum(d.language == i['language'] for i, d in rows['on']), len(languages))} |"
    )
    lines.append(
        "| languages | an embedding intent (MiniLM is English-only): right / wrong | "
        + " | ".join(
            f"{sum(d.stage == 'embedding' and d.intent == i['intent'] for i, d in rows[n])} / "
            f"{sum(d.stage == 'embedding' and d.intent != i['intent'] for i, d in rows[n])}"
            for n in ("off", "on")
        )
        + " |"
    )
    lines.append(
        "| languages | answered by the unsupported-language policy | 0/40 | "
        f"{pct(sum('unsupported-language policy' in d.trace.fallback_reason for _, d in rows['on']), len(languages))} |"
    )
    for code in ("es", "fr", "de", "pt"):
        subset = [(i, d) for i, d in rows["on"] if i["language"] == code]
        lines.append(
            f"| languages | {code}: detected right | n/a | {pct(sum(d.language == code for _, d in subset), len(subset))} |"
        )

    # context
    context_set = load("context")
    contexts = [context_of(item) for item in context_set]
    queries = [item["query"] for item in context_set]
    without = route(router, encoder, queries, off)
    with_context = route(router, encoder, queries, off, contexts)
    collect(with_context)
    lines.append(
        f"| context | right complexity | {pct(sum(d.complexity == i['complexity'] for i, d in zip(context_set, without, strict=True)), 40)} (no context sent) | "
        f"{pct(sum(d.complexity == i['complexity'] for i, d in zip(context_set, with_context, strict=True)), 40)} |"
    )
    cost_without = sum(d.estimated_cost_usd for d in without)
    cost_with = sum(d.estimated_cost_usd for d in with_context)
    lines.append(
        f"| context | estimated cost of the 40 (context tokens counted) | ${cost_without:.4f} | ${cost_with:.4f} |"
    )

    # latency: detectors timed directly on single-clause queries
    single_clause = [q for q in (i["query"] for i in negated) if not split_parts(q)]
    evidence = evidence_index(router)
    decisions = route(router, encoder, single_clause, off)
    split_ns, negation_ns, language_ns = [], [], []
    for query, decision in zip(single_clause, decisions, strict=True):
        intent = decision.intent or decision.trace.top_intents[0].intent
        nearest = next(
            (e.text for e in decision.trace.nearest_examples if e.intent == intent), None
        )
        for _ in range(args.repeat):
            start = time.perf_counter_ns()
            split_parts(query)
            middle = time.perf_counter_ns()
            evidence.check(query, intent, nearest)
            end = time.perf_counter_ns()
            detect_language(query)
            split_ns.append(middle - start)
            negation_ns.append(end - middle)
            language_ns.append(time.perf_counter_ns() - end)
    both = [a + b for a, b in zip(split_ns, negation_ns, strict=True)]
    lines += [
        "",
        f"Detectors timed directly, {len(single_clause)} single-clause queries x {args.repeat}: "
        f"split p50 {statistics.median(split_ns) / 1000:.1f} us, negation check p50 "
        f"{statistics.median(negation_ns) / 1000:.1f} us, split + negation p50 "
        f"{statistics.median(both) / 1000:.1f} us (goal <= 300 us); language detection p50 "
        f"{statistics.median(language_ns) / 1000:.1f} us (goal <= 200 us).",
        "",
        "Stage p50 from the traces (features on, every set): "
        + "; ".join(
            f"{stage} {p50_micros(stage_micros[stage])}"
            for stage in (
                "language",
                "split",
                "encode",
                "embedding",
                "parts",
                "negation",
                "context",
            )
            if stage in stage_micros
        )
        + ".",
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
