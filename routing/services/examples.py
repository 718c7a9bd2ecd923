"""Examples: add one or many to an intent, each call one new version with vectors after commit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError

from routing.models import Example, ExampleSource, Intent
from routing.services.versioning import config_change, user_or_none

MAX_EXAMPLE_CHARS = 2000


# STAND-IN (helper D) for helper A's service, so the console's "move it here" can be built and
# tested: the lead keeps A's version of ExampleOwnedElsewhere and example_move at merge.
class ExampleOwnedElsewhere(ValidationError):
    """The text is already an example of another intent of the same router."""

    def __init__(self, *, text: str, intent_name: str, example_id: int):
        super().__init__({"text": f"“{text}” is already an example of {intent_name}."})
        self.intent_name = intent_name
        self.example_id = example_id


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
    other = (
        Example.objects.filter(intent__router_id=intent.router_id, text=text)
        .exclude(intent=intent)
        .select_related("intent")
        .first()
    )
    if other is not None:
        raise ExampleOwnedElsewhere(text=text, intent_name=other.intent.name, example_id=other.pk)
    example = Example(intent=intent, text=text, source=source, created_by=user_or_none(user))
    with config_change(
        router=intent.router,
        user=user,
        summary=f"Added example to {intent.name}",
        examples_changed=True,
    ):
        example.save()
    return example


def example_move(*, example: Example, intent: Intent, user=None) -> Example:
    """Relabel an example as `intent` (same router; new version). STAND-IN for helper A's service."""
    if example.intent.router_id != intent.router_id:
        raise ValidationError("An example can only move to an intent of the same router.")
    source = example.intent.name
    with config_change(
        router=intent.router, user=user, summary=f"Moved example from {source} to {intent.name}"
    ):
        if intent.examples.filter(text=example.text).exists():
            example.delete()  # the target already has this text: drop the other copy
        else:
            example.intent = intent
            example.save(update_fields=["intent"])
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
