"""The optional `context` of a routing request: what the caller retrieved before asking.

Two forms: `{"documents": ["text", ...]}` (semroute counts the tokens) or
`{"documents": N, "tokens": M}` (the caller's retriever already counted). The route API, the
batch API and the gateway all go through `retrieved_context_parse`, one call that validates a
raw JSON value and returns the engine's RetrievedContext (or None), raising the API's errors:
422 for a wrong shape, 413 when the documents are larger than the limits below.
"""

from __future__ import annotations

from typing import Annotated, Any

from ninja import Field, Schema
from pydantic import AfterValidator, ConfigDict, StrictInt, TypeAdapter, ValidationError

from routing.engine.context import RetrievedContext
from routing.exceptions import ContextTooLarge, InvalidInput

MAX_CONTEXT_DOCUMENTS = 64  # documents sent as text
MAX_CONTEXT_CHARS = 200_000  # their total length (about 50,000 tokens)
MAX_DECLARED_DOCUMENTS = 100_000  # documents declared by count
MAX_DECLARED_TOKENS = 100_000_000


def _storable(text: str) -> str:
    from routing.schemas import _storable as storable  # one rule for NUL and surrogates

    return storable(text)


DocumentText = Annotated[str, AfterValidator(_storable)]


class ContextIn(Schema):
    """Retrieved context: documents as text, or their count and token total."""

    model_config = ConfigDict(extra="forbid")

    documents: list[DocumentText] | Annotated[StrictInt, Field(ge=0, le=MAX_DECLARED_DOCUMENTS)] = (
        Field(
            ...,
            description=f"The retrieved documents (at most {MAX_CONTEXT_DOCUMENTS}, "
            f"{MAX_CONTEXT_CHARS} characters in all), or how many there are.",
        )
    )
    tokens: Annotated[StrictInt, Field(ge=0, le=MAX_DECLARED_TOKENS)] | None = Field(
        None, description="Their token total: required with a count, refused with texts."
    )


_context_adapter = TypeAdapter(ContextIn | None)


def retrieved_context(
    context: ContextIn | None, *, index: int | None = None
) -> RetrievedContext | None:
    """The engine's RetrievedContext for a validated ContextIn; ContextTooLarge / InvalidInput."""
    if context is None:
        return None
    where = {"index": index} if index is not None else {}
    if isinstance(context.documents, int):
        if context.tokens is None:
            raise InvalidInput(
                "A context given as a document count needs its token total too: "
                '{"documents": N, "tokens": M}.',
                details={"field": "context.tokens", **where},
            )
        return RetrievedContext(context.documents, context.tokens)
    if context.tokens is not None:
        raise InvalidInput(
            "Send either the documents' texts or their counts, not both: semroute counts the "
            "tokens of texts itself.",
            details={"field": "context.tokens", **where},
        )
    chars = sum(len(text) for text in context.documents)
    if len(context.documents) > MAX_CONTEXT_DOCUMENTS or chars > MAX_CONTEXT_CHARS:
        raise ContextTooLarge(
            f"A context is limited to {MAX_CONTEXT_DOCUMENTS} documents and {MAX_CONTEXT_CHARS} "
            f"characters (got {len(context.documents)} documents, {chars} characters); send "
            '{"documents": N, "tokens": M} for larger ones.',
            details={
                "documents": len(context.documents),
                "chars": chars,
                "max_documents": MAX_CONTEXT_DOCUMENTS,
                "max_chars": MAX_CONTEXT_CHARS,
                **where,
            },
        )
    return RetrievedContext.from_documents(context.documents)


def _field_path(loc: tuple) -> str:
    # Union members appear in the location as type names ("list[str]", "constrained-int").
    names = [str(part) for part in loc if isinstance(part, int) or part.isidentifier()]
    return ".".join(["context", *names])


def retrieved_context_parse(value: Any) -> RetrievedContext | None:
    """Validate a raw JSON `context` value (the gateway's body) and return it for the engine.

    None or absent: no context. Raises InvalidInput (422) naming the problem, or
    ContextTooLarge (413).
    """
    try:
        context = _context_adapter.validate_python(value)
    except ValidationError as error:
        problems = [
            {"field": _field_path(problem["loc"]), "message": problem["msg"]}
            for problem in error.errors(include_url=False)
        ]
        raise InvalidInput(
            'The context must be {"documents": ["text", ...]} or {"documents": N, "tokens": M}.',
            details={"problems": problems},
        ) from None
    return retrieved_context(context)


def route_contexts(
    context: ContextIn | list[ContextIn | None] | None, count: int
) -> list[RetrievedContext | None]:
    """One context per query of a batch: one object for all of them, or a list aligned with
    the queries (null for none)."""
    if isinstance(context, list):
        if len(context) != count:
            raise InvalidInput(
                f"A list of contexts needs one entry per query ({count}), got {len(context)}.",
                details={"field": "context", "expected": count, "got": len(context)},
            )
        return [retrieved_context(item, index=i) for i, item in enumerate(context)]
    shared = retrieved_context(context)
    return [shared] * count
