"""A synthetic outcome set where the right answer is known: the cheap tier is always good on
"easy" queries (near one direction) and never on "hard" ones (near another); the best tier is
always good. At a 100% quality target the cheap tier must take exactly the easy queries."""

from __future__ import annotations

import numpy as np

from routing.engine import IntentSpec, Policy, RouterSnapshot, TierSpec

DIM = 8
EASY, HARD = 0, 1
TIERS = (
    TierSpec("cheap", 1, "openai", "small", 0.2, 0.8, quality=0.5),
    TierSpec("middle", 2, "openai", "medium", 2.0, 8.0, quality=0.8),
    TierSpec("best", 3, "openai", "large", 20.0, 80.0, quality=0.95),
)


def mix(**weights: float) -> np.ndarray:
    vector = np.zeros(DIM, dtype=np.float32)
    for axis, weight in weights.items():
        vector[int(axis[1:])] = weight
    return (vector / np.linalg.norm(vector)).astype(np.float32)


def direction(axis: int, noise: np.ndarray | None = None) -> np.ndarray:
    vector = np.zeros(DIM, dtype=np.float32)
    vector[axis] = 1.0
    if noise is not None:
        vector = vector + noise
    return (vector / np.linalg.norm(vector)).astype(np.float32)


def synthetic_outcomes(n: int = 400, seed: int = 7):
    """(queries, vectors, scores, easy mask) for quality_head_fit, tiers cheap < best."""
    rng = np.random.default_rng(seed)
    easy = rng.random(n) < 0.6
    vectors = np.vstack(
        [direction(EASY if e else HARD, rng.normal(0, 0.15, DIM)) for e in easy]
    ).astype(np.float32)
    queries = [f"synthetic question number {i}" for i in range(n)]
    scores = {
        "cheap": {i: 1.0 if easy[i] else 0.0 for i in range(n)},
        "best": dict.fromkeys(range(n), 1.0),
    }
    return queries, vectors, scores, easy


class TableEncoder:
    """Vectors from a table (the engine's Encoder protocol), so a query's vector is known."""

    def __init__(self, table: dict[str, np.ndarray], name: str = "table"):
        self.name, self.table, self.dim = name, table, DIM

    def encode(self, texts):
        return np.vstack([self.table[text] for text in texts]).astype(np.float32)


QUERIES = {
    "an easy question": direction(EASY),
    "a hard question": direction(HARD),
    # Mostly in the easy direction, but nearest the complaint intent's example.
    "a question for the complaint desk": mix(a0=0.6, a4=0.8),
    "help": mix(a0=0.8, a2=0.6),
    "hello there": direction(3),
}


def synthetic_snapshot(*, policy: Policy, quality_head=None, encoder_name: str = "table"):
    texts = ("help", "hello there", "a question for the complaint desk")
    return RouterSnapshot(
        slug="synthetic",
        version=1,
        encoder_name=encoder_name,
        intents=(
            IntentSpec("support", "handlers.support"),
            IntentSpec("greeting", "handlers.greeting"),
            IntentSpec("complaint", "handlers.complaint", min_tier="middle"),
        ),
        example_texts=texts,
        example_intents=("support", "greeting", "complaint"),
        example_vectors=np.vstack([QUERIES[text] for text in texts]),
        tiers=TIERS,
        policy=policy,
        quality_head=quality_head,
    )
