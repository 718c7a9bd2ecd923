"""Exceptions raised by the routing engine. Django code maps them to API errors."""

from __future__ import annotations


class EngineError(Exception):
    """Base class for every error the engine raises on purpose."""


class EncoderMismatch(EngineError):
    """The query encoder differs from the encoder that made the snapshot's example vectors."""


class EncoderIntegrityError(EngineError):
    """The local model file's sha256 differs from the pinned value."""


class SnapshotError(EngineError):
    """The snapshot is inconsistent (unknown intent or tier, misaligned vectors, bad policy)."""


class LLMStageError(EngineError):
    """The LLM classifier failed: timeout, HTTP error, malformed output or unknown intent.

    `tier_down`: the tier itself failed (timeout, connection, HTTP error), so a cooldown applies;
    False for a reply that arrived but was unusable.
    """

    def __init__(self, message: str, *, tier_down: bool = False):
        super().__init__(message)
        self.tier_down = tier_down
