"""Retrieved context: the documents an application fetched before asking, and what they do to
complexity and cost.

"Tell me about the Johnson account" looks simple; answered over five retrieved documents it is
not. The caller sends the documents (or just their count and token total); the complexity stage
raises the level by the policy's thresholds (it never lowers it) and the cost estimate counts
the context's tokens as input.

Thresholds (Policy): `context_documents_moderate` / `context_tokens_moderate` raise a decision
to at least "moderate", `context_documents_complex` / `context_tokens_complex` to "complex";
either count reaching its threshold is enough.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .encoders import count_tokens
from .snapshot import COMPLEXITY_LEVELS, Policy


@dataclass(frozen=True, slots=True)
class RetrievedContext:
    documents: int
    tokens: int

    @classmethod
    def from_documents(cls, documents: Sequence[str]) -> RetrievedContext:
        """Count the documents' tokens with the cost estimate's tokenizer."""
        return cls(len(documents), sum(count_tokens(text) for text in documents))

    def cache_suffix(self) -> str:
        """What a cache key must add: decisions differ only by these two counts."""
        return f":ctx{self.documents}/{self.tokens}"


def context_level(context: RetrievedContext, policy: Policy) -> tuple[int, str]:
    """The complexity level index (0..2) the context alone requires, and the trace's signal."""
    if (
        context.documents >= policy.context_documents_complex
        or context.tokens >= policy.context_tokens_complex
    ):
        level = 2
    elif (
        context.documents >= policy.context_documents_moderate
        or context.tokens >= policy.context_tokens_moderate
    ):
        level = 1
    else:
        level = 0
    return level, (
        f"context {context.documents} documents, {context.tokens} tokens: "
        f"at least {COMPLEXITY_LEVELS[level]}"
    )
