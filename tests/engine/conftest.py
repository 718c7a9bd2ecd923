"""Small hand-made routers for engine tests: no database, no Django."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pytest

from routing.engine import (
    IntentSpec,
    LocalOnnxEncoder,
    Policy,
    RouterSnapshot,
    RuleSpec,
    TierSpec,
    compile_router,
)

TIERS = (
    TierSpec("cheap", 1, "openai", "gpt-4o-mini", 0.15, 0.60, quality=0.5, latency_ms=400),
    TierSpec("middle", 2, "openai", "gpt-4o", 2.50, 10.0, quality=0.8, latency_ms=900),
    TierSpec("powerful", 3, "anthropic", "claude-opus", 15.0, 75.0, quality=0.95, latency_ms=2500),
)

EXAMPLES = {
    "weather": [
        "what's the weather like today",
        "will it rain tomorrow",
        "weather forecast for the weekend",
        "is it going to be sunny in paris",
        "how cold is it outside right now",
        "do i need an umbrella today",
    ],
    "flight_booking": [
        "book a flight to rome",
        "i need a plane ticket to new york",
        "reserve two seats on a flight to tokyo",
        "find me cheap flights to london next week",
        "can you book me on the morning flight to berlin",
        "buy an airline ticket for friday",
    ],
    "billing": [
        "why was my card charged twice",
        "i want a refund for my last invoice",
        "update my payment method",
        "how much is my monthly bill",
        "cancel my subscription and stop billing me",
        "where can i download my invoice",
    ],
    "greeting": [
        "hello",
        "hi there",
        "good morning",
        "hey, how are you",
        "greetings",
        "hello, nice to meet you",
    ],
}


class FakeEncoder:
    """Vectors from a lookup table, for tests where exact similarities matter."""

    def __init__(self, table: dict[str, Sequence[float]], name: str = "fake"):
        self.name = name
        self.table = {text: np.asarray(v, dtype=np.float32) for text, v in table.items()}
        self.dim = len(next(iter(self.table.values())))
        self.calls: list[list[str]] = []

    def encode(self, texts):
        self.calls.append(list(texts))
        rows = [self.table[text] / np.linalg.norm(self.table[text]) for text in texts]
        return np.vstack(rows).astype(np.float32)


@pytest.fixture(scope="session")
def encoder():
    return LocalOnnxEncoder(threads=1)


def make_snapshot(
    encoder,
    *,
    examples: dict[str, list[str]] = EXAMPLES,
    intents: Sequence[IntentSpec] | None = None,
    rules: Sequence[RuleSpec] = (),
    tiers: Sequence[TierSpec] = TIERS,
    policy: Policy | None = None,
    complexity: dict[str, list[str]] | None = None,
    version: int = 1,
    slug: str = "test-router",
) -> RouterSnapshot:
    texts = [text for texts in examples.values() for text in texts]
    labels = [intent for intent, texts in examples.items() for _ in texts]
    if intents is None:
        intents = [
            IntentSpec(name, f"handlers.{name}", f"questions about {name}") for name in examples
        ]
    complexity_texts = [t for texts in (complexity or {}).values() for t in texts]
    complexity_levels = [lvl for lvl, texts in (complexity or {}).items() for _ in texts]
    return RouterSnapshot(
        slug=slug,
        version=version,
        encoder_name=encoder.name,
        intents=tuple(intents),
        example_texts=tuple(texts),
        example_intents=tuple(labels),
        example_vectors=encoder.encode(texts),
        complexity_texts=tuple(complexity_texts),
        complexity_levels=tuple(complexity_levels),
        complexity_vectors=encoder.encode(complexity_texts) if complexity_texts else None,
        rules=tuple(rules),
        tiers=tuple(tiers),
        policy=policy or Policy(),
    )


@pytest.fixture(scope="session")
def base_snapshot(encoder):
    return make_snapshot(encoder, policy=Policy(method="centroid", threshold=0.45))


@pytest.fixture(scope="session")
def router(base_snapshot):
    return compile_router(base_snapshot)


def with_policy(snapshot: RouterSnapshot, **changes) -> RouterSnapshot:
    return replace(snapshot, policy=replace(snapshot.policy, **changes))
