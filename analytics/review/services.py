"""Review workflows: queue a decision (thumbs-down, an operator), resolve an item (confirm,
relabel, out of scope, add as example, dismiss), bulk, undo, and a new intent from a cluster.

Every action writes a ReviewEvent (who, when, what the item was before); undo reverts the latest
one while the router's version is still the one the action left it at.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from analytics.models import DecisionLog
from analytics.review.exceptions import ReviewConflict
from analytics.review.intake import decision_reasons, incoming_from, items_collect
from analytics.review.models import (
    ACTION_STATUS,
    ReviewAction,
    ReviewEvent,
    ReviewItem,
    ReviewReason,
    ReviewStatus,
)
from routing.exceptions import InvalidInput
from routing.models import Example, ExampleSource, Intent, Router
from routing.services.examples import (
    ExampleOwnedElsewhere,
    example_add,
    example_move,
    examples_check_bulk,
)
from routing.services.versioning import config_change, config_object_delete, user_or_none

ACTIONS = tuple(ReviewAction.values)


def _incoming(decision: DecisionLog, extra: Sequence[str]):
    router = Router.objects.get(pk=decision.router_id)
    from django.conf import settings

    reasons = decision_reasons(
        decision,
        band=(router.ambiguity_low, router.ambiguity_high),
        margin=settings.SEMROUTE_REVIEW_CONFIDENCE_MARGIN,
        sample_rate=settings.SEMROUTE_REVIEW_SAMPLE_RATE,
    )
    return router, incoming_from(decision, [*extra, *reasons])


def review_feedback_received(*, decision: DecisionLog, expected_intent: str = "") -> ReviewItem:
    """A thumbs-down: the decision's item (opened if needed) gets the reason, and the expected
    intent, when given, becomes its suggestion."""
    router, entry = _incoming(decision, [ReviewReason.THUMBS_DOWN])
    if expected_intent:
        entry.suggested_intent, entry.suggestion_source = expected_intent, "feedback"
    return items_collect(router=router, incoming=[entry])[0]


def review_send(*, decision: DecisionLog) -> ReviewItem:
    """An operator sends a decision to review (any channel, the console's too)."""
    router, entry = _incoming(decision, [ReviewReason.MANUAL])
    return items_collect(router=router, incoming=[entry])[0]


@dataclass(slots=True)
class Resolution:
    item: ReviewItem
    event: ReviewEvent
    version: int | None  # the router version an added example made (None: no new version)
    note: str = ""


def _intent(router: Router, name: str | None) -> Intent:
    intent = Intent.objects.filter(router=router, name=name).first() if name else None
    if intent is None:
        raise InvalidInput(
            f"Choose one of this router's intents (got {name!r}).",
            details=[{"field": "intent", "message": "not an intent of the item's router"}],
        )
    return intent


def _add_example(
    router: Router, intent: Intent, text: str, user
) -> tuple[Example | None, str, str]:
    """The text as an example of `intent`: (example made or moved, the intent it moved from, note)."""
    intent.router = router  # the version bump lands on this very object
    try:
        return example_add(intent=intent, text=text, source=ExampleSource.REVIEW, user=user), "", ""
    except ExampleOwnedElsewhere as exc:
        # The router chose another intent because the text is its example: the label wins.
        example = Example.objects.select_related("intent").get(pk=exc.example_id)
        moved_from = example.intent.name
        return (
            example_move(example=example, intent=intent, user=user),
            moved_from,
            (f"Moved the example from {moved_from}."),
        )
    except ValidationError as exc:
        return None, "", " ".join(exc.messages)


def review_resolve(
    *, item: ReviewItem, action: str, intent: str | None = None, user=None, author_label: str = ""
) -> Resolution:
    """Apply one action to an item (also to an already resolved one: the label changes)."""
    if action not in ACTIONS:
        raise InvalidInput(
            f"Unknown action {action!r}; use one of {', '.join(ACTIONS)}.",
            details=[{"field": "action", "message": "unknown action"}],
        )
    router = Router.objects.get(pk=item.router_id)
    chosen = _intent(router, intent) if action in ("relabel", "add_example") else None
    reviewed = {
        "confirm": item.decided_intent,
        "relabel": chosen.name if chosen else None,
        "add_example": chosen.name if chosen else None,
        "out_of_scope": None,
        "dismiss": None,
    }[action]
    example, moved_from, note = None, "", ""
    with transaction.atomic():
        before = router.version
        if action == "add_example":
            example, moved_from, note = _add_example(router, chosen, item.query, user)
        router.refresh_from_db(fields=["version"])
        event = ReviewEvent.objects.create(
            item=item,
            action=action,
            intent=reviewed,
            status_before=item.status,
            reviewed_intent_before=item.reviewed_intent,
            router_version=router.version,
            example=example if router.version != before else None,
            moved_from=moved_from,
            user=user_or_none(user),
            author_label=author_label[:200],
        )
        item.status = ACTION_STATUS[action]
        item.reviewed_intent = reviewed
        item.reviewed_by = user_or_none(user)
        item.reviewed_label = author_label[:200]
        item.reviewed_at = event.created_at
        item.save(
            update_fields=[
                "status",
                "reviewed_intent",
                "reviewed_by",
                "reviewed_label",
                "reviewed_at",
            ]
        )
    return Resolution(item, event, router.version if router.version != before else None, note)


def review_undo(*, item: ReviewItem, user=None) -> ReviewEvent:
    """Revert the item's latest action while the router is still at the version it left."""
    event = item.events.filter(undone_at=None).select_related("example").first()
    if event is None:
        raise ReviewConflict("Nothing to undo on this item.")
    router = Router.objects.get(pk=item.router_id)
    if router.version != event.router_version:
        raise ReviewConflict(
            f"The router has changed since (now version {router.version}, the action left "
            f"version {event.router_version}): an action can be undone only until the next version."
        )
    with transaction.atomic():
        if event.example is not None:
            if event.moved_from:
                back = Intent.objects.get(router=router, name=event.moved_from)
                back.router = router
                example_move(example=event.example, intent=back, user=user)
            else:
                event.example.intent.router = router
                config_object_delete(obj=event.example, user=user)
                event.example = None  # deleted: the row's foreign key is nulled too
        previous = item.events.filter(undone_at=None).exclude(pk=event.pk).first()
        item.status = event.status_before
        item.reviewed_intent = event.reviewed_intent_before
        item.reviewed_by = previous.user if previous else None
        item.reviewed_label = previous.author_label if previous else ""
        item.reviewed_at = previous.created_at if previous else None
        item.save(
            update_fields=[
                "status",
                "reviewed_intent",
                "reviewed_by",
                "reviewed_label",
                "reviewed_at",
            ]
        )
        event.undone_at = timezone.now()
        event.undone_by = user_or_none(user)
        event.save(update_fields=["undone_at", "undone_by", "example"])
    return event


def _review_examples_add(intent: Intent, texts: Sequence[str], user) -> None:
    Example.objects.bulk_create(
        Example(
            intent=intent, text=text, source=ExampleSource.REVIEW, created_by=user_or_none(user)
        )
        for text in texts
    )


def review_bulk(
    *, items: Sequence[ReviewItem], action: str, intent: str | None = None, user=None
) -> list[Resolution]:
    """One action on many items; "add_example" adds their queries to the intent as one version."""
    if action != "add_example":
        return [
            review_resolve(item=item, action=action, intent=intent, user=user) for item in items
        ]
    if not items:
        return []
    router = Router.objects.get(pk=items[0].router_id)
    chosen = _intent(router, intent)
    chosen.router = router
    texts = [item.query.strip() for item in items]
    check = examples_check_bulk(intent=chosen, texts=texts)
    new = set(check.added)
    resolutions = []
    with transaction.atomic():
        if new:
            with config_change(
                router=router,
                user=user,
                summary=f"Review: added {len(new)} example(s) to {chosen.name}",
                examples_changed=True,
            ):
                _review_examples_add(chosen, check.added, user)
        made = {e.text: e for e in Example.objects.filter(intent=chosen, text__in=new)}
        for item, text in zip(items, texts, strict=True):
            if text not in new and text not in check.duplicates:
                resolutions.append(
                    review_resolve(item=item, action=action, intent=intent, user=user)
                )
                continue
            event = ReviewEvent.objects.create(
                item=item,
                action=action,
                intent=chosen.name,
                status_before=item.status,
                reviewed_intent_before=item.reviewed_intent,
                router_version=router.version,
                example=made.pop(text, None),
                user=user_or_none(user),
            )
            item.status, item.reviewed_intent = ReviewStatus.ADDED, chosen.name
            item.reviewed_by, item.reviewed_label, item.reviewed_at = (
                user_or_none(user),
                "",
                event.created_at,
            )
            item.save(
                update_fields=[
                    "status",
                    "reviewed_intent",
                    "reviewed_by",
                    "reviewed_label",
                    "reviewed_at",
                ]
            )
            resolutions.append(Resolution(item, event, router.version if new else None))
    return resolutions


def cluster_intent_create(
    *, router: Router, name: str, description: str, items: Sequence[ReviewItem], user=None
) -> Intent:
    """A new intent whose examples are the cluster's queries, as one version; the items are
    resolved as "add as example" of it (their audit trail says so)."""
    intent = Intent(router=router, name=name.strip(), description=description, handler=name.strip())
    try:
        intent.full_clean()
    except ValidationError as exc:
        raise InvalidInput(" ".join(exc.messages)) from exc
    with transaction.atomic():
        with config_change(
            router=router,
            user=user,
            summary=f"Added intent {intent.name} from {len(items)} reviewed queries",
            examples_changed=True,
        ):
            intent.save()
            check = examples_check_bulk(intent=intent, texts=[item.query for item in items])
            _review_examples_add(intent, check.added, user)
        made = {e.text: e for e in intent.examples.all()}
        for item in items:
            example = made.pop(item.query.strip(), None)
            ReviewEvent.objects.create(
                item=item,
                action=ReviewAction.ADD_EXAMPLE,
                intent=intent.name,
                status_before=item.status,
                reviewed_intent_before=item.reviewed_intent,
                router_version=router.version,
                example=example,
                user=user_or_none(user),
            )
            item.status, item.reviewed_intent = ReviewStatus.ADDED, intent.name
            item.reviewed_by, item.reviewed_at = user_or_none(user), timezone.now()
            item.save(update_fields=["status", "reviewed_intent", "reviewed_by", "reviewed_at"])
    return intent
