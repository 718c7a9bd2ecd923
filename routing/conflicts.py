"""Examples that sit closer to another intent's examples than to their own (likely mislabelled or ambiguous)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from routing.engine.snapshot import RouterSnapshot
from routing.models import Intent, Router
from routing.runtime import runtime_cache
from routing.snapshots import compiled_router

CHUNK_ROWS = 1024  # bounds the similarity block to CHUNK_ROWS x n_examples floats


@dataclass(frozen=True, slots=True)
class ExampleConflict:
    text: str
    intent: str
    other_intent: str
    other_text: str
    other_similarity: float  # to the nearest example of another intent
    own_similarity: float  # to the nearest other example of its own intent (0 when it is alone)


def find_conflicts(
    vectors: np.ndarray, labels: np.ndarray, rows: np.ndarray | None = None
) -> list[tuple[int, int, float, float]]:
    """For each row i (all rows by default) whose nearest neighbour (itself excluded) has another label:
    (i, index of that neighbour, its similarity, similarity of i's nearest same-label neighbour).

    `vectors` are L2-normalised, so the dot product is the cosine similarity.
    """
    rows = np.arange(len(vectors)) if rows is None else np.asarray(rows)
    found: list[tuple[int, int, float, float]] = []
    for start in range(0, len(rows), CHUNK_ROWS):
        chunk = rows[start : start + CHUNK_ROWS]
        similarity = vectors[chunk] @ vectors.T
        similarity[np.arange(len(chunk)), chunk] = -np.inf  # never your own neighbour
        same = labels[chunk][:, None] == labels[None, :]
        own = np.where(same, similarity, -np.inf).max(axis=1)
        other_masked = np.where(same, -np.inf, similarity)
        other_index = other_masked.argmax(axis=1)
        other = other_masked[np.arange(len(chunk)), other_index]
        for k in np.flatnonzero(other > own):
            found.append(
                (int(chunk[k]), int(other_index[k]), float(other[k]), float(max(own[k], 0.0)))
            )
    return found


# router id -> (revision, its conflicts)
_by_router = runtime_cache("router_conflicts", max_entries=64)


def router_conflicts(router: Router, *, intent: Intent | None = None) -> list[ExampleConflict]:
    """Conflicting examples of `router` (only those of `intent` when given), worst first.

    Computed from the compiled snapshot's vectors (already in memory, no second read of the
    examples) and kept per router revision: seconds for 15,000 examples, so once per version.
    """
    cached = _by_router.get(router.pk)
    if cached is None or cached[0] != router.revision:
        cached = (router.revision, _conflicts_of(compiled_router(router).snapshot))
        _by_router.set(router.pk, cached)
    conflicts = cached[1]
    return conflicts if intent is None else [c for c in conflicts if c.intent == intent.name]


def _conflicts_of(snapshot: RouterSnapshot) -> list[ExampleConflict]:
    if len(snapshot.example_texts) < 2:
        return []
    names, labels = np.unique(np.array(snapshot.example_intents), return_inverse=True)
    conflicts = [
        ExampleConflict(
            text=snapshot.example_texts[i],
            intent=str(names[labels[i]]),
            other_intent=str(names[labels[j]]),
            other_text=snapshot.example_texts[j],
            other_similarity=round(other, 3),
            own_similarity=round(own, 3),
        )
        for i, j, other, own in find_conflicts(snapshot.example_vectors, labels)
    ]
    return sorted(conflicts, key=lambda c: c.own_similarity - c.other_similarity)
