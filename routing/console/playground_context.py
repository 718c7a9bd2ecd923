"""The playground's "retrieved context" field: pasted documents, or just their counts.

The playground's query form is a GET (links and htmx as-you-type share its URL), and servers cap
a request line at about 4 KB (gunicorn's default), so the pasted text is limited to
PLAYGROUND_CONTEXT_CHARS; larger contexts are tried through the route API, or typed as counts:
"5 documents, 9000 tokens".
"""

from __future__ import annotations

from dataclasses import dataclass

import regex

from routing.engine.context import RetrievedContext

PLAYGROUND_CONTEXT_CHARS = 3000
DOCUMENT_SEPARATOR = regex.compile(r"^\s*-{3,}\s*$", regex.MULTILINE)
COUNTS = regex.compile(
    r"^\s*(\d{1,6})\s+documents?\s*,?\s*(\d{1,9})\s+tokens?\s*$", regex.IGNORECASE
)


@dataclass(frozen=True, slots=True)
class PastedContext:
    context: RetrievedContext | None
    error: str = ""


def pasted_context(text: str) -> PastedContext:
    """Documents separated by a line of '---', or "N documents, M tokens"; empty: none."""
    if not text.strip():
        return PastedContext(None)
    counts = COUNTS.match(text)
    if counts:
        return PastedContext(RetrievedContext(int(counts[1]), int(counts[2])))
    if len(text) > PLAYGROUND_CONTEXT_CHARS:
        return PastedContext(
            None,
            f"The playground takes up to {PLAYGROUND_CONTEXT_CHARS} characters of context (got "
            f"{len(text)}); type '5 documents, 9000 tokens' instead, or use the route API.",
        )
    documents = [part.strip() for part in DOCUMENT_SEPARATOR.split(text) if part.strip()]
    return PastedContext(RetrievedContext.from_documents(documents))
