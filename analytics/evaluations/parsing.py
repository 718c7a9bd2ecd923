"""Read a labelled set from CSV (`text,intent`) or JSONL (`{"text", "intent"}`) and sort its rows
into accepted ones and refusals, before anything is saved.

Out of scope: an empty intent or `oos` in CSV, `null` (or "", "oos") in JSONL.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from routing.config_schema import text_problem
from routing.services.examples import MAX_EXAMPLE_CHARS

MAX_SET_ROWS = 100_000
OUT_OF_SCOPE_LABELS = frozenset({"", "oos"})
REFUSALS_KEPT = 200  # refused rows listed in the report; the counts cover all of them

REFUSAL_KINDS = {
    "unknown_intent": "the intent is not one of the router's",
    "blank": "the text is blank",
    "too_long": f"the text is longer than {MAX_EXAMPLE_CHARS} characters",
    "duplicate": "the text appeared earlier in the file",
    "unstorable": "the text or intent holds NUL or a lone surrogate",
    "malformed": "the line is not a row of the format",
    "too_many": f"past the limit of {MAX_SET_ROWS:,} rows",
}


class LabelledFileError(ValueError):
    """The file as a whole cannot be read (wrong encoding, no header, not CSV or JSONL)."""


@dataclass(slots=True)
class LabelledRowIn:
    text: str
    intent: str | None  # None: out of scope


@dataclass(slots=True)
class Refusal:
    line: int
    kind: str  # a key of REFUSAL_KINDS
    text: str
    intent: str | None = None

    def as_dict(self) -> dict:
        return {
            "line": self.line,
            "kind": self.kind,
            "reason": REFUSAL_KINDS[self.kind],
            "text": self.text[:120],
            "intent": self.intent,
        }


@dataclass(slots=True)
class LabelledParse:
    rows: list[LabelledRowIn] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)

    def report(self) -> dict:
        """JSON-ready: counts per refusal kind and the first REFUSALS_KEPT refused rows."""
        return {
            "accepted": len(self.rows),
            "refused": len(self.refused),
            "by_kind": dict(Counter(refusal.kind for refusal in self.refused)),
            "rows": [refusal.as_dict() for refusal in self.refused[:REFUSALS_KEPT]],
        }


def _label(raw) -> str | None:
    if raw is None:
        return None
    label = str(raw).strip()
    return None if label.lower() in OUT_OF_SCOPE_LABELS else label


def labelled_rows_check(
    pairs: Iterable[tuple[int, object, object]], *, intent_names: Iterable[str]
) -> LabelledParse:
    """Sort (line, text, intent) triples into accepted rows and refusals (with their kind)."""
    known = {name.lower(): name for name in intent_names}
    result, seen = LabelledParse(), set()
    for line, raw_text, raw_intent in pairs:
        if not isinstance(raw_text, str) or not (raw_intent is None or isinstance(raw_intent, str)):
            result.refused.append(Refusal(line, "malformed", str(raw_text)[:120]))
            continue
        text, intent = raw_text.strip(), _label(raw_intent)
        if text_problem(text) or (intent and text_problem(intent)):
            shown = text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\0")
            result.refused.append(Refusal(line, "unstorable", shown))
            continue
        if not text:
            result.refused.append(Refusal(line, "blank", "", intent))
        elif len(text) > MAX_EXAMPLE_CHARS:
            result.refused.append(Refusal(line, "too_long", text, intent))
        elif intent is not None and intent.lower() not in known:
            result.refused.append(Refusal(line, "unknown_intent", text, intent))
        elif text in seen:
            result.refused.append(Refusal(line, "duplicate", text, intent))
        elif len(result.rows) >= MAX_SET_ROWS:
            result.refused.append(Refusal(line, "too_many", text, intent))
        else:
            seen.add(text)
            result.rows.append(LabelledRowIn(text, known[intent.lower()] if intent else None))
    return result


def _decoded(content: bytes | str) -> str:
    if isinstance(content, str):
        return content
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LabelledFileError(
            f"The file is not UTF-8 text (byte {exc.start}); save it as UTF-8 and upload again."
        ) from exc


def _csv_rows(text: str):
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        raise LabelledFileError("The file is empty.")
    names = [name.strip().lower() for name in header]
    if "text" not in names or "intent" not in names:
        raise LabelledFileError(
            "The first line must be the header `text,intent` (found "
            f"{','.join(header)[:80] or 'nothing'})."
        )
    text_at, intent_at = names.index("text"), names.index("intent")
    for row in reader:
        line = reader.line_num
        if not row:
            continue
        text = row[text_at] if text_at < len(row) else None
        intent = row[intent_at] if intent_at < len(row) else ""
        yield line, text, intent


def _jsonl_rows(text: str):
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            item = json.loads(raw)
        except ValueError:
            yield number, None, None
            continue
        if not isinstance(item, dict) or "text" not in item:
            yield number, None, None
            continue
        yield number, item.get("text"), item.get("intent")


def labelled_file_parse(
    content: bytes | str, *, filename: str, intent_names: Iterable[str]
) -> LabelledParse:
    """Parse an uploaded file: JSONL when its name ends in .jsonl/.json or it starts with `{`, else CSV."""
    text = _decoded(content)
    is_jsonl = filename.lower().endswith(
        (".jsonl", ".json", ".ndjson")
    ) or text.lstrip().startswith("{")
    rows = _jsonl_rows(text) if is_jsonl else _csv_rows(text)
    return labelled_rows_check(rows, intent_names=intent_names)
