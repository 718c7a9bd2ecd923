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
    """The LLM classifier failed: timeout, HTTP error, malformed output or unknown intent."""
