"""How good is the demo router's own data? Conflicts, leave-one-out accuracy, clear-query confidence.

Run: .venv/bin/python bench/demo_quality.py [--no-loo] [path/to/router.json]
(default: routing/demo/support.json; --no-loo skips the slow part, one compile per example)

- conflicts: examples whose nearest neighbour (itself excluded) belongs to another intent, the
  console's check (routing/conflicts.py), on the product's default encoder.
- leave-one-out: each example is taken out, the router is recompiled on the rest with the demo's
  policy (linear head, its thresholds) and rules off, and the held-out text is routed; accuracy is
  the share routed to its own intent (a "no intent" answer counts as wrong); also the share that
  lands on the right intent whatever the threshold (top-1).
- clear queries: everyday phrasings a newcomer types first, routed by the whole demo (rules on);
  each must reach its intent with a confidence of at least CLEAR_MIN_CONFIDENCE.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "semroute_site.settings")

import django  # noqa: E402

django.setup()

from routing.conflicts import find_conflicts  # noqa: E402
from routing.engine import (  # noqa: E402
    LOCAL_FAST_ENCODER_NAME,
    IntentSpec,
    Policy,
    RouterSnapshot,
    RuleSpec,
    TierSpec,
    compile_router,
    encoder_from_name,
)

DEMO = ROOT / "routing" / "demo" / "support.json"
CLEAR_MIN_CONFIDENCE = 0.7
CLEAR_QUERIES = [
    ("why was I charged twice", "billing"),
    ("I was charged twice this month", "billing"),
    ("can I get a copy of my invoice", "billing"),
    ("my card was declined when paying", "billing"),
    ("I want a refund", "refund"),
    ("I want my money back", "refund"),
    ("when will I get my refund", "refund"),
    ("cancel my subscription", "cancel_subscription"),
    ("cancel my plan please", "cancel_subscription"),
    ("how do I turn off auto renew", "cancel_subscription"),
    ("the app keeps crashing", "technical_support"),
    ("I get an error when I upload a file", "technical_support"),
    ("I forgot my password", "account_access"),
    ("I can't log in to my account", "account_access"),
    ("how much does the pro plan cost", "sales"),
    ("do you offer a free trial", "sales"),
    ("where is my parcel", "shipping"),
    ("where is my order", "shipping"),
    ("my package hasn't arrived yet", "shipping"),
    ("I want to speak to a manager", "complaint"),
    ("this is the worst service ever", "complaint"),
    ("thank you so much", "small_talk"),
    ("are you a bot", "small_talk"),
]


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def snapshot_of(document: dict, encoder, *, rules: bool = True, skip: int | None = None):
    """The engine's snapshot of a router document (example `skip` left out), and its texts' labels."""
    pairs = [
        (text, intent["name"])
        for intent in document["intents"]
        if intent.get("enabled", True)
        for text in intent["examples"]
    ]
    keep = [i for i in range(len(pairs)) if i != skip]
    fields = {f.name for f in dataclasses.fields(Policy)}
    policy = Policy(**{k: v for k, v in document["policy"].items() if k in fields})
    complexity = [
        (text, level) for level, texts in document["complexity_examples"].items() for text in texts
    ]
    tier_fields = {f.name for f in dataclasses.fields(TierSpec)}
    return RouterSnapshot(
        slug=document["slug"],
        version=1,
        encoder_name=encoder.name,
        intents=tuple(
            IntentSpec(
                name=i["name"],
                handler=i["handler"],
                description=i.get("description", ""),
                threshold=i.get("threshold"),
                min_tier=i.get("min_tier"),
            )
            for i in document["intents"]
            if i.get("enabled", True)
        ),
        example_texts=tuple(pairs[i][0] for i in keep),
        example_intents=tuple(pairs[i][1] for i in keep),
        example_vectors=VECTORS[keep],
        complexity_texts=tuple(text for text, _ in complexity),
        complexity_levels=tuple(level for _, level in complexity),
        complexity_vectors=encoder.encode([text for text, _ in complexity]),
        rules=tuple(
            RuleSpec(
                id=n,
                **{
                    k: rule.get(k)
                    for k in ("kind", "pattern", "priority", "action", "intent", "tier")
                },
                reason=rule.get("reason", ""),
            )
            for n, rule in enumerate(document["rules"] if rules else [], start=1)
            if rule.get("enabled", True)
        ),
        tiers=tuple(
            TierSpec(**{k: v for k, v in tier.items() if k in tier_fields})
            for tier in document["tiers"]
        ),
        policy=policy,
    )


VECTORS = np.zeros((0, 384), dtype=np.float32)


def main() -> None:
    global VECTORS
    args = [arg for arg in sys.argv[1:] if arg != "--no-loo"]
    path = Path(args[0]) if args else DEMO
    document = load(path)
    encoder = encoder_from_name(LOCAL_FAST_ENCODER_NAME, threads=1)
    pairs = [
        (text, intent["name"]) for intent in document["intents"] for text in intent["examples"]
    ]
    texts = [text for text, _ in pairs]
    labels = np.array([intent for _, intent in pairs])
    started = time.perf_counter()
    VECTORS = encoder.encode(texts)

    per_intent = {intent["name"]: len(intent["examples"]) for intent in document["intents"]}
    print(
        f"{path.name}: {len(texts)} examples, {len(per_intent)} intents "
        f"(fewest {min(per_intent.values())}: {min(per_intent, key=per_intent.get)})"
    )

    conflicts = find_conflicts(VECTORS, labels)
    by_intent: dict[str, int] = {}
    for i, j, other, own in conflicts:
        by_intent[labels[i]] = by_intent.get(labels[i], 0) + 1
        print(
            f"  conflict {labels[i]:>20} <- {labels[j]:<20} {other:.3f} > {own:.3f}  {texts[i]!r} ~ {texts[j]!r}"
        )
    print(f"conflicts: {len(conflicts)} {dict(sorted(by_intent.items()))}")

    correct = top1 = 0
    misses = []
    for i, (text, intent) in enumerate([] if "--no-loo" in sys.argv else pairs):
        router = compile_router(snapshot_of(document, encoder, rules=False, skip=i))
        decision = router.route(text, encoder=encoder)
        top = decision.trace.top_intents[0].intent if decision.trace.top_intents else None
        correct += decision.intent == intent
        top1 += top == intent
        if decision.intent != intent:
            misses.append((intent, decision.intent, round(decision.confidence, 3), text))
    for miss in misses:
        print("  loo miss", miss)
    print(
        "leave-one-out: skipped (--no-loo)"
        if "--no-loo" in sys.argv
        else f"leave-one-out: {correct}/{len(pairs)} = {correct / len(pairs):.1%} routed to their own "
        f"intent; top-1 {top1}/{len(pairs)} = {top1 / len(pairs):.1%}"
    )

    known = {" ".join(text.lower().split()).rstrip("?!. ") for text in texts}
    verbatim = [q for q, _ in CLEAR_QUERIES if " ".join(q.lower().split()).rstrip("?!. ") in known]
    print(f"clear queries that are examples themselves: {len(verbatim)} {verbatim}")
    router = compile_router(snapshot_of(document, encoder))
    decisions = router.route_batch([q for q, _ in CLEAR_QUERIES], encoder=encoder)
    passed = 0
    confidences = []
    for (query, expected), decision in zip(CLEAR_QUERIES, decisions, strict=True):
        ok = decision.intent == expected and decision.confidence >= CLEAR_MIN_CONFIDENCE
        passed += ok
        confidences.append(decision.confidence if decision.intent == expected else 0.0)
        print(
            f"  {'ok ' if ok else 'BAD'} {decision.confidence:.3f} {str(decision.intent):>20} "
            f"(want {expected}) {query!r}"
        )
    print(
        f"clear queries: {passed}/{len(CLEAR_QUERIES)} at their intent with confidence >= "
        f"{CLEAR_MIN_CONFIDENCE}; min {min(confidences):.3f}, median {np.median(confidences):.3f}"
    )
    print(
        f"machine: {platform.machine()} {os.cpu_count()} cores, python {platform.python_version()}; "
        f"{time.perf_counter() - started:.0f} s"
    )


if __name__ == "__main__":
    main()
