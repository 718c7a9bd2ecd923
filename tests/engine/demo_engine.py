"""The demo router (routing/demo/support.json) as an engine snapshot, without Django, and the
decision summary the "routes exactly as before" test compares. Uses only what main had before
the hard-query stages, so `python -m tests.engine.demo_engine` can run on that tree too."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

from routing.engine import IntentSpec, Policy, RouterSnapshot, RuleSpec, TierSpec

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "routing" / "demo" / "support.json"
HARD_SETS = ROOT / "bench" / "hard_queries"
GOLDEN = Path(__file__).resolve().parent / "data" / "demo_decisions_before_hard_queries.json"


def demo_snapshot(encoder) -> RouterSnapshot:
    document = json.loads(DEMO.read_text())
    pairs = [(text, i["name"]) for i in document["intents"] for text in i["examples"]]
    policy_fields = {f.name for f in dataclasses.fields(Policy)}
    tier_fields = {f.name for f in dataclasses.fields(TierSpec)}
    complexity = [
        (text, level) for level, texts in document["complexity_examples"].items() for text in texts
    ]
    return RouterSnapshot(
        slug=document["slug"],
        version=1,
        encoder_name=encoder.name,
        intents=tuple(
            IntentSpec(
                i["name"],
                i["handler"],
                i.get("description", ""),
                i.get("threshold"),
                i.get("min_tier"),
            )
            for i in document["intents"]
        ),
        example_texts=tuple(text for text, _ in pairs),
        example_intents=tuple(name for _, name in pairs),
        example_vectors=encoder.encode([text for text, _ in pairs]),
        complexity_texts=tuple(text for text, _ in complexity),
        complexity_levels=tuple(level for _, level in complexity),
        complexity_vectors=encoder.encode([text for text, _ in complexity]),
        rules=tuple(
            RuleSpec(
                id=n,
                **{
                    k: r.get(k) for k in ("kind", "pattern", "priority", "action", "intent", "tier")
                },
                reason=r.get("reason", ""),
            )
            for n, r in enumerate(document["rules"], start=1)
        ),
        tiers=tuple(
            TierSpec(**{k: v for k, v in t.items() if k in tier_fields}) for t in document["tiers"]
        ),
        policy=Policy(**{k: v for k, v in document["policy"].items() if k in policy_fields}),
    )


def hard_queries() -> list[str]:
    """Every query of the hard-query sets (the queries most likely to be routed differently)."""
    queries = []
    for path in sorted(HARD_SETS.glob("*.json")):
        queries.extend(item["query"] for item in json.loads(path.read_text()))
    return queries


def summary(decision) -> dict:
    """What a decision says, less its timings."""
    trace = decision.trace
    return {
        "intent": decision.intent,
        "handler": decision.handler,
        "confidence": round(decision.confidence, 6),
        "stage": decision.stage,
        "complexity": decision.complexity,
        "tier": decision.tier,
        "estimated_cost_usd": round(decision.estimated_cost_usd, 9),
        "baseline_cost_usd": round(decision.baseline_cost_usd, 9),
        "policy_digest": decision.policy_digest,
        "stages": [[stage.stage, stage.outcome] for stage in trace.stages],
        "top_intents": [[score.intent, round(score.score, 6)] for score in trace.top_intents],
        "fallback_reason": trace.fallback_reason,
        "notes": trace.notes,
    }


def main() -> None:
    from routing.engine import LocalOnnxEncoder, compile_router

    encoder = LocalOnnxEncoder(threads=1)
    router = compile_router(demo_snapshot(encoder))
    queries = hard_queries()
    decisions = router.route_batch(queries, encoder=encoder)
    GOLDEN.write_text(
        json.dumps(
            {
                "origin": "python -m tests.engine.demo_engine run on main before the hard-query "
                "stages (the tree at /work/wt-base), 2026-12-01",
                "decisions": {q: summary(d) for q, d in zip(queries, decisions, strict=True)},
            },
            indent=1,
            ensure_ascii=False,
        )
        + "\n"
    )
    print(f"wrote {len(queries)} decisions to {GOLDEN}", file=sys.stderr)


if __name__ == "__main__":
    main()
