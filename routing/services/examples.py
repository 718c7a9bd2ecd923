"""Examples: add one or many to an intent, each call one new version with vectors after commit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError

from routing.models import Example, ExampleSource, Intent
from routing.services.versioning import config_change, user_or_none

MAX_EXAMPLE_CHARS = 2000


def _clean_example_text(text: str) -> str:
    cleaned = text.strip()
    if not cleaned:
        raise ValidationError({"text": "An example cannot be empty."})
    if len(cleaned) > MAX_EXAMPLE_CHARS:
        raise ValidationError(
            {
                "text": f"An example is limited to {MAX_EXAMPLE_CHARS} characters (got {len(cleaned)})."
            }
        )
    return cleaned


def example_add(
    *, intent: Intent, text: str, source: str = ExampleSource.MANUAL, user=None
) -> Example:
    """Add one example to an intent (new version); a duplicate text is a validation error."""
    text = _clean_example_text(text)
    if intent.examples.filter(text=text).exists():
        raise ValidationError({"text": f"'{text}' is already an example of {intent.name}."})
    example = Example(intent=intent, text=text, source=source, created_by=user_or_none(user))
    with config_change(
        router=intent.router,
        user=user,
        summary=f"Added example to {intent.name}",
        examples_changed=True,
    ):
        example.save()
    return example


@dataclass(slots=True)
class BulkAddResult:
    added: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (text, why)
    blank_lines: int = 0


def examples_add_bulk(
    *, intent: Intent, texts: Sequence[str], source: str = ExampleSource.MANUAL, user=None
) -> BulkAddResult:
    """Add many examples at once (one version); blank lines, duplicates and overlong lines are reported."""
    result = BulkAddResult()
    existing = set(intent.examples.values_list("text", flat=True))
    for raw in texts:
        if not raw.strip():
            result.blank_lines += 1
            continue
        try:
            text = _clean_example_text(raw)
        except ValidationError as exc:
            result.rejected.append((raw[:80], exc.message_dict["text"][0]))
            continue
        if text in existing:
            result.duplicates.append(text)
            continue
        existing.add(text)
        result.added.append(text)
    if result.added:
        summary = f"Added {len(result.added)} example(s) to {intent.name}"
        with config_change(router=intent.router, user=user, summary=summary, examples_changed=True):
            Example.objects.bulk_create(
                Example(intent=intent, text=text, source=source, created_by=user_or_none(user))
                for text in result.added
            )
    return result
