"""Read outcome records from CSV or JSONL (or the API's list) into accepted rows and refusals.

Shapes:
- CSV with a header `query,tier,good` (or `score` in 0-1 instead of `good`, or both);
- RouteLLM's CSV: a `prompt` column and two `<model>_correct` columns (0/1), the cheap model's
  first: each row is two outcomes, one per tier the operator maps the columns to;
- JSONL lines `{"query", "tier", "good": true|false}` or `"score": 0..1`.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from analytics.outcomes.models import MAX_OUTCOME_QUERY_CHARS
from routing.config_schema import text_problem

MAX_FILE_OUTCOMES = 200_000
MAX_API_OUTCOMES = 10_000
REFUSALS_KEPT = 200
GOOD_WORDS = {"1": True, "true": True, "yes": True, "up": True, "good": True}
BAD_WORDS = {"0": False, "false": False, "no": False, "down": False, "bad": False}

REFUSAL_KINDS = {
    "blank": "the query is blank",
    "too_long": f"the query is longer than {MAX_OUTCOME_QUERY_CHARS:,} characters",
    "unknown_tier": "the tier is not one of the router's",
    "bad_value": "good must be true/false (or 1/0) and score a number from 0 to 1; one is needed",
    "unstorable": "the query or tier holds NUL or a lone surrogate",
    "malformed": "the line is not a row of the format",
    "too_many": f"past the limit of {MAX_FILE_OUTCOMES:,} outcomes",
}


class OutcomeFileError(ValueError):
    """The file as a whole cannot be read (encoding, header, shape, unmapped RouteLLM columns)."""


@dataclass(slots=True)
class OutcomeIn:
    query: str
    tier: str
    score: float  # 1.0 good, 0.0 bad, or a score
    good: bool | None


@dataclass(slots=True)
class Refusal:
    line: int
    kind: str
    query: str = ""
    tier: str = ""

    def as_dict(self) -> dict:
        return {
            "line": self.line,
            "kind": self.kind,
            "reason": REFUSAL_KINDS[self.kind],
            "query": self.query[:120],
            "tier": self.tier[:64],
        }


@dataclass(slots=True)
class OutcomeParse:
    rows: list[OutcomeIn] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    shape: str = ""  # "outcomes" or "routellm"

    def report(self) -> dict:
        return {
            "shape": self.shape,
            "accepted": len(self.rows),
            "refused": len(self.refused),
            "by_kind": dict(Counter(refusal.kind for refusal in self.refused)),
            "rows": [refusal.as_dict() for refusal in self.refused[:REFUSALS_KEPT]],
        }


def _good(raw) -> bool | None | str:
    """True/False, None when absent, or "bad" when present but not a truth value."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int | float) and raw in (0, 1):
        return bool(raw)
    word = str(raw).strip().lower()
    if word in GOOD_WORDS:
        return True
    if word in BAD_WORDS:
        return False
    return "bad"


def _score(raw) -> float | None | str:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, bool):
        return "bad"
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return "bad"
    return value if math.isfinite(value) and 0.0 <= value <= 1.0 else "bad"


def outcome_rows_check(
    items: Iterable[tuple[int, object]], *, tiers: set[str], limit: int = MAX_FILE_OUTCOMES
) -> OutcomeParse:
    """Sort `(line, {"query", "tier", "good"?, "score"?})` items into outcomes and refusals."""
    parse = OutcomeParse(shape="outcomes")
    for line, item in items:
        if not isinstance(item, dict) or not isinstance(item.get("query", ""), str):
            parse.refused.append(Refusal(line, "malformed"))
            continue
        query, tier = item.get("query") or "", str(item.get("tier") or "").strip()
        refusal = _refusal(query, tier, tiers)
        good, score = _good(item.get("good")), _score(item.get("score"))
        if refusal is None and ("bad" in (good, score) or (good is None and score is None)):
            refusal = "bad_value"
        if refusal is None and len(parse.rows) >= limit:
            refusal = "too_many"
        if refusal is not None:
            parse.refused.append(Refusal(line, refusal, str(query), tier))
            continue
        value = float(score) if score is not None else float(good)
        parse.rows.append(OutcomeIn(query.strip(), tier, value, good))
    return parse


def _refusal(query: str, tier: str, tiers: set[str]) -> str | None:
    if text_problem(query) or text_problem(tier):
        return "unstorable"
    if not query.strip():
        return "blank"
    if len(query) > MAX_OUTCOME_QUERY_CHARS:
        return "too_long"
    if tier not in tiers:
        return "unknown_tier"
    return None


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise OutcomeFileError(f"The file is not UTF-8 text (byte {exc.start}).") from exc


def outcome_file_parse(
    raw: bytes,
    *,
    tiers: set[str],
    cheap_tier: str | None = None,
    strong_tier: str | None = None,
) -> OutcomeParse:
    """Parse an uploaded file; `cheap_tier`/`strong_tier` name the tiers of RouteLLM's columns."""
    text = _decode(raw)
    if text.lstrip().startswith("{"):
        return _jsonl(text, tiers)
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [name.strip() for name in next(reader, [])]
    lowered = [name.lower() for name in header]
    correct = [i for i, name in enumerate(lowered) if name.endswith("_correct")]
    if "prompt" in lowered and len(correct) == 2:
        return _routellm(reader, lowered.index("prompt"), correct, tiers, cheap_tier, strong_tier)
    query_column = next((c for c in ("query", "prompt", "text") if c in lowered), None)
    if query_column is None or "tier" not in lowered or not {"good", "score"} & set(lowered):
        raise OutcomeFileError(
            "The CSV needs a header `query,tier,good` (or `score`), or RouteLLM's shape "
            "`prompt,<cheap>_correct,<strong>_correct`; found: "
            + (", ".join(header[:10]) or "no header")
        )
    positions = {name: lowered.index(name) for name in ("tier", "good", "score") if name in lowered}
    positions["query"] = lowered.index(query_column)

    def items():
        for line, row in enumerate(reader, start=2):
            if not any(cell.strip() for cell in row):
                continue
            if len(row) < len(header):
                yield line, None
                continue
            yield line, {name: row[index] for name, index in positions.items()}

    return outcome_rows_check(items(), tiers=tiers)


def _routellm(reader, prompt_index, correct, tiers, cheap_tier, strong_tier) -> OutcomeParse:
    if not cheap_tier or not strong_tier or cheap_tier == strong_tier:
        raise OutcomeFileError(
            "This is RouteLLM's shape (prompt, two *_correct columns): choose the tier of the "
            "first (cheap) column and of the second (strong) one, two different tiers."
        )
    for name in (cheap_tier, strong_tier):
        if name not in tiers:
            raise OutcomeFileError(f"The tier {name!r} is not one of this router's.")

    def items():
        for line, row in enumerate(reader, start=2):
            if not any(cell.strip() for cell in row):
                continue
            if len(row) <= max(prompt_index, *correct):
                yield line, None
                continue
            for tier, index in ((cheap_tier, correct[0]), (strong_tier, correct[1])):
                yield line, {"query": row[prompt_index], "tier": tier, "good": row[index]}

    parse = outcome_rows_check(items(), tiers=tiers)
    parse.shape = "routellm"
    return parse


def _jsonl(text: str, tiers: set[str]) -> OutcomeParse:
    def items():
        for line, raw_line in enumerate(text.splitlines(), start=1):
            if not raw_line.strip():
                continue
            try:
                yield line, json.loads(raw_line)
            except ValueError:
                yield line, None

    return outcome_rows_check(items(), tiers=tiers)
