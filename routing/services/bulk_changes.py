"""Changes that span many objects of one router but are one decision of the operator, so one
version: a labelled set's rows added as examples, calibrated thresholds applied."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.core.exceptions import ValidationError

from routing.models import Example, ExampleSource, Intent, Router
from routing.services.examples import BulkAddResult, examples_check_bulk
from routing.services.versioning import config_change, user_or_none


def examples_add_many(
    *,
    router: Router,
    texts_by_intent: Mapping[str, Sequence[str]],
    source: str = ExampleSource.IMPORT,
    user=None,
    summary: str = "",
) -> dict[str, BulkAddResult]:
    """Add texts to several intents as one version; each intent's report as examples_add_bulk's.

    Unknown intent names are a ValidationError and nothing is added.
    """
    intents = {intent.name: intent for intent in Intent.objects.for_router(router)}
    unknown = sorted(set(texts_by_intent) - set(intents))
    if unknown:
        raise ValidationError(f"Unknown intents: {', '.join(unknown[:10])}.")
    results = {
        name: examples_check_bulk(intent=intents[name], texts=texts)
        for name, texts in texts_by_intent.items()
    }
    added = sum(len(result.added) for result in results.values())
    if not added:
        return results
    summary = summary or f"Added {added} example(s) to {len(results)} intent(s)"
    with config_change(router=router, user=user, summary=summary, examples_changed=True):
        Example.objects.bulk_create(
            Example(intent=intents[name], text=text, source=source, created_by=user_or_none(user))
            for name, result in results.items()
            for text in result.added
        )
    return results


def router_thresholds_update(
    *,
    router: Router,
    threshold: float | None = None,
    intent_thresholds: Mapping[str, float] | None = None,
    user=None,
    summary: str = "",
) -> int:
    """Set the router's threshold and some intents' own thresholds as one version; its number.

    Validated before anything is written: a value outside 0..1 or an unknown intent changes nothing.
    """
    intent_thresholds = dict(intent_thresholds or {})
    intents = {
        intent.name: intent
        for intent in Intent.objects.for_router(router).filter(name__in=list(intent_thresholds))
    }
    unknown = sorted(set(intent_thresholds) - set(intents))
    if unknown:
        raise ValidationError(f"Unknown intents: {', '.join(unknown[:10])}.")
    if threshold is not None:
        router.threshold = threshold
        router.full_clean()
    for name, value in intent_thresholds.items():
        intents[name].threshold = value
        intents[name].full_clean()
    parts = ([f"threshold {threshold:g}"] if threshold is not None else []) + [
        f"{name} {value:g}" for name, value in sorted(intent_thresholds.items())
    ]
    with config_change(
        router=router, user=user, summary=summary or "Thresholds: " + ", ".join(parts)
    ):
        if threshold is not None:
            router.save(update_fields=Router.EDITABLE_FIELDS)
        for intent in intents.values():
            intent.save(update_fields=["threshold", "updated_at"])
    return router.version
