"""Example vectors: the encoder in use and computing the vectors it makes (no enqueueing here:
routing/tasks.py owns the task and enqueues it, so this module imports neither services nor tasks)."""

from __future__ import annotations

import numpy as np
from django.conf import settings

from routing.engine import Encoder, encoder_from_name
from routing.models import ComplexityExample, Example


def active_encoder() -> Encoder:
    """The process-wide encoder named by settings.SEMROUTE_ENCODER (loaded lazily, once)."""
    return encoder_from_name(settings.SEMROUTE_ENCODER, threads=settings.SEMROUTE_ENCODER_THREADS)


def example_vectors_compute(*, router_id: int, batch_size: int | None = None) -> int:
    """Compute vectors for the router's examples that have none or were made by another encoder.

    Idempotent: running it twice, or concurrently, writes the same vectors. Returns how many it wrote.
    """

    encoder = active_encoder()
    batch_size = batch_size or settings.SEMROUTE_EMBED_BATCH_SIZE
    written = 0
    for queryset in (
        Example.objects.filter(intent__router_id=router_id),
        ComplexityExample.objects.filter(router_id=router_id),
    ):
        while True:
            batch = list(queryset.needing_vectors(encoder.name).order_by("id")[:batch_size])
            if not batch:
                break
            vectors = np.asarray(
                encoder.encode([example.text for example in batch]), dtype=np.float32
            )
            for example, vector in zip(batch, vectors, strict=True):
                example.vector = vector.tobytes()
                example.encoder = encoder.name
            queryset.model.objects.bulk_update(batch, ["vector", "encoder"])
            written += len(batch)
    return written
