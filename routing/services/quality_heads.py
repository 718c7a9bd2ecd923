"""Fitted quality heads: what analytics hands routing after fitting outcome records."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from routing.engine.errors import SnapshotError
from routing.engine.quality import quality_head_from_document
from routing.models import FittedQualityHead, Router

HEADS_KEPT = 5


def quality_head_install(*, router: Router, document: dict, summary: dict) -> FittedQualityHead:
    """Store a fitted head (validated as the engine will read it) and make routers recompile.

    Not a configuration version: the head is data learned from outcomes, like example vectors.
    Touching `updated_at` changes the router's revision, so every worker recompiles its snapshot
    (and the decision cache, keyed by it, starts afresh) within the usual hot-reload delay.
    """
    try:
        quality_head_from_document(document)
    except SnapshotError as exc:
        raise ValueError(f"quality head refused: {exc}") from exc
    with transaction.atomic():
        head = FittedQualityHead.objects.create(router=router, document=document, summary=summary)
        Router.objects.filter(pk=router.pk).update(updated_at=timezone.now())
        stale = FittedQualityHead.objects.filter(router=router).order_by("-created_at", "-id")
        FittedQualityHead.objects.filter(
            pk__in=list(stale.values_list("pk", flat=True)[HEADS_KEPT:])
        ).delete()
    router.refresh_from_db(fields=["updated_at"])
    return head


def quality_head_current(router: Router) -> FittedQualityHead | None:
    """The head routing uses for `router` (the newest), if any."""
    return FittedQualityHead.objects.filter(router=router).order_by("-created_at", "-id").first()


def quality_head_remove(*, router: Router) -> int:
    """Forget every fitted head: the complexity floors decide again."""
    with transaction.atomic():
        deleted, _ = FittedQualityHead.objects.filter(router=router).delete()
        Router.objects.filter(pk=router.pk).update(updated_at=timezone.now())
    router.refresh_from_db(fields=["updated_at"])
    return deleted
