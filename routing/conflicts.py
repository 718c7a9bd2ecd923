"""Examples that sit closer to another intent's examples than to their own (likely mislabelled or ambiguous)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from routing.models import Example, Intent, Router
from routing.services import example_vectors_compute
from routing.snapshots import active_encoder

CHUNK_ROWS = 1024  # bounds the similarity block to CHUNK_ROWS x n_examples floats


@dataclass(frozen=True, slots=True)
class ExampleConflict:
    example_id: int
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


def router_conflicts(router: Router, *, intent: Intent | None = None) -> list[ExampleConflict]:
    """Conflicting examples of `router` (only those of `intent` when given), worst first."""
    encoder_name = active_encoder().name
    # Like the snapshot build: vectors are normally ready, but never silently skip an example.
    if (
        Example.objects.filter(intent__router=router, intent__enabled=True)
        .needing_vectors(encoder_name)
        .exists()
    ):
        example_vectors_compute(router_id=router.pk)
    examples = list(
        Example.objects.filter(
            intent__router=router,
            intent__enabled=True,
            vector__isnull=False,
            encoder=encoder_name,
        )
        .order_by("id")
        .values_list("id", "text", "intent__name", "vector")
    )
    if len(examples) < 2:
        return []
    vectors = np.vstack([np.frombuffer(bytes(row[3]), dtype=np.float32) for row in examples])
    labels = np.array([row[2] for row in examples])
    rows = None if intent is None else np.flatnonzero(labels == intent.name)
    conflicts = [
        ExampleConflict(
            example_id=examples[i][0],
            text=examples[i][1],
            intent=examples[i][2],
            other_intent=examples[j][2],
            other_text=examples[j][1],
            other_similarity=round(other, 3),
            own_similarity=round(own, 3),
        )
        for i, j, other, own in find_conflicts(vectors, labels, rows)
    ]
    return sorted(conflicts, key=lambda c: c.own_similarity - c.other_similarity)
