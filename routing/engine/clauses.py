"""Several requests in one message: cut it into parts that may each carry an intent.

Only a message long enough to hold two requests is cut (MIN_SPLIT_WORDS), only at strong
boundaries: sentence ends (a second question mark is one), "; ", and additive connectives
("and also", "plus", "as well as", "y también", "et aussi", "und auch", "e também", ...). Never
at a bare "and": "cancel and refund my order" is one request more often than two. A part
shorter than MIN_PART_WORDS ("Hi.", "Thanks!") joins its neighbour, and at most MAX_PARTS
parts are kept (the rest joins the last one). A message that yields fewer than two parts is
not split at all. Splitting is a regex pass: microseconds on a one-clause query.
"""

from __future__ import annotations

import regex

MIN_SPLIT_WORDS = 8
MIN_PART_WORDS = 3
MAX_PARTS = 4

PART_BOUNDARY = regex.compile(
    r"(?<=[.!?？])\s+(?=\S)"
    r"|\s*;\s+"
    r"|[,\s]+(?:and also|and additionally|and another thing|plus|as well as|also|additionally|"
    r"y también|y además|además|et aussi|et en plus|en plus|de plus|und auch|und außerdem|"
    r"außerdem|ausserdem|zudem|e também|e além disso|além disso)[,:]?\s+",
    regex.IGNORECASE,
)


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
