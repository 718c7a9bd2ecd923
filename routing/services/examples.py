"""Examples: add one or many to an intent, or move one to another intent; each call is one new
version with vectors after commit. An example text belongs to one intent of a router."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError

from routing.config_schema import MAX_EXAMPLE_CHARS, text_problem
from routing.models import Example, ExampleSource, Intent
from routing.services.versioning import config_change, user_or_none

OWNER_LOOKUP_CHUNK = 500  # texts per query: SQLite caps the number of query parameters


class ExampleOwnedElsewhere(ValidationError):
    """The text is already an example of another intent of the router.

    `intent_name` and `example_id` say where it is, so the console can offer to move it here
    (example_move); `code` is "owned_elsewhere".
    """

    code_name = "owned_elsewhere"

    def __init__(self, *, text: str, intent_name: str, example_id: int) -> None:
        self.intent_name = intent_name
        self.example_id = example_id
        message = f"'{text[:80]}' is already an example of intent {intent_name}."
        super().__init__({"text": [ValidationError(message, code=self.code_name)]})


def example_text_clean(text: str) -> str:
    """The text stripped, or a ValidationError: empty, over MAX_EXAMPLE_CHARS, or unstorable."""
    cleaned = text.strip()
    if not cleaned:
        raise ValidationError({"text": "An example cannot be empty."})
    if len(cleaned) > MAX_EXAMPLE_CHARS:
        raise ValidationError(
            {
                "text": f"An example is limited to {MAX_EXAMPLE_CHARS} characters (got {len(cleaned)})."
            }
        )
    if problem := text_problem(cleaned):
        raise ValidationError({"text": f"An example {problem}"})
    return cleaned


def example_owners(*, intent: Intent, texts: Iterable[str]) -> dict[str, Example]:
    """Which of `texts` are already examples of another intent of the same router."""
    texts, owners = list(texts), {}
    for start in range(0, len(texts), OWNER_LOOKUP_CHUNK):
        found = (
            Example.objects.filter(
                intent__router_id=intent.router_id,
                text__in=texts[start : start + OWNER_LOOKUP_CHUNK],
            )
            .exclude(intent_id=intent.pk)
            .select_related("intent")
            .only("id", "text", "intent__name")
        )
        owners.update((example.text, example) for example in found)
    return owners


def example_text_check(*, intent: Intent, text: str) -> str:
    """The cleaned text, if `intent` may get it as a new example; else a ValidationError
    (ExampleOwnedElsewhere when another intent of the router has it)."""
    text = example_text_clean(text)
    if intent.pk and intent.examples.filter(text=text).exists():
        raise ValidationError({"text": f"'{text}' is already an example of {intent.name}."})
    if owner := example_owners(intent=intent, texts=[text]).get(text):
        raise ExampleOwnedElsewhere(text=text, intent_name=owner.intent.name, example_id=owner.pk)
    return text


def example_add(
    *, intent: Intent, text: str, source: str = ExampleSource.MANUAL, user=None
) -> Example:
    """Add one example to an intent (new version); a duplicate text is a validation error."""
    text = example_text_check(intent=intent, text=text)
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
    """Move an example to another intent of the same router, as one new version.

    Its vector moves with it (same text, same encoder). If the target already has the text, the
    moved copy is simply removed from its old intent.
    """
    old_intent = example.intent
    if intent.router_id != old_intent.router_id:
        raise ValidationError({"intent": "An example can only move within its router."})
    if intent.pk == old_intent.pk:
        return example
    summary = f"Moved example '{example.text[:60]}' from {old_intent.name} to {intent.name}"
    with config_change(router=intent.router, user=user, summary=summary):
        duplicate = intent.examples.filter(text=example.text).first()
        if duplicate is not None:
            example.delete()
            return duplicate
        example.intent = intent
        example.save(update_fields=["intent"])
    return example


@dataclass(slots=True)
class BulkAddResult:
    added: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (text, why)
    blank_lines: int = 0


def examples_check_bulk(*, intent: Intent, texts: Sequence[str]) -> BulkAddResult:
    """Sort lines into new examples, duplicates, blank lines and rejected ones (with why)."""
    result = BulkAddResult()
    existing = set(intent.examples.values_list("text", flat=True)) if intent.pk else set()
    cleaned: list[str] = []
    for raw in texts:
        if not raw.strip():
            result.blank_lines += 1
            continue
        try:
            text = example_text_clean(raw)
        except ValidationError as exc:
            result.rejected.append((raw[:80], exc.message_dict["text"][0]))
            continue
        if text in existing:
            result.duplicates.append(text)
            continue
        existing.add(text)
        cleaned.append(text)
    owners = example_owners(intent=intent, texts=cleaned)
    for text in cleaned:
        if owner := owners.get(text):
            result.rejected.append(
                (text[:80], f"already an example of intent {owner.intent.name}.")
            )
        else:
            result.added.append(text)
    return result


def examples_add_bulk(
    *, intent: Intent, texts: Sequence[str], source: str = ExampleSource.MANUAL, user=None
) -> BulkAddResult:
    """Add many examples at once (one version); blank lines, duplicates, overlong lines and texts
    another intent has are reported."""
    result = examples_check_bulk(intent=intent, texts=texts)
    if result.added:
        summary = f"Added {len(result.added)} example(s) to {intent.name}"
        with config_change(router=intent.router, user=user, summary=summary, examples_changed=True):
            Example.objects.bulk_create(
                Example(intent=intent, text=text, source=source, created_by=user_or_none(user))
                for text in result.added
            )
    return result
