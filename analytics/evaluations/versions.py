"""The compiled router of any stored version: the current one as routing compiles it, an earlier
one rebuilt from its RouterVersion's config document (texts) with vectors from the current examples
where the text still exists, encoded with the active encoder otherwise."""

from __future__ import annotations

import threading

import numpy as np

from routing.config_io import config_normalise
from routing.engine import CompiledRouter, compile_router
from routing.engine.snapshot import IntentSpec, Policy, RouterSnapshot, RuleSpec, TierSpec
from routing.models import ComplexityExample, Example, Router, RouterVersion
from routing.snapshots import compiled_router, policy_with_changes
from routing.vectors import active_encoder

LOOKUP_CHUNK = 500  # texts per query: SQLite caps the number of query parameters
ENCODE_BATCH = 256

_earlier: dict[tuple[int, int], CompiledRouter] = {}  # one earlier version kept per router
_earlier_lock = threading.Lock()


def _stored_vectors(model, filters: dict, texts: list[str], encoder_name: str) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for start in range(0, len(texts), LOOKUP_CHUNK):
        rows = model.objects.filter(
            **filters,
            text__in=texts[start : start + LOOKUP_CHUNK],
            encoder=encoder_name,
            vector__isnull=False,
        ).values_list("text", "vector")
        found.update((text, bytes(vector)) for text, vector in rows)
    return found


def _vectors(model, filters: dict, texts: list[str], dim: int) -> np.ndarray:
    """One float32 row per text: stored where the text has a current vector, else encoded now."""
    encoder = active_encoder()
    unique = list(dict.fromkeys(texts))
    stored = _stored_vectors(model, filters, unique, encoder.name)
    by_text = {text: np.frombuffer(vector, dtype=np.float32) for text, vector in stored.items()}
    missing = [text for text in unique if text not in by_text]
    for start in range(0, len(missing), ENCODE_BATCH):
        batch = missing[start : start + ENCODE_BATCH]
        for text, vector in zip(batch, encoder.encode(batch), strict=True):
            by_text[text] = np.asarray(vector, dtype=np.float32)
    if not texts:
        return np.zeros((0, dim), dtype=np.float32)
    return np.vstack([by_text[text] for text in texts]).astype(np.float32, copy=False)


def version_snapshot_build(router: Router, number: int) -> RouterSnapshot:
    """The engine snapshot of `router` as stored in version `number` (RouterVersion.config)."""
    stored = RouterVersion.objects.get(router=router, number=number)
    document = config_normalise(stored.config)
    encoder = active_encoder()
    intents = [spec for spec in document["intents"] if spec["enabled"]]
    enabled = {spec["name"] for spec in intents}
    example_texts = [text for spec in intents for text in spec["examples"]]
    example_intents = [spec["name"] for spec in intents for _ in spec["examples"]]
    levels = [
        (level, text) for level, texts in document["complexity_examples"].items() for text in texts
    ]
    policy = policy_with_changes(Policy(), document["policy"])
    return RouterSnapshot(
        slug=router.slug,
        version=number,
        # Distinct from the live revision: a cached decision of one never answers for the other.
        fingerprint=f"evaluation:{router.pk}:{number}:{stored.created_at.timestamp():.6f}",
        encoder_name=encoder.name,
        intents=tuple(
            IntentSpec(
                name=spec["name"],
                handler=spec["handler"],
                description=spec["description"],
                threshold=spec["threshold"],
                min_tier=spec["min_tier"],
            )
            for spec in intents
        ),
        example_texts=tuple(example_texts),
        example_intents=tuple(example_intents),
        example_vectors=_vectors(Example, {"intent__router": router}, example_texts, encoder.dim),
        complexity_texts=tuple(text for _, text in levels),
        complexity_levels=tuple(level for level, _ in levels),
        complexity_vectors=_vectors(
            ComplexityExample, {"router": router}, [text for _, text in levels], encoder.dim
        ),
        rules=tuple(
            RuleSpec(
                id=index,
                kind=spec["kind"],
                pattern=spec["pattern"],
                priority=spec["priority"],
                action=spec["action"],
                intent=spec["intent"],
                tier=spec["tier"],
                reason=spec["reason"],
            )
            for index, spec in enumerate(document["rules"], start=1)
            if spec["enabled"] and not (spec["action"] == "route" and spec["intent"] not in enabled)
        ),
        tiers=tuple(
            TierSpec(
                name=spec["name"],
                rank=spec["rank"],
                provider=spec["provider"],
                model=spec["model"],
                price_in_per_mtok=float(spec["price_in_per_mtok"]),
                price_out_per_mtok=float(spec["price_out_per_mtok"]),
                quality=spec["quality"],
                latency_ms=spec["latency_ms"],
                base_url=spec["base_url"],
                api_key_env=spec["api_key_env"],
                enabled=spec["enabled"],
            )
            for spec in sorted(document["tiers"], key=lambda tier: (tier["rank"], tier["name"]))
        ),
        policy=policy,
    )


def version_router(router: Router, number: int) -> CompiledRouter:
    """The compiled router of version `number`: the live one for the current version."""
    if number == router.version:
        return compiled_router(router)
    key = (router.pk, number)
    with _earlier_lock:
        compiled = _earlier.get(key)
    if compiled is None:
        compiled = compile_router(version_snapshot_build(router, number))
        with _earlier_lock:
            for other in [k for k in _earlier if k[0] == router.pk]:
                del _earlier[other]
            _earlier[key] = compiled
    return compiled
