"""Several requests in one message: cut it into parts that may each carry an intent.

Only a message long enough to hold two requests is cut (MIN_SPLIT_WORDS), only at strong
boundaries: sentence ends (a second question mark is one), "; ", and additive connectives
("and also", "plus", "additionally", "y también", "et aussi", "und auch", "e também", ...). Never
at a bare "and": "cancel and refund my order" is one request more often than two. A part
shorter than MIN_PART_WORDS ("Hi.", "Thanks!") joins its neighbour, and at most MAX_PARTS
parts are kept (the rest joins the last one). A message that yields fewer than two parts is
not split at all. Only parts the writer marked as requests (`marked_requests`) may carry a
secondary intent, which keeps greetings and context sentences from becoming one. Splitting is a regex pass: microseconds on a one-clause query.
"""

from __future__ import annotations

import regex

MIN_SPLIT_WORDS = 8
MIN_PART_WORDS = 3
MAX_PARTS = 4

_CONNECTIVES = (
    r"also|plus|additionally|and another thing|y también|también|además|et aussi|aussi|en plus|"
    r"de plus|und auch|auch|außerdem|ausserdem|zudem|e também|também|além disso"
)
# Cut before a connective (it stays with the part it introduces), after a sentence end, at "; ".
PART_BOUNDARY = regex.compile(
    r"(?<=[.!?？])\s+(?=\S)"
    r"|\s*;\s+"
    rf"|,?\s+(?:and\s+|y\s+|et\s+|und\s+|e\s+)?(?=(?:{_CONNECTIVES})\b[,:]?\s)",
    regex.IGNORECASE,
)
CONNECTIVE = regex.compile(rf"\b(?:{_CONNECTIVES})\b", regex.IGNORECASE)


def _words(text: str) -> int:
    return len(text.split())


def split_parts(query: str) -> list[str]:
    """The parts of `query` (see the module docstring); [] when it is one request."""
    if _words(query) < MIN_SPLIT_WORDS or PART_BOUNDARY.search(query) is None:
        return []
    pieces = [piece.strip() for piece in PART_BOUNDARY.split(query)]
    pieces = [piece for piece in pieces if piece]
    parts: list[str] = []
    carry = ""
    for piece in pieces:
        piece = f"{carry} {piece}".strip() if carry else piece
        if _words(piece) < MIN_PART_WORDS:
            carry = piece
            continue
        parts.append(piece)
        carry = ""
    if carry:
        if parts:
            parts[-1] = f"{parts[-1]} {carry}"
        else:
            return []
    if len(parts) > MAX_PARTS:
        parts = [*parts[: MAX_PARTS - 1], " ".join(parts[MAX_PARTS - 1 :])]
    return parts if len(parts) >= 2 else []


def marked_requests(parts: list[str]) -> list[bool]:
    """Which parts the writer marked as a request of their own: a question, a part with a
    connective ("Also, ..."), or the part a connective follows. Only these may carry a
    secondary intent: "Hi there, hope you're well. I need my invoice" stays one request."""
    connected = [CONNECTIVE.search(part) is not None for part in parts]
    return [
        part.rstrip().endswith(("?", "？"))
        or connected[index]
        or (index + 1 < len(parts) and connected[index + 1])
        for index, part in enumerate(parts)
    ]
